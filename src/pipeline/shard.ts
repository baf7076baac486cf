/**
 * Map phase: one work unit (an input file, or a part of one: src/exec/units.ts) → one
 * intermediate file of per-record facts (row, id, source, tokens, score, heuristic verdict,
 * exact-dedup hash, or the problem that kept the record out), plus a completion marker with the
 * unit's stats. The marker is written last, after an atomic rename of the intermediate, so a
 * killed run either has a complete unit or none, and a rerun skips completed units. The reduce
 * reads an input shard as the concatenation of its units' intermediates, in part order: the
 * same lines a single unit would have written, so outputs do not depend on the split.
 */
import { createHash, hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { InputCorruptError, TokenmixError } from '../errors.js';
import { readShardMarker, sortedKeys, unitIdentity, writeShardMarker, type ShardMarkerBase, type UnitMarkerBase } from '../work/markers.js';
import { tempPath } from '../work/temp.js';
import { unitInputIdentity } from '../work/fingerprint.js';
import { readRecords } from '../io/index.js';
import type { ResolvedInput, FieldMap } from '../io/types.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { exactDedupUtf8 } from '../text/document-scan.js';
import { heuristicVerdict, statsFromCounts, statsVerdict } from '../filters/heuristics.js';
import { textKernel } from '../text/text-kernel.js';
import type { ContaminationIndex } from '../filters/contamination.js';
import { scoreField, type CurateConfig } from './config.js';
import type { Progress } from '../work/progress.js';
import { dict, own } from '../dict.js';
import type { CurationRecord } from '../steps/curation.js';
import { unitPart, type WorkUnit } from '../exec/units.js';

/**
 * One line of a shard's intermediate file: a record's facts, which the reduce's curation steps
 * decide on (src/steps/curation.ts; the explorer computes the same facts in memory), or the
 * problem that kept a line from being a record.
 */
export type ShardRecord =
  | (CurationRecord & { row: number })
  | { row: number; problem: string; field: string; message: string; id?: undefined };

export interface UnitMarker extends UnitMarkerBase {
  sources: Record<string, number>;
  /** Sources of quarantined records, where readable: a threshold may name a source whose every record was quarantined. */
  quarantined_sources?: string[];
  intermediate_sha256: string;
  intermediate_bytes: number;
}

/** An input shard's facts: its units' markers added up, and their intermediates in order. */
export interface ShardMarker extends ShardMarkerBase {
  sources: Record<string, number>;
  /** Its units' quarantined sources (see UnitMarker). */
  quarantined_sources?: string[];
  /** Intermediate files (relative to the work directory), in part order. */
  intermediates: string[];
  /** Lines of each intermediate file (its unit's records + problems). */
  intermediate_lines: number[];
}

export function unitPaths(workDir: string, unit: WorkUnit): { records: string; marker: string; relative: string } {
  const name = String(unit.input).padStart(5, '0') + (unit.parts > 1 ? `.part${String(unit.part).padStart(4, '0')}of${unit.parts}` : '');
  const base = join(workDir, 'shards', name);
  return { records: `${base}.records.jsonl`, marker: `${base}.done.json`, relative: join('shards', `${name}.records.jsonl`) };
}

/** The marker of a completed unit made with the same fingerprint and range, or null. */
export async function readUnitMarker(workDir: string, unit: WorkUnit, fingerprint: string): Promise<UnitMarker | null> {
  const marker = await readShardMarker<UnitMarker>(
    unitPaths(workDir, unit).marker,
    fingerprint,
    `the output directory holds input shard ${unit.input} from a run with a different config or tool version (${join(workDir, 'shards')}); ` +
      'use a new --out directory, or delete that one to start over',
  );
  if (marker && JSON.stringify(marker.range) !== JSON.stringify(unit.range ?? null)) return null;
  return marker;
}

/** The shard marker of input `input` from its units' markers (all present), in part order. */
export function shardMarker(workDir: string, units: WorkUnit[], markers: UnitMarker[]): ShardMarker {
  const sources: Record<string, number> = dict();
  for (const m of markers) for (const [name, n] of Object.entries(m.sources)) sources[name] = (own(sources, name) ?? 0) + n;
  const quarantined = [...new Set(markers.flatMap((m) => m.quarantined_sources ?? []))].sort();
  return {
    shard: units[0].input,
    file: markers[0].file,
    fingerprint: markers[0].fingerprint,
    records: markers.reduce((a, m) => a + m.records, 0),
    problems: markers.reduce((a, m) => a + m.problems, 0),
    blank_lines: markers.reduce((a, m) => a + m.blank_lines, 0),
    sources: sortedKeys(sources),
    ...(quarantined.length > 0 ? { quarantined_sources: quarantined } : {}),
    intermediates: units.map((u) => unitPaths(workDir, u).relative),
    intermediate_lines: markers.map((m) => m.records + m.problems),
  };
}

/** Each intermediate file of a shard with the index (in the shard) of its first line and its line count. */
export function unitRanges(marker: ShardMarker): { file: string; first: number; count: number }[] {
  let first = 0;
  return marker.intermediates.map((file, k) => {
    const count = marker.intermediate_lines[k];
    first += count;
    return { file, first: first - count, count };
  });
}

/** Hash of the normalized text used by exact dedup (128 bits of SHA-256, base64url). */
export function exactHash(text: string): string {
  return hashExactUtf8(exactDedupUtf8(text));
}

/** exactHash from the normalized text's UTF-8. */
function hashExactUtf8(bytes: Uint8Array): string {
  return hash('sha256', bytes, 'base64url').slice(0, 22);
}

export interface ShardContext {
  config: CurateConfig;
  fields: FieldMap;
  tokenizer: Tokenizer;
  workDir: string;
  fingerprint: string;
  progress: Pick<Progress, 'advance'>;
  /** Eval-set n-gram index when `contamination` is configured. */
  contamination: ContaminationIndex | null;
}

/** Process one unit and leave its intermediate and marker. Returns the marker. */
export async function processUnit(input: ResolvedInput, unit: WorkUnit, firstLine: number, ctx: ShardContext): Promise<UnitMarker> {
  const paths = unitPaths(ctx.workDir, unit);
  const part = unitPart(unit, firstLine);
  await mkdir(join(ctx.workDir, 'shards'), { recursive: true });
  const temp = tempPath(paths.records);
  const out = createWriteStream(temp);
  const digest = createHash('sha256');
  // The input's fingerprints, read alongside the map's own read (work/fingerprint.ts).
  const identity = unitInputIdentity(input.path, unit.range, unit.part);
  identity.catch(() => {}); // awaited below; a read error of the map itself comes first
  let intermediateBytes = 0;
  const write = async (line: string) => {
    digest.update(line);
    intermediateBytes += Buffer.byteLength(line);
    if (!out.write(line)) await once(out, 'drain');
  };
  // The score that the quality filter and `keep: best-quality` use (see scoreField in config.ts).
  const qualityField = scoreField(ctx.config);
  const heuristics = ctx.config.filters.heuristics;
  const kernel = textKernel();
  const wordsTokens = ctx.tokenizer.kind === 'words';
  const sources: Record<string, number> = dict();
  const quarantinedSources = new Set<string>();
  let records = 0;
  let problems = 0;
  let blankLines = 0;
  let lastBytes = 0;
  try {
    for await (const batch of readRecords(input, ctx.fields, { batchSize: ctx.config.batch_size, ...(part ? { part } : {}) })) {
      // Interleave valid rows and problems back into input order by their line/row numbers.
      const lines: { row: number; text: string }[] = [];
      for (const p of batch.problems) {
        if (ctx.config.on_error === 'fail') {
          throw new TokenmixError(`${p.message} (or set "on_error": "quarantine" to set such records aside and count them)`);
        }
        if (p.source !== undefined) quarantinedSources.add(p.source);
        const row = p.line ?? p.row;
        lines.push({ row, text: JSON.stringify({ row, problem: p.reason, field: p.field, message: p.message } satisfies ShardRecord) });
      }
      for (let i = 0; i < batch.length; i++) {
        const text = batch.texts[i];
        const source = batch.sources[i];
        // Most texts: the exact key, the `words` count and the heuristics' counts from one pass
        // of the WebAssembly kernel (src/text/text-kernel.ts); the rest, the functions it equals.
        const facts = kernel?.facts(text, heuristics !== null) ?? null;
        const record: ShardRecord = {
          row: batch.rows[i],
          id: batch.ids[i],
          source,
          tokens: facts && wordsTokens ? facts.tokens : ctx.tokenizer.count(text),
          score: qualityField ? batch.scores[qualityField][i] : null,
          heuristic: heuristics ? (facts?.counts ? statsVerdict(statsFromCounts(facts.counts), heuristics) : heuristicVerdict(text, heuristics)) : null,
          hash: facts ? hashExactUtf8(facts.exact) : exactHash(text),
          eval_like: ctx.contamination ? ctx.contamination.flags(text) : false,
        };
        sources[source] = (own(sources, source) ?? 0) + 1;
        lines.push({ row: record.row, text: JSON.stringify(record) });
      }
      lines.sort((a, b) => a.row - b.row);
      for (const line of lines) await write(`${line.text}\n`);
      records += batch.length;
      problems += batch.problems.length;
      blankLines += batch.blankLines;
      ctx.progress.advance(batch.length + batch.problems.length, batch.bytesRead - lastBytes);
      lastBytes = batch.bytesRead;
    }
    out.end();
    await once(out, 'finish');
  } catch (error) {
    out.destroy();
    if (!(error instanceof InputCorruptError) || ctx.config.on_error !== 'quarantine') throw error;
    return quarantineUnit(input, unit, ctx, error);
  }
  await rename(temp, paths.records);
  const marker: UnitMarker = {
    ...unitIdentity(unit, input.displayPath, ctx.fingerprint),
    input: await identity,
    records,
    problems,
    blank_lines: blankLines,
    sources: sortedKeys(sources),
    ...(quarantinedSources.size > 0 ? { quarantined_sources: [...quarantinedSources].sort() } : {}),
    intermediate_sha256: digest.digest('hex'),
    intermediate_bytes: intermediateBytes,
  };
  await writeShardMarker(paths.marker, marker);
  return marker;
}

/**
 * A damaged file (bad checksum, truncated, garbage) under `on_error: quarantine`: what this
 * unit read before the damage is discarded, since nothing proves it sound, and the unit (the
 * whole file, or its part when the file is split) becomes one quarantine entry
 * (`field: "(file)"`, reason `unreadable-file`, row 0).
 */
async function quarantineUnit(input: ResolvedInput, unit: WorkUnit, ctx: ShardContext, error: InputCorruptError): Promise<UnitMarker> {
  const paths = unitPaths(ctx.workDir, unit);
  const entry: ShardRecord = { row: 0, problem: 'unreadable-file', field: '(file)', message: error.message.replace(/^tokenmix: /, '') };
  const line = `${JSON.stringify(entry)}\n`;
  const temp = tempPath(paths.records);
  await writeFile(temp, line);
  await rename(temp, paths.records);
  const marker: UnitMarker = {
    ...unitIdentity(unit, input.displayPath, ctx.fingerprint),
    input: await unitInputIdentity(input.path, unit.range, unit.part),
    records: 0,
    problems: 1,
    blank_lines: 0,
    sources: {},
    intermediate_sha256: createHash('sha256').update(line).digest('hex'),
    intermediate_bytes: Buffer.byteLength(line),
  };
  await writeShardMarker(paths.marker, marker);
  return marker;
}
