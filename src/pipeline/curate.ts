/**
 * `tokenmix curate`: plan shards, run the map phase for this rank's shards (skipping those
 * already complete), and, once every shard is complete, the reduce phase and the outputs.
 * Same inputs + config + seed ⇒ byte-identical outputs whatever the backend, the number of
 * ranks, or how often the run was killed and restarted (SPEC §6, §7).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { TokenmixError } from '../errors.js';
import type { Backend } from '../backend.js';
import { describeBackend } from '../backend.js';
import { resolveInputs } from '../io/index.js';
import type { FieldMap, ResolvedInput } from '../io/types.js';
import { loadTokenizer } from '../text/load-node.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { VERSION } from '../version.js';
import { parseConfig, type CurateConfig } from './config.js';
import { processShard, readMarker, shardPaths, type ShardContext, type ShardMarker } from './shard.js';
import { decide } from './reduce.js';
import { writeOutput, writeOutputs, type Accounting } from './outputs.js';
import { silentProgress, terminalProgress } from './progress.js';
import { statSync } from 'node:fs';
import { nearDedupStage, type NearDedupOutcome } from './near.js';
import { currentMarkers, describeInputs, shardsToDo } from '../work/markers.js';
import { exclusively } from '../work/exclusive.js';
import { removeDeadTemps } from '../work/temp.js';
import { readEvalSets, type EvalSet } from './evals.js';
import { ContaminationIndex } from '../filters/contamination.js';

export interface CurateOptions {
  configPath: string;
  outDir: string;
  backend: Backend;
  rank?: number;
  worldSize?: number;
  /** Progress and notices (stderr in the CLI). */
  log?: (text: string) => void;
  /** Show a live progress line (only on a terminal). */
  progress?: boolean;
  /**
   * Work that must run under the same reduce lease, after the curation outputs (`mix`'s
   * mixture). When given, curate leaves manifest.json to it, so the manifest is written last.
   */
  finish?: { command: string; run: (manifest: Manifest) => Promise<void> };
}

export type CurateResult =
  | { status: 'complete'; manifestPath: string; manifest: Manifest }
  | { status: 'partial'; pendingShards: number[]; completedShards: number }
  /** Another process, which this one waited for, did the reduce. */
  | { status: 'done-elsewhere' };

export interface Manifest {
  tool: { name: 'tokenmix'; version: string };
  config: CurateConfig;
  tokenizer: { name: string; kind: string; vocab_size: number | null };
  inputs: { path: string; format: string; compression: string; bytes: number; sha256: string; records: number; problems: number; blank_lines: number }[];
  sources: string[];
  stages: Accounting['stages'];
  totals: Accounting['totals'];
  totals_tokens: Accounting['totals_tokens'];
  quarantine: Record<string, number>;
  quality: Awaited<ReturnType<typeof decide>>['quality'];
  near_dedup: NearDedupOutcome | null;
  evals: { name: string; path: string; sha256: string; texts: number }[];
  contamination:
    | (CurateConfig['contamination'] & { index_ngrams: number; flagged: Accounting['eval_like']['flagged']; retained: Accounting['eval_like']['retained'] })
    | null;
  outputs: Accounting['files'];
}

