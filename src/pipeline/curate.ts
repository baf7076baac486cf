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
import type { ResolvedInput } from '../io/types.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { VERSION } from '../version.js';
import { parseConfig, type CurateConfig } from './config.js';
import { readUnitMarker, shardMarker, unitPaths, type ShardMarker, type UnitMarker } from './shard.js';
import { decide, type ReduceTasks } from './reduce.js';
import { recordsPerPartitionFor } from '../work/key-partitions.js';
import type { Task } from '../exec/executor.js';
import { writeOutput, writeOutputs, type Accounting } from './outputs.js';
import { silentProgress, terminalProgress, type Progress } from '../work/progress.js';
import { nearDedupStep, type NearDedupOutcome } from './near.js';
import { currentUnitMarkers, describeInputs, freshMarkers, redoInputs } from '../work/markers.js';
import { hashingOn } from '../work/file-hashing.js';
import { exclusively } from '../work/exclusive.js';
import { removeDeadTemps } from '../work/temp.js';
import type { ContaminationIndex } from '../filters/contamination.js';
import type { EvalSet } from './evals.js';
import { curateResources, fieldMap, runCurateUnit, type CurateUnitTask } from './curate-task.js';
import { createExecutor } from '../exec/local.js';
import { runMapPhase } from '../exec/run-units.js';
import { ownKind } from '../exec/dispatch.js';
import { assignUnits, DEFAULT_UNIT_BYTES, describeUnit, planUnits } from '../exec/units.js';
import { withOutputFormat } from './output-config.js';
import { curationConfig } from './mix-config.js';
import type { WorkUnit } from '../exec/units.js';

