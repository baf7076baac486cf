/**
 * Writing a run's outputs from the reduce phase's decisions: keep lists and drop lists per
 * input shard, the quarantine file, stage accounting and audit samples. Each map unit's lines
 * are written by a task (unit-outputs.ts, on the run's workers) into part files, joined here in
 * unit order; the counts it returns are summed. Every file is written to a temporary name and
 * renamed, so a killed run never leaves a half file that a rerun would trust.
 */
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readRecords } from '../io/index.js';
import { detectCompression } from '../io/bytes.js';
import { jsonlLineTexts } from '../io/jsonl.js';
import type { FieldMap, ResolvedInput } from '../io/types.js';
import type { CurateConfig } from './config.js';
import { Ledger, type Count, type StageReport } from '../steps/accounting.js';
import type { Fate } from '../steps/stages.js';
import type { Task } from '../exec/executor.js';
import type { UnitOutputs, UnitOutputsTask } from './unit-outputs.js';
import { AuditSampler } from './audit.js';
import type { Decisions } from './reduce.js';
import { unitRanges, type ShardMarker } from './shard.js';
import { dict, own } from '../dict.js';
import { LineFile, PartFiles, writeWholeFile, type OutputFile } from '../work/line-file.js';

export type { OutputFile };

export interface Accounting {
  stages: StageReport[];
  totals: { input: number; kept: number; dropped: Record<string, number>; quarantined: number };
  totals_tokens: { input: number; kept: number; dropped: Record<string, number>; quarantined: number };
  quarantine_reasons: Record<string, number>;
  /** Eval-like documents per source: all that entered the stages, and those retained. */
  eval_like: { flagged: Record<string, Count>; retained: Record<string, Count> };
  files: OutputFile[];
}

/** Write text atomically and describe it for the manifest. */
export async function writeOutput(outDir: string, path: string, text: string): Promise<OutputFile> {
  return writeWholeFile(outDir, path, text);
}