/** Read and validate a config file; errors name the file. */
export async function loadConfig(configPath: string): Promise<CurateConfig> {
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? (error as Error).message);
    throw new TokenmixError(`cannot read config file ${configPath}: ${why} (pass the path of a JSON config with --config; see README "Configuration")`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new TokenmixError(`config file ${configPath} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return parseConfig(raw);
  } catch (error) {
    if (error instanceof TokenmixError) throw new TokenmixError(`${configPath}: ${error.message.replace(/^tokenmix: /, '')}`);
    throw error;
  }
}

export function fieldMap(config: CurateConfig): FieldMap {
  return {
    id: config.fields.id,
    text: config.fields.text,
    ...(config.fields.source !== undefined ? { source: config.fields.source } : {}),
    quality: config.fields.quality,
  };
}

/**
 * Identifies what the map phase's intermediates depend on: a rerun must match it to reuse
 * them. Curation keys only: mixture keys (budget_tokens, schedule, optimize, ...) never
 * invalidate curation work. The inputs' bytes are checked per shard (work/markers.ts), so
 * an edited input redoes its own shard only.
 */
function fingerprint(config: CurateConfig, tokenizer: Tokenizer, inputs: ResolvedInput[], evals: EvalSet[]): string {
  const { mixture: _mixture, ...curation } = config;
  const relevant = {
    version: VERSION,
    config: curation,
    tokenizer: tokenizer.name,
    inputs: inputs.map((i) => [i.displayPath, i.format]),
    evals: evals.map((e) => e.sha256),
  };
  return createHash('sha256').update(JSON.stringify(relevant)).digest('hex');
}

async function describeFile(outDir: string, path: string) {
  const bytes = await readFile(join(outDir, path));
  return { path, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export async function curate(options: CurateOptions): Promise<CurateResult> {
  const log = options.log ?? (() => {});
  const configPath = resolve(options.configPath);
  const baseDir = dirname(configPath);
  const config = await loadConfig(configPath);
  const rank = options.rank ?? 0;
  const worldSize = options.worldSize ?? 1;
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new TokenmixError(`--world-size must be a positive integer (got ${worldSize})`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new TokenmixError(`--rank must be an integer in 0..${worldSize - 1} (got ${rank})`);

  const inputs = await resolveInputs(config.inputs, baseDir);
  const tokenizer = await loadTokenizer(config.tokenizer, { baseDir });
  const outDir = resolve(options.outDir);
  const workDir = join(outDir, '.tokenmix');
  try {
    await mkdir(workDir, { recursive: true });
  } catch (error) {
    throw new TokenmixError(`cannot use ${outDir} as the output directory (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); pass a writable directory to --out`);
  }
  const evals = await readEvalSets(config.evals, baseDir);
  let contamination: ContaminationIndex | null = null;
  if (config.contamination) {
    if (evals.length === 0) throw new TokenmixError(`${configPath}: "contamination" needs eval sets: add "evals": { name: path } to the config`);
    contamination = new ContaminationIndex(config.contamination.ngram, config.contamination.min_overlap);
    for (const set of evals) for (const text of set.texts) contamination.addEvalText(text);
  }
  const print = fingerprint(config, tokenizer, inputs, evals);
  const fields = fieldMap(config);

  // Map phase: this rank's shards (i mod worldSize == rank), skipping completed ones.
  const mine = inputs.map((_, i) => i).filter((i) => i % worldSize === rank);
  const todo = await shardsToDo(mine, inputs, (i) => readMarker(workDir, i, print), join(workDir, 'shards'), log);
  if (mine.length > todo.length) log(`tokenmix: ${mine.length - todo.length} of ${mine.length} shards already complete, skipping them`);
  const totalBytes = todo.reduce((sum, i) => sum + statSync(inputs[i].path).size, 0);
  const progress = options.progress ? terminalProgress('curate', totalBytes, log) : silentProgress;
  const shardContext: ShardContext = { config, fields, tokenizer, workDir, fingerprint: print, progress, contamination };
  for (const i of todo) await processShard(inputs[i], i, shardContext);
  if (todo.length > 0) progress.done();

  const markers: (ShardMarker | null)[] = [];
  for (let i = 0; i < inputs.length; i++) markers.push(await readMarker(workDir, i, print));
  const pending = markers.flatMap((m, i) => (m ? [] : [i]));
  if (pending.length > 0) {
    return { status: 'partial', pendingShards: pending, completedShards: inputs.length - pending.length };
  }
  // Reduce phase: one process at a time (work/lease.ts); the others wait and then find it done.
  const runKey = createHash('sha256').update(JSON.stringify({ print, config, command: options.finish?.command ?? 'curate' })).digest('hex');
  const onWait = () => log(`tokenmix: another process is writing the outputs of ${options.outDir}; waiting for it`);
  const outcome = await exclusively(workDir, 'reduce', runKey, async () => {
    const records = (i: number, m: ShardMarker) => [{ path: shardPaths(workDir, i).records, bytes: m.intermediate_bytes, sha256: m.intermediate_sha256 }];
    const redo = (i: number) => processShard(inputs[i], i, { ...shardContext, progress: silentProgress });
    // Read again under the lease: a reducer before this one may have redone shards.
    const latest = await Promise.all(inputs.map((_, i) => readMarker(workDir, i, print)));
    const complete = await currentMarkers(latest.map((m, i) => m ?? (markers[i] as ShardMarker)), inputs, records, redo, log);
    return reducePhase({ options, config, tokenizer, inputs, evals, contamination, fields, workDir, outDir, complete, rank, worldSize });
  }, { onWait });
  if (outcome.status === 'done-elsewhere') return outcome;
  return outcome.value;
}

interface ReduceInput {
  options: CurateOptions;
  config: CurateConfig;
  tokenizer: Tokenizer;
  inputs: ResolvedInput[];
  evals: EvalSet[];
  contamination: ContaminationIndex | null;
  fields: FieldMap;
  workDir: string;
  outDir: string;
  complete: ShardMarker[];
  rank: number;
  worldSize: number;
}

async function reducePhase({ options, config, tokenizer, inputs, evals, contamination, fields, workDir, outDir, complete, rank, worldSize }: ReduceInput): Promise<CurateResult> {
  const manifestPath = join(outDir, 'manifest.json');
  // The manifest is written last: while this reduce rewrites outputs, none describes them.
  await rm(manifestPath, { force: true });
  await removeDeadTemps([outDir]); // a killed run's report.html
  const started = performance.now();
  const decisions = await decide(config, inputs, complete, workDir, options.backend);
  const reduce = { config, fields, inputs, markers: complete, decisions, workDir, outDir };
  const near = await nearDedupStage(reduce, options.backend);
  const accounting = await writeOutputs(reduce);
  const manifest: Manifest = {
    tool: { name: 'tokenmix', version: VERSION },
    config,
    tokenizer: { name: tokenizer.name, kind: tokenizer.kind, vocab_size: tokenizer.vocabSize },
    inputs: describeInputs(inputs, complete),
    sources: decisions.sources,
    stages: accounting.stages,
    totals: accounting.totals,
    totals_tokens: accounting.totals_tokens,
    quarantine: accounting.quarantine_reasons,
    quality: decisions.quality,
    near_dedup: near,
    evals: evals.map((e) => ({ name: e.name, path: e.path, sha256: e.sha256, texts: e.texts.length })),
    contamination:
      config.contamination && contamination
        ? { ...config.contamination, index_ngrams: contamination.size, flagged: accounting.eval_like.flagged, retained: accounting.eval_like.retained }
        : null,
    outputs: near ? [...accounting.files, await describeFile(outDir, 'clusters.jsonl')].sort((a, b) => (a.path < b.path ? -1 : 1)) : accounting.files,
  };
  if (options.finish) await options.finish.run(manifest);
  else await writeOutput(outDir, manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  // What differs between equivalent runs (backend, timing) stays out of the manifest.
  await writeFile(
    join(outDir, 'run.json'),
    `${JSON.stringify({ backend: describeBackend(options.backend), rank, world_size: worldSize, reduce_ms: Math.round(performance.now() - started) }, null, 2)}\n`,
  );
  return { status: 'complete', manifestPath, manifest };
}