export interface CurateOptions {
  configPath: string;
  outDir: string;
  backend: Backend;
  rank?: number;
  worldSize?: number;
  /** Worker threads for the map phase (default: the cores available; 1 = this thread). */
  workers?: number;
  /** Memory budget of the map phase's workers together, MiB. */
  memoryMb?: number;
  /** Target size of a work unit in bytes (default 64 MiB): big files split into parts. */
  unitBytes?: number;
  /** Records per key partition of the reduce (default 2^20, fewer when a worker's share of `memoryMb` is small; one partition per thread is in memory at a time). */
  reducePartitionRecords?: number;
  /** Progress and notices (stderr in the CLI). */
  log?: (text: string) => void;
  /** Show a live progress line (only on a terminal). */
  progress?: boolean;
  /** `--output-format`: overrides (or sets) the config's `output.format`. */
  outputFormat?: string;
  /** 'map': this rank's shards only, never the reduce; 'reduce': only the reduce (every shard must be done). Default 'all'. */
  stage?: 'map' | 'reduce' | 'all';
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

export { fieldMap };

/**
 * Identifies what the map phase's intermediates depend on: a rerun must match it to reuse
 * them. Curation keys only: mixture keys (budget_tokens, schedule, optimize, ...) never
 * invalidate curation work. The inputs' bytes are checked per shard (work/markers.ts), so
 * an edited input redoes its own shard only.
 */
function fingerprint(config: CurateConfig, tokenizer: Tokenizer, inputs: ResolvedInput[], evals: EvalSet[]): string {
  const curation = curationConfig(config);
  const relevant = {
    version: VERSION,
    // How the curated data is written does not change what the map phase computes.
    config: { ...curation, output: undefined },
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
  const loaded = await loadConfig(configPath);
  const config = { ...loaded, output: withOutputFormat(loaded.output, options.outputFormat) };
  const rank = options.rank ?? 0;
  const worldSize = options.worldSize ?? 1;
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new TokenmixError(`--world-size must be a positive integer (got ${worldSize})`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new TokenmixError(`--rank must be an integer in 0..${worldSize - 1} (got ${rank})`);

  const inputs = await resolveInputs(config.inputs, baseDir);
  const outDir = resolve(options.outDir);
  const workDir = join(outDir, '.tokenmix');
  try {
    await mkdir(workDir, { recursive: true });
  } catch (error) {
    throw new TokenmixError(`cannot use ${outDir} as the output directory (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); pass a writable directory to --out`);
  }
  const resources = await curateResources(config, baseDir, configPath);
  const { tokenizer, evals } = resources;
  const print = fingerprint(config, tokenizer, inputs, evals);

  // Map phase: this rank's share of the units (balanced by bytes), skipping finished ones, on
  // the local executor's workers.
  const units = await planUnits(inputs, options.unitBytes ?? DEFAULT_UNIT_BYTES);
  const owners = assignUnits(units, worldSize);
  // Without workers, units run on this thread with the resources loaded above; other kinds as on a worker.
  const inProcess = ownKind('curate-unit', (task, link) => runCurateUnit(task as CurateUnitTask, link, resources));
  const executorFor = (tasks: number) => createExecutor({ workers: options.workers, memoryMb: options.memoryMb }, inProcess, tasks);
  let progress: Progress = silentProgress;
  const finished = await freshMarkers<UnitMarker>(inputs, (unit) => readUnitMarker(workDir, unit, print), join(workDir, 'shards'), log);
  const runMap = (plan: WorkUnit[], mine: (unit: WorkUnit) => boolean, onStart?: (todoBytes: number) => void) =>
    runMapPhase<UnitMarker>(
      executorFor,
      {
        units: plan,
        inputs,
        mine,
        finished,
        task: (unit, firstLine): CurateUnitTask => ({
          kind: 'curate-unit', label: describeUnit(unit, inputs[unit.input].displayPath),
          config, baseDir, workDir, fingerprint: print, input: inputs[unit.input], unit, firstLine,
        }),
      },
      { advance: (records, bytes) => progress.advance(records, bytes) },
      onStart,
    );
  const outcome = await runMap(units, (unit) => options.stage !== 'reduce' && owners[unit.index] === rank, (todoBytes) => {
    if (options.progress && todoBytes > 0) progress = terminalProgress('curate', todoBytes, log);
  });
  if (outcome.skipped > 0) log(`tokenmix: ${outcome.skipped} of ${outcome.skipped + outcome.ran} work units already complete, skipping them`);
  if (outcome.ran > 0) progress.done();

  const pending = inputs.flatMap((_, i) => (units.some((u) => u.input === i && outcome.markers[u.index] === null) ? [i] : []));
  // A scheduler runs the reduce as its own job: a map task never reduces.
  if (pending.length > 0 || options.stage === 'map') {
    return { status: 'partial', pendingShards: pending, completedShards: inputs.length - pending.length };
  }
  // Reduce phase: one process at a time (work/lease.ts); the others wait and then find it done.
  const runKey = createHash('sha256').update(JSON.stringify({ print, config, command: 'curate' })).digest('hex');
  const onWait = () => log(`tokenmix: another process is writing the outputs of ${options.outDir}; waiting for it`);
  const reduced = await exclusively(workDir, 'reduce', runKey, async () => {
    const records = (unit: WorkUnit, m: UnitMarker) => [{ path: unitPaths(workDir, unit).records, bytes: m.intermediate_bytes, sha256: m.intermediate_sha256 }];
    // The units of inputs that changed behind their markers: forget them, plan again, map again.
    const redo = (stale: Set<number>) => {
      progress = silentProgress;
      return redoInputs(stale, units, (u) => unitPaths(workDir, u).marker, () => planUnits(inputs, options.unitBytes ?? DEFAULT_UNIT_BYTES), runMap);
    };
    // Read again under the lease: a reducer before this one may have redone units.
    const latest = await Promise.all(units.map(async (u) => (await readUnitMarker(workDir, u, print)) ?? outcome.markers[u.index]));
    // The inputs and intermediates are hashed on workers (work/file-hashing.ts), all at once;
    // the same workers then group the reduce's keys (reduce.ts) and write each unit's lists
    // (unit-outputs.ts). Near dedup, when set, runs the dedup engine on the same workers.
    const reducePool = executorFor(Infinity);
    try {
      const current = await currentUnitMarkers(inputs, { units, markers: latest }, records, redo, log, hashingOn(reducePool));
      const complete: ShardMarker[] = inputs.map((_, i) => {
        const own = current.units.filter((u) => u.input === i);
        return shardMarker(workDir, own, own.map((u) => current.markers[u.index]));
      });
      const tasks: ReduceTasks = { run: <T>(task: Task) => reducePool.run<T>(task, { advance: () => {} }), workers: reducePool.workers, executor: reducePool };
      return await reducePhase({ options, config, resources, inputs, workDir, outDir, complete, identities: current.identities, rank, worldSize, tasks });
    } finally {
      await reducePool.close();
    }
  }, { onWait });
  if (reduced.status === 'done-elsewhere') return reduced;
  return reduced.value;
}

interface ReduceInput {
  options: CurateOptions;
  config: CurateConfig;
  resources: { tokenizer: Tokenizer; evals: EvalSet[]; contamination: ContaminationIndex | null };
  inputs: ResolvedInput[];
  workDir: string;
  outDir: string;
  complete: ShardMarker[];
  identities: { bytes: number; sha256: string }[];
  rank: number;
  worldSize: number;
  /** Where the reduce's key tasks run (the run's workers, or this thread). */
  tasks: ReduceTasks;
}


async function reducePhase({ options, config, resources, inputs, workDir, outDir, complete, identities, rank, worldSize, tasks }: ReduceInput): Promise<CurateResult> {
  const { tokenizer, evals, contamination } = resources;
  const manifestPath = join(outDir, 'manifest.json');
  // The manifest is written last: while this reduce rewrites outputs, none describes them.
  await rm(manifestPath, { force: true });
  await removeDeadTemps([outDir]); // a killed run's report.html
  const started = performance.now();
  const fields = fieldMap(config);
  const nearRun = { ...(options.workers !== undefined ? { workers: options.workers } : {}), ...(tasks.executor ? { executor: tasks.executor } : {}), ...(options.memoryMb !== undefined ? { memoryMb: options.memoryMb } : {}), ...(options.unitBytes !== undefined ? { unitBytes: options.unitBytes } : {}) };
  const nearStep = config.dedup.near ? nearDedupStep({ config, fields, inputs, workDir, outDir }, options.backend, nearRun) : null;
  // A key partition fits half of a worker's share of --memory-mb (work/key-partitions.ts).
  const heapMb = options.memoryMb === undefined ? undefined : Math.floor(options.memoryMb / tasks.workers);
  const decisions = await decide(config, inputs, complete, workDir, options.backend, options.reducePartitionRecords ?? recordsPerPartitionFor(heapMb), nearStep, tasks);
  const near = nearStep?.outcome() ?? null;
  const accounting = await writeOutputs({ config, fields, inputs, markers: complete, decisions, workDir, outDir }, tasks.run);
  const manifest: Manifest = {
    tool: { name: 'tokenmix', version: VERSION },
    config,
    tokenizer: { name: tokenizer.name, kind: tokenizer.kind, vocab_size: tokenizer.vocabSize },
    inputs: describeInputs(inputs, complete, identities),
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
  await writeOutput(outDir, manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  // What differs between equivalent runs (backend, timing) stays out of the manifest.
  await writeFile(
    join(outDir, 'run.json'),
    `${JSON.stringify({ backend: describeBackend(options.backend), rank, world_size: worldSize, reduce_ms: Math.round(performance.now() - started) }, null, 2)}\n`,
  );
  return { status: 'complete', manifestPath, manifest };
}