/** `00003-name` for input shard 3 `.../name.jsonl.zst`: ordered, readable, collision-free. */
export function shardName(shard: number, file: string): string {
  const stem = basename(file).replace(/\.(jsonl|json|ndjson|parquet|arrow|arrows|ipc|feather)(\.(gz|zst))?$/i, '');
  return `${String(shard).padStart(5, '0')}-${stem.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/** Records are located by `line` (1-based) in JSONL and by `row` (0-based) in Parquet/Arrow. */
function positionKey(input: ResolvedInput): 'line' | 'row' {
  return input.format === 'jsonl' ? 'line' : 'row';
}

/** What writing the outputs of the reduce phase needs. */
export interface ReduceContext {
  config: CurateConfig;
  fields: FieldMap;
  inputs: ResolvedInput[];
  markers: ShardMarker[];
  decisions: Decisions;
  workDir: string;
  outDir: string;
}

export async function writeOutputs(
  { config, fields, inputs, markers, decisions, workDir, outDir }: ReduceContext,
  /** Runs a unit's share (unit-outputs.ts) on the run's workers, or on this thread. */
  run: <T>(task: Task) => Promise<T>,
): Promise<Accounting> {
  for (const dir of ['keep', 'drops', 'audit']) {
    await rm(join(outDir, dir), { recursive: true, force: true });
    await mkdir(join(outDir, dir), { recursive: true });
  }
  const parts = new PartFiles(join(workDir, 'output-parts'));
  // Each unit's lines into part files, on the workers; joined below in unit order.
  const units = markers.flatMap((marker, shard) => unitRanges(marker).map((range) => ({ shard, ...range })));
  // Each unit gets the duplicate-id messages of its own records, by their index in the unit
  // (a shard's duplicates come in input order, so its units are walked once).
  const unitDuplicates = units.map((): [number, string][] => []);
  for (const [shard, duplicates] of decisions.duplicateIds) {
    let u = units.findIndex((unit) => unit.shard === shard);
    for (const [index, { message }] of duplicates) {
      while (index >= units[u].first + units[u].count) u++;
      unitDuplicates[u].push([index - units[u].first, message]);
    }
  }
  const results = await Promise.all(units.map(({ shard, file, first, count }, u) => {
    const marker = markers[shard];
    const task: UnitOutputsTask = {
      kind: 'unit-outputs', label: `${file} (keep and drop lists)`, records: join(workDir, file), parts: parts.prefix(u), shard, file: marker.file,
      position: positionKey(inputs[shard]), idField: fields.id, fates: decisions.fates[shard].slice(first, first + count),
      duplicates: unitDuplicates[u], seed: config.seed, perReason: config.audit.per_reason,
    };
    return run<UnitOutputs>(task);
  }));

  // The manifest's stages: those that ran, quarantine aside (it is reported in the totals).
  const ledger = new Ledger(decisions.runner.stages.filter((name) => name !== 'quarantine'));
  const sampler = new AuditSampler(config.seed, config.audit.per_reason);
  const quarantine = new LineFile(join(outDir, 'quarantine.jsonl'));
  const quarantineReasons: Record<string, number> = dict();
  const files: OutputFile[] = [];
  const totals = { input: 0, kept: 0, dropped: dict() as Record<string, number>, quarantined: 0 };
  const totalsTokens = { input: 0, kept: 0, dropped: dict() as Record<string, number>, quarantined: 0 };
  const flagged: Record<string, Count> = dict();
  const retainedFlagged: Record<string, Count> = dict();
  const addAll = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [key, n] of Object.entries(from)) into[key] = (own(into, key) ?? 0) + n;
  };
  const addCounts = (into: Record<string, Count>, from: Record<string, Count>) => {
    for (const [source, c] of Object.entries(from)) {
      const to = (into[source] ??= { docs: 0, tokens: 0 });
      to.docs += c.docs;
      to.tokens += c.tokens;
    }
  };
  for (const [shard, marker] of markers.entries()) {
    const name = shardName(shard, marker.file);
    const keep = new LineFile(join(outDir, 'keep', `${name}.jsonl`));
    const drops = new LineFile(join(outDir, 'drops', `${name}.jsonl`));
    units.forEach((unit, u) => {
      if (unit.shard !== shard) return;
      const result = results[u];
      parts.joinInto(keep, u, 'keep');
      parts.joinInto(drops, u, 'drops');
      parts.joinInto(quarantine, u, 'quarantine');
      totals.input += result.totals.input;
      totals.kept += result.totals.kept;
      totals.quarantined += result.totals.quarantined;
      addAll(totals.dropped, result.totals.dropped);
      totalsTokens.input += result.tokens.input;
      totalsTokens.kept += result.tokens.kept;
      addAll(totalsTokens.dropped, result.tokens.dropped);
      addAll(quarantineReasons, result.quarantineReasons);
      addCounts(flagged, result.flagged);
      addCounts(retainedFlagged, result.retained);
      for (const [source, fate, docs, tokens] of result.ledger) ledger.add(source, tokens, fate as Fate, undefined, docs);
      for (const { key: _key, ...candidate } of result.samples) sampler.offer(candidate);
    });
    files.push(keep.close(outDir), drops.close(outDir));
  }
  files.push(quarantine.close(outDir));
  parts.remove();

  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  if (totals.kept + sum(totals.dropped) + totals.quarantined !== totals.input) {
    throw new Error(`tokenmix internal error: kept + dropped + quarantined != input (${JSON.stringify(totals)})`);
  }
  if (totalsTokens.kept + sum(totalsTokens.dropped) !== totalsTokens.input) {
    throw new Error(`tokenmix internal error: token totals do not add up (${JSON.stringify(totalsTokens)})`);
  }

  files.push(...(await writeAudit(config, fields, inputs, sampler, outDir)));
  // Loaded when written: its Arrow, Parquet and zstd libraries are most of a dedup run's start-up
  // otherwise (the cluster plan and the CLI's options reach this module).
  const { writeData } = await import('./data-output.js');
  files.push(...(await writeData({ config, fields, inputs, markers, decisions, workDir, outDir })));
  const stages = decisions.runner.report(ledger, decisions.sources);
  const sortKeys = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    stages,
    totals: { ...totals, dropped: sortKeys(totals.dropped) },
    totals_tokens: { ...totalsTokens, dropped: sortKeys(totalsTokens.dropped) },
    quarantine_reasons: sortKeys(quarantineReasons),
    eval_like: { flagged: perSource(flagged, decisions.sources), retained: perSource(retainedFlagged, decisions.sources) },
    files: files.sort((a, b) => (a.path < b.path ? -1 : 1)),
  };
}

function perSource(counts: Record<string, Count>, sources: string[]): Record<string, Count> {
  return Object.fromEntries(sources.map((s) => [s, own(counts, s) ?? { docs: 0, tokens: 0 }]));
}

/** Fetch the sampled records' text (one more read of the shards that hold samples) and write them. */
async function writeAudit(
  config: CurateConfig,
  fields: FieldMap,
  inputs: ResolvedInput[],
  sampler: AuditSampler,
  outDir: string,
): Promise<OutputFile[]> {
  const groups = sampler.result();
  const wanted = new Map<number, Set<number>>();
  for (const [, list] of groups) for (const c of list) (wanted.get(c.shard) ?? wanted.set(c.shard, new Set()).get(c.shard)!).add(c.row);
  const texts = new Map<string, string>();
  for (const [shard, rows] of [...wanted.entries()].sort(([a], [b]) => a - b)) {
    const input = inputs[shard];
    if (input.format === 'jsonl' && (await detectCompression(input)) === 'none') {
      // Only the sampled lines are decoded and parsed (a scan for newlines finds them).
      for (const [row, text] of jsonlLineTexts(input.path, rows, fields.text)) texts.set(`${shard}:${row}`, text.slice(0, config.audit.excerpt_chars));
      continue;
    }
    for await (const batch of readRecords(input, fields, { batchSize: config.batch_size })) {
      for (let i = 0; i < batch.length; i++) {
        if (rows.has(batch.rows[i])) texts.set(`${shard}:${batch.rows[i]}`, batch.texts[i].slice(0, config.audit.excerpt_chars));
      }
    }
  }
  const files: OutputFile[] = [];
  for (const [group, list] of groups) {
    const lines = list.map((c) =>
      JSON.stringify({ id: c.id, source: c.source, file: inputs[c.shard].displayPath, [positionKey(inputs[c.shard])]: c.row, tokens: c.tokens, stage: c.stage, reason: c.reason, excerpt: texts.get(`${c.shard}:${c.row}`) ?? '' }),
    );
    const name = group.replace(/[^A-Za-z0-9._-]/g, '_');
    files.push(await writeOutput(outDir, join(outDir, 'audit', `${name}.jsonl`), lines.map((l) => `${l}\n`).join('')));
  }
  return files;
}
