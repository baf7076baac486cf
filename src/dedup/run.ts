/**
 * `dedup()`: near-duplicate removal end to end (SPEC §2), in three phases whose results are
 * files under OUT/.tokenmix-dedup/ so that work splits and resumes:
 *   1. signatures (per input shard, split by rank, markers): words, shingle sets, MinHash on
 *      the GPU or CPU (bit-identical), band keys into partitioned band files;
 *   2. grouping (per range of band-key buckets, markers): buckets → star/chain candidate
 *      edges → exact-Jaccard verification → union-find;
 *   3. cluster rule and outputs: per component, `cover` (default) or `components` decides
 *      who is removed (cover.ts); clusters.jsonl, cluster_rules.jsonl, keep/ and drops/ lists
 *      per input shard, quarantine.jsonl, manifest.json.
 * The manifest holds only what equal runs share (no backend, timing or verification
 * counters, which depend on resume order): same inputs + options + seed ⇒ same bytes.
 * Run-specific facts go to OUT/run.json.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describeBackend, type Backend } from '../backend.js';
import { TokenmixError } from '../errors.js';
import { resolveInputs } from '../io/index.js';
import type { FieldMap, ResolvedInput } from '../io/types.js';
import { VERSION } from '../version.js';
import { currentUnitMarkers, describeInputs, freshMarkers, redoInputs, type InputCounts, type SessionChecks } from '../work/markers.js';
import { HASH_HERE, hashingOn, hashWholeFiles } from '../work/file-hashing.js';
import { statKey } from '../work/fingerprint.js';
import { exclusively, readDoneToken } from '../work/exclusive.js';
import { removeDeadTemps } from '../work/temp.js';
import { makeJudge, measuredVerdict, type FirstPasses, type FirstPassQuery, type FirstPassSearch, type RuleStats } from './cover.js';
import { jaccardPrefix, KeptIndex } from './kept-index.js';
import { writeClusters, type ClusterSummary, type MeasuredPairs, type SourceTotals } from './clusters.js';
import { addGroupStats, emptyGroupStats, makeVerifier, openStoreIndex, PairCache, processRange, releaseGroupingMemory, reloadRange, tableFor, type GroupRangeTask, type FirstPassTask, type GroupStats, type IntersectPairsTask } from './group-phase.js';
import { LineFile, writeWholeFile } from '../work/line-file.js';
import { planLsh, type LshPlan } from './lsh.js';
import { resolveDedupOptions, type DedupOptions, type ResolvedDedupOptions } from './options.js';
import { planBucketRanges, FINE_BUCKETS, RECORD_WORDS } from './partition.js';
import { loadStoreValues, VECTOR_CACHE_BYTES, VectorStore } from './set-store.js';
import { CLUSTER_PASS_BYTES, defaultMemoryBytes, groupingBytes, planDedupMemory, runMemoryBytes } from './memory.js';
import { markerFiles, processSignatureUnit, readSignatureMarker, unitFiles, type SignatureContext, type SignatureMarker } from './signature-phase.js';
import { cpuSigner, signBatch, type SignatureUnitResult, type SignatureUnitTask } from './signature-task.js';
import { createExecutor, resolveWorkers, type WorkerOptions } from '../exec/local.js';
import type { Executor, SignRequest, TaskHandler } from '../exec/executor.js';
import { BusyClock } from '../exec/busy.js';
import { runMapPhase } from '../exec/run-units.js';
import { ownKind } from '../exec/dispatch.js';
import { assignUnits, DEFAULT_UNIT_BYTES, describeUnit, planUnits, type WorkUnit } from '../exec/units.js';
import { UnionFind } from './union-find.js';
import type { Progress, ProgressFactory } from '../work/progress.js';
import { dict } from '../dict.js';
import { findDuplicateIds, type DuplicateIds } from './unique-ids.js';
import { recordsPerPartitionFor } from '../work/key-partitions.js';

export interface DedupHooks {
  log?: (message: string) => void;
  /** Progress of the signature phase (records and bytes since the last call). */
  advance?: (records: number, bytes: number) => void;
  /** Progress display per phase, with its total (the CLI passes one on a terminal). */
  progress?: ProgressFactory;
  /** Per-phase wall times, for benchmarks. */
  times?: DedupTimes;
  /** Checked between batches of the signature phase (tests simulate a kill with it). */
  signal?: AbortSignal;
  /** Called after each completed signature shard (tests abort from here). */
  onShardDone?: (shard: number) => void;
  /**
   * Worker threads to run on (a caller's pool, e.g. curate's near dedup): used instead of
   * starting a pool, and left open. Ignored with one worker (tasks run on this thread).
   */
  executor?: Executor;
}

export interface DedupTimes {
  /** Summed over workers (thread time, not wall time) when several run. */
  signature: SignatureContext['times'] & object;
  signatureMs: number;
  /** Worker threads of the signature phase, and the wall time the GPU was busy signing. */
  workers?: number;
  gpuBusyMs?: number;
  groupMs: number;
  outputMs: number;
}

export function emptyDedupTimes(): DedupTimes {
  return { signature: { readMs: 0, wordsMs: 0, minhashMs: 0, writeMs: 0 }, signatureMs: 0, groupMs: 0, outputMs: 0 };
}

export interface DedupManifest {
  tool: { name: string; version: string };
  command: 'dedup';
  options: Record<string, unknown>;
  lsh: LshPlan;
  tokenizer: 'words';
  inputs: { path: string; format: string; compression: string; bytes: number; sha256: string; records: number; problems: number; blank_lines: number }[];
  totals: SourceTotals & {
    doc_acceptance: number;
    token_acceptance: number;
    quarantined: number;
    without_words: number;
  } & Omit<ClusterSummary, 'sources' | 'files' | 'decision' | 'checks'>;
  /** What each cluster rule removes on these components (cover.ts). */
  cluster_rule: RuleStats;
  sources: Record<string, SourceTotals & { doc_acceptance: number; token_acceptance: number }>;
  quarantine: Record<string, number>;
  outputs: ClusterSummary['files'];
}

export type DedupResult =
  | { status: 'complete'; manifestPath: string; manifest: DedupManifest; stats: GroupStats }
  | { status: 'partial'; pendingShards: number[]; completedShards: number }
  /** Another process, which this one waited for or worked alongside, completed the run. */
  | { status: 'done-elsewhere' };

const ratio = (a: number, b: number) => (b === 0 ? 1 : Math.round((a / b) * 1e6) / 1e6);

/** What the signature intermediates depend on: a rerun must match it to reuse them. */
function signatureFingerprint(options: ResolvedDedupOptions, lsh: LshPlan, inputs: ResolvedInput[], selected: (Uint32Array | null)[] | null): string {
  const relevant = {
    selected: selected?.map(rowsDigest) ?? null,
    version: VERSION,
    // The intermediates' formats (2: docs.bin replaced docs.jsonl).
    intermediates: 2,
    ngram: options.ngram,
    numHashes: options.numHashes,
    seed: options.seed,
    digits: options.digits,
    diacritics: options.diacritics,
    fields: options.fields,
    qualityField: options.qualityField,
    signatures: options.verify === 'signature',
    sketch: options.sketch,
    onError: options.onError,
    bands: lsh.bands,
    rows: lsh.rows,
    // The inputs' bytes are checked per shard (work/markers.ts): an edited input redoes its own shard.
    inputs: inputs.map((i) => [i.displayPath, i.format, i.source ?? null]),
  };
  return createHash('sha256').update(JSON.stringify(relevant)).digest('hex');
}

/** SHA-256 of a selection of rows (DedupOptions.selected), or null for none. */
function rowsDigest(rows: Uint32Array | null): string | null {
  return rows ? createHash('sha256').update(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength)).digest('hex') : null;
}

/** The selection of each input (DedupOptions.selected), checked, on SharedArrayBuffers: every unit's task reads its input's without a copy. */
function sharedSelection(selected: (Uint32Array | null)[], inputs: ResolvedInput[]): (Uint32Array | null)[] {
  if (selected.length !== inputs.length) throw new TokenmixError(`dedup: a selection of rows for ${selected.length} inputs, but the inputs are ${inputs.length} files`);
  return selected.map((rows, i) => {
    if (rows === null) return null;
    for (let k = 1; k < rows.length; k++) {
      if (rows[k] <= rows[k - 1]) throw new TokenmixError(`dedup: the rows selected from ${inputs[i].displayPath} must ascend (row ${rows[k]} after ${rows[k - 1]})`);
    }
    if (rows.buffer instanceof SharedArrayBuffer) return rows;
    const shared = new Uint32Array(new SharedArrayBuffer(4 * rows.length));
    shared.set(rows);
    return shared;
  });
}

/** Records, problems and blank lines per input file, from its units' markers. */
function inputCounts(inputs: number, markers: SignatureMarker[]): InputCounts[] {
  const counts = Array.from({ length: inputs }, () => ({ records: 0, problems: 0, blank_lines: 0 }));
  for (const m of markers) {
    counts[m.shard].records += m.records;
    counts[m.shard].problems += m.problems;
    counts[m.shard].blank_lines += m.blank_lines;
  }
  return counts;
}

function fieldMap(options: ResolvedDedupOptions): FieldMap {
  const { source, ...named } = options.fields;
  return { ...named, ...(source !== null ? { source } : {}), ...(options.qualityField ? { quality: [options.qualityField] } : {}) };
}

/**
 * Grouping runs its bucket ranges on the workers from this many band records on: below, one
 * thread does it in a fraction of a second and splitting it costs more than it saves (measured
 * with two workers: 25 ms slower at 43k records, 0.1 s faster at 0.5M). Tests lower it
 * (TOKENMIX_PARALLEL_GROUPING_RECORDS) to run the parallel path on small corpora.
 */
function parallelGroupingRecords(): number {
  const fromEnv = Number(process.env.TOKENMIX_PARALLEL_GROUPING_RECORDS);
  return Number.isSafeInteger(fromEnv) && fromEnv >= 0 && process.env.TOKENMIX_PARALLEL_GROUPING_RECORDS !== '' ? fromEnv : 250_000;
}

/** The lease and done record of a dedup run live next to its work directory, which the run deletes. */
const LEASE_NAME = '.tokenmix-dedup-reduce';

export async function dedup(request: DedupOptions, backend: Backend, hooks: DedupHooks = {}): Promise<DedupResult> {
  const outDir = resolve(request.outDir);
  const key = runKey(request);
  const finisherBefore = readDoneToken(outDir, LEASE_NAME, key);
  try {
    return await dedupRun(request, backend, hooks, key);
  } catch (error) {
    // A duplicate process can find the work directory deleted under it by the process that
    // completed the same run meanwhile: that is success, not a crash.
    const finisher = readDoneToken(outDir, LEASE_NAME, key);
    if (finisher === null || finisher === finisherBefore) throw error;
    return { status: 'done-elsewhere' };
  }
}

/** What the outputs of a dedup run depend on, apart from the inputs' bytes. */
function runKey(request: DedupOptions): string {
  // Who does the work and how it is sliced changes no output byte, so equal runs share a key.
  const { rank: _rank, worldSize: _worldSize, keepWork: _keepWork, selected, groupingBytes: _groupingBytes, memoryBytes: _memoryBytes, batchSize: _batchSize, workers: _workers, workerMemoryMb: _workerMemoryMb, unitBytes: _unitBytes, stage: _stage, ...rest } = request;
  // A selection of rows counts by its bytes' digest.
  const rows = selected?.map(rowsDigest) ?? null;
  return createHash('sha256').update(JSON.stringify({ version: VERSION, request: rest, rows })).digest('hex');
}

async function dedupRun(request: DedupOptions, backend: Backend, hooks: DedupHooks, key: string): Promise<DedupResult> {
  const log = hooks.log ?? (() => {});
  const options = resolveDedupOptions(request);
  const rank = request.rank ?? 0;
  const worldSize = request.worldSize ?? 1;
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new TokenmixError(`--world-size must be a positive integer (got ${worldSize})`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new TokenmixError(`--rank must be an integer in 0..${worldSize - 1} (got ${rank})`);
  // The run's one pool. With several workers it starts now, so the threads load their modules
  // while this thread plans the LSH bands, the inputs and the units.
  // With --memory-mb each worker's heap is capped at its share (a worker that needs more fails
  // the run, saying so). Without it the map's heaps are not capped: a cap makes V8 collect more
  // often (the map ran ~8 % slower at 1M documents with 512 MiB each); workers started when
  // memory gets tight are (RunPool.recycleAbove; peak RSS in bench/README "Memory").
  const budgetMb = request.workerMemoryMb ?? Math.floor((options.memoryBytes ?? defaultMemoryBytes(resolveWorkers({ workers: request.workers }))) / 2 ** 20);
  const capped = request.workerMemoryMb !== undefined || options.memoryBytes !== null;
  const workerOptions = { workers: request.workers, ...(capped ? { memoryMb: budgetMb } : {}) };
  let inProcess: TaskHandler = () => Promise.reject(new Error('no task runs on this thread before the map phase'));
  const pool = new RunPool(workerOptions, ownKind('signature-unit', (task, link) => inProcess(task, link)), hooks.executor);
  if (pool.wanted(Infinity) > 1) pool.lease();
  try {
    return await planMapReduce();
  } finally {
    await pool.close();
  }

  async function planMapReduce(): Promise<DedupResult> {
  const lsh = planLsh({
    threshold: options.threshold,
    numHashes: options.numHashes,
    ...(options.bands !== null ? { bands: options.bands } : {}),
    ...(options.rows !== null ? { rows: options.rows } : {}),
    margin: options.margin,
    weights: options.weights,
  });
  if (request.inputs.length === 0) throw new TokenmixError('dedup needs at least one --input PATH (a file or a glob)');
  const inputs = resolveInputs(request.inputs, request.baseDir ?? process.cwd());
  if (inputs.length === 0) throw new TokenmixError(`no input file matches ${request.inputs.map((i) => JSON.stringify(i.path)).join(', ')}`);
  const outDir = resolve(request.outDir);
  const workDir = join(outDir, '.tokenmix-dedup');
  await mkdir(join(workDir, 'shards'), { recursive: true });
  const selected = request.selected ? sharedSelection(request.selected, inputs) : null;
  const fingerprint = signatureFingerprint(options, lsh, inputs, selected);
  const fields = fieldMap(options);
  const times = hooks.times;
  // This process's token in the markers it makes: its own reduce need not hash again the files
  // they describe while their stat keys are unchanged (work/markers.ts inputStaleReason).
  const session = randomBytes(12).toString('hex');

  // Phase 1: this rank's units (balanced by bytes), skipping finished ones, on the
  // local executor's workers. This thread owns the GPU: workers send it their batches' word
  // hashes and get signatures back while they prepare the next batch.
  let started = performance.now();
  const units = await planUnits(inputs, request.unitBytes ?? DEFAULT_UNIT_BYTES);
  const owners = assignUnits(units, worldSize);
  const gpu = backend.kind === 'gpu';
  const busy = new BusyClock();
  const signOnDevice = (csr: SignRequest) => busy.track(signBatch(backend, options, csr, times?.signature.gpu));
  const inProcessTimes = times?.signature ?? { readMs: 0, wordsMs: 0, minhashMs: 0, writeMs: 0 };
  inProcess = async (task, link) => {
    const unitTask = task as SignatureUnitTask;
    const marker = await processSignatureUnit(unitTask.input, unitTask.unit, unitTask.firstLine, {
      options, fields, sign: gpu ? signOnDevice : cpuSigner(options), bands: lsh.bands, rows: lsh.rows, workDir, fingerprint, selected: unitTask.selected,
      advance: (records, bytes) => link.advance(records, bytes), times: inProcessTimes, signal: hooks.signal, session,
    });
    return { marker, times: null };
  };
  let signatureProgress: Progress | undefined;
  let workers = 1;
  let wholeHashes: Map<string, Promise<{ sha256: string; stat: string | null } | null>> | null = null;
  const checks: SessionChecks = {
    id: session,
    // An input's SHA-256 hashed during the map, while its stat key is unchanged since.
    knownSha256: async (path) => {
      const early = await wholeHashes?.get(path);
      return early?.stat && early.stat === (await statKey(path)) ? early.sha256 : null;
    },
  };
  const finished = await freshMarkers<SignatureMarker>(inputs, (unit) => readSignatureMarker(workDir, unit, fingerprint), join(workDir, 'shards'), log);
  const runMap = (plan: WorkUnit[], mine: (unit: WorkUnit) => boolean, onStart?: (todoBytes: number) => void) => runMapPhase<SignatureMarker>(
    (tasks) => {
      const executor = pool.lease(tasks);
      workers = executor.workers;
      // The reduce hashes every input whole (the manifest's SHA-256): that runs now rather than
      // on one core after the map. With more units than workers it is queued before the units;
      // with as many, on this thread, idle while they map (licenses-npm × 12, two units: one
      // worker hashed 131 MB for 0.2-0.3 s after the map while the other waited).
      if (wholeHashes === null && worldSize === 1 && (request.stage ?? 'all') === 'all' && executor.workers > 1) {
        wholeHashes = hashWholeFiles(tasks > executor.workers ? executor : HASH_HERE, inputs.map((input) => input.path));
      }
      return executor;
    },
    {
      units: plan,
      inputs,
      mine,
      finished,
      task: (unit, firstLine): SignatureUnitTask => ({
        kind: 'signature-unit', label: describeUnit(unit, inputs[unit.input].displayPath),
        options, fields, bands: lsh.bands, rows: lsh.rows, workDir, fingerprint, input: inputs[unit.input], unit, firstLine, remoteSign: gpu,
        selected: selected?.[unit.input] ?? null, session,
      }),
      unwrap: (result) => {
        const { marker, times: unitTimes } = result as SignatureUnitResult | { marker: SignatureMarker; times: null };
        if (times && unitTimes) for (const key of ['readMs', 'wordsMs', 'minhashMs', 'writeMs'] as const) times.signature[key] += unitTimes[key];
        hooks.onShardDone?.(marker.shard);
        return marker;
      },
    },
    {
      advance: (records, bytes) => {
        hooks.advance?.(records, bytes);
        signatureProgress?.advance(records, bytes);
      },
      ...(gpu ? { sign: signOnDevice } : {}),
    },
    onStart,
  );
  return await mapThenReduce();

  async function mapThenReduce(): Promise<DedupResult> {
  const outcome = await runMap(units, (unit) => request.stage !== 'reduce' && owners[unit.index] === rank, (todoBytes) => {
    signatureProgress = hooks.progress?.('dedup signatures', todoBytes, 'bytes');
  });
  if (outcome.ran > 0) signatureProgress?.done();
  if (outcome.skipped > 0) log(`tokenmix: ${outcome.skipped} of ${outcome.skipped + outcome.ran} work units already have signatures, skipping them`);
  if (times) {
    times.signatureMs += performance.now() - started;
    times.workers = workers;
    times.gpuBusyMs = busy.busyMs;
  }
  const pendingInputs = [...new Set(units.filter((u) => outcome.markers[u.index] === null).map((u) => u.input))];
  // A scheduler runs the reduce as its own job: a map task never reduces.
  if (pendingInputs.length > 0 || request.stage === 'map') return { status: 'partial', pendingShards: pendingInputs, completedShards: inputs.length - pendingInputs.length };
  // One process reduces (work/lease.ts): the others wait, then find the run done.
  const outcome2 = await exclusively(outDir, LEASE_NAME, key, async () => {
    const duplicateIds = (markers: SignatureMarker[]) => {
      const idPool = pool.lease();
      return findDuplicateIds(inputs, markers, workDir, options.onError, options.fields.id, (task) => idPool.run(task, { advance: () => {} }), recordsPerPartitionFor(Math.floor(budgetMb / idPool.workers)), idPool.workers);
    };
    // The units of inputs that changed behind their markers: forget them, plan again, map again.
    const redo = (stale: Set<number>) => {
      signatureProgress = undefined;
      return redoInputs(stale, units, (u) => unitFiles(workDir, u).marker, () => planUnits(inputs, request.unitBytes ?? DEFAULT_UNIT_BYTES), runMap);
    };
    // Read again under the lease: a reducer before this one may have redone units.
    const latest = await Promise.all(units.map(async (u) => (await readSignatureMarker(workDir, u, fingerprint)) ?? outcome.markers[u.index]));
    // The unique-id check reads only the units' document tables: its tasks queue behind the hashing
    // of the inputs and intermediates, and it is made again if that check redoes units.
    const early = latest.every((m) => m !== null) ? duplicateIds(latest as SignatureMarker[]) : null;
    early?.catch(() => {}); // awaited below, or dropped with the units it was made from
    const current = await currentUnitMarkers(inputs, { units, markers: latest }, (_u, m) => intermediateChecks(workDir, m), redo, log, hashingOn(pool.lease()), checks);
    const kept = early !== null && current.markers.every((m, i) => m === latest[i]);
    if (early && !kept) await early.catch(() => {});
    const duplicates = kept ? early : duplicateIds(current.markers);
    duplicates.catch(() => {}); // awaited in reducePhase, after its first awaits
    return reducePhase({ options, backend, hooks, inputs, markers: current.markers, identities: current.identities, lsh, fingerprint, workDir, outDir, rank, worldSize, pool, duplicates });
  }, {
    onWait: () => log(`tokenmix: another process is grouping ${request.outDir}; waiting for it`),
    afterDone: () => {
      if (!request.keepWork) rmSync(workDir, { recursive: true, force: true });
    },
  });
  return outcome2.status === 'done' ? outcome2.value : outcome2;
  }
  }
}

/**
 * One pool of worker threads for a whole run — signatures, grouping, the cluster rule's checks
 * and the outputs — so workers start (and load their modules) once. With several workers it is
 * made at full size when the run starts; a phase of fewer tasks than workers still borrows it
 * whole (`wanted` caps what a phase asks for). Phases borrow it (`lease`: closing the lease
 * leaves the pool open); one worker runs every task on this thread.
 */
class RunPool {
  private executor: Executor | null = null;
  private readonly lent: Executor | null;
  constructor(private options: WorkerOptions, private readonly inProcess: TaskHandler, lent?: Executor) {
    this.lent = lent !== undefined && lent.workers > 1 ? lent : null;
    if (this.lent) this.options = { ...options, workers: this.lent.workers };
  }

  /** The workers a phase of `tasks` tasks may use: the run's workers, never more than its tasks. */
  wanted(tasks: number): number {
    return Math.min(resolveWorkers(this.options), Math.max(1, tasks));
  }

  lease(tasks = Infinity): Executor {
    if (this.lent) return { workers: this.lent.workers, run: (task, link) => this.lent!.run(task, link), close: async () => {} };
    if (this.executor === null || this.executor.workers < this.wanted(tasks)) {
      const old = this.executor;
      this.executor = createExecutor(this.options, this.inProcess, tasks);
      void old?.close();
    }
    const executor = this.executor;
    return { workers: executor.workers, run: (task, link) => executor.run(task, link), close: async () => {} };
  }

  async close(): Promise<void> {
    await this.executor?.close();
    this.executor = null;
  }

  /**
   * Ends the workers (their heaps go with them; the next lease starts new ones, ~0.15 s) when
   * this process's RSS plus what the next phase adds would pass 80 % of `budgetBytes`. Memory is
   * tight then, so the new workers' heaps are capped at their share of it (8M documents without
   * --memory-mb: the cluster pass peaked at the budget with uncapped heaps).
   */
  async recycleAbove(budgetBytes: number, nextBytes: number): Promise<void> {
    if (this.lent === null && this.executor !== null && this.executor.workers > 1 && process.memoryUsage().rss + nextBytes > 0.8 * budgetBytes) {
      await this.close();
      this.options = { ...this.options, memoryMb: this.options.memoryMb ?? Math.floor(budgetBytes / 2 ** 20) };
    }
  }
}

function intermediateChecks(workDir: string, marker: SignatureMarker) {
  const files = markerFiles(workDir, marker) as Record<string, string>;
  return Object.entries(marker.intermediates ?? {}).map(([kind, expected]) => ({ path: files[kind], ...expected }));
}

interface ReduceInput {
  options: ResolvedDedupOptions;
  backend: Backend;
  hooks: DedupHooks;
  inputs: ResolvedInput[];
  markers: SignatureMarker[];
  identities: { bytes: number; sha256: string }[];
  lsh: LshPlan;
  fingerprint: string;
  workDir: string;
  outDir: string;
  rank: number;
  worldSize: number;
  pool: RunPool;
  /** The unique-id check of `markers` (unique-ids.ts), under way. */
  duplicates: Promise<DuplicateIds>;
}

async function reducePhase({ options, backend, hooks, inputs, markers, identities, lsh, fingerprint, workDir, outDir, rank, worldSize, pool, duplicates: duplicateIdsPromise }: ReduceInput): Promise<DedupResult> {
  const log = hooks.log ?? (() => {});
  const times = hooks.times;
  const manifestPath = join(outDir, 'manifest.json');
  // The manifest is written last: while this reduce rewrites outputs, none describes them.
  await rm(manifestPath, { force: true });
  await removeDeadTemps([outDir, join(outDir, 'keep'), join(outDir, 'drops')]);

  // Phase 2: group and verify, range by range.
  let started = performance.now();
  const bases = [0];
  for (const m of markers) bases.push(bases[bases.length - 1] + m.records);
  const documents = bases[bases.length - 1];
  if (documents >= 0xffffffff) throw new TokenmixError(`dedup handles at most 4294967294 documents per run (got ${documents}); split the inputs`);
  const bucketCounts = new Float64Array(FINE_BUCKETS);
  for (const m of markers) m.bands.bucketCounts.forEach((c, b) => (bucketCounts[b] += c));
  // Tables, range reads and caches planned within the budget (memory.ts).
  const totalRecords = bucketCounts.reduce((a, b) => a + b, 0);
  const groupWorkers = totalRecords < parallelGroupingRecords() ? 1 : pool.wanted(Infinity);
  const threads = pool.wanted(Infinity);
  const budget = options.memoryBytes ?? runMemoryBytes(documents, threads);
  if (options.memoryBytes === null && budget > defaultMemoryBytes(threads)) {
    log(`tokenmix: ${documents} documents need more than the default ${defaultMemoryBytes(threads) / 2 ** 20} MiB; planning within ${Math.ceil(budget / 2 ** 20)} MiB (--memory-mb bounds it)`);
  }
  const memory = options.groupingBytes === null
    ? planDedupMemory(budget, documents, threads, groupWorkers)
    : { rangeRecords: Math.max(64, Math.floor(options.groupingBytes / (32 + RECORD_WORDS * 4))), cacheBytes: Math.floor(VECTOR_CACHE_BYTES / (threads > 1 ? threads + 1 : 1)), sharedBytes: VECTOR_CACHE_BYTES };
  // Vectors that fit what the plan leaves them are read once, into memory every thread shares
  // (the threads' own caches then go unused), while the workers still check the ids. (1M
  // documents, 2 workers: 405 MB of sets; read pair by pair, the reads took ~1 s of each
  // grouping thread.)
  const vectors = openStoreIndex(options, markers, workDir);
  const loading = vectors !== null ? loadStoreValues(vectors, memory.sharedBytes) : Promise.resolve(false);
  loading.catch(() => {}); // awaited below, after the id check's own failure if any
  const duplicates = await duplicateIdsPromise;
  const shared = await loading;
  // With several workers, at least eight ranges each: they finish together, and small tables
  // leave the map's workers room to group (1M documents, 2 workers: two ranges each needed new
  // workers, cold, and grouping took 3.1-3.2 s; eight each, the same workers, 2.5 s).
  const maxRecords = groupWorkers > 1 ? Math.max(64, Math.min(memory.rangeRecords, Math.ceil(totalRecords / (8 * groupWorkers)))) : memory.rangeRecords;
  const ranges = planBucketRanges(bucketCounts, maxRecords);
  // New workers for grouping when the map's and the id check's heaps could crowd its tables.
  // (Shared vectors are in this process's RSS already; the threads' caches are then unused.)
  await pool.recycleAbove(budget, groupWorkers * groupingBytes(Math.max(...ranges.map((r) => r.records))) + (shared ? 0 : (threads + 1) * memory.cacheBytes));
  const groupFingerprint = createHash('sha256')
    .update(JSON.stringify({
      fingerprint, threshold: options.threshold, verify: options.verify, links: options.links, ranges: ranges.map((r) => [r.start, r.end]),
      // A shard redone from changed bytes invalidates grouping results made from its old files.
      shards: markers.map((m) => [m.input.sha256, Object.entries(m.intermediates).map(([kind, f]) => [kind, f.bytes, f.sha256])]),
    }))
    .digest('hex');
  const uf = new UnionFind(documents, groupWorkers > 1);
  const failures = new PairCache({ shared: groupWorkers > 1 });
  const cacheBytes = shared ? 0 : memory.cacheBytes;
  const store = vectors && new VectorStore(vectors, cacheBytes);
  const quiet = { advance: () => {} };
  // Every worker opens the store for the cluster rule's tasks, also when grouping ran on this thread.
  const stats = emptyGroupStats();
  try {
    let reloaded = 0;
    const todo: number[] = [];
    for (const [index] of ranges.entries()) {
      if (await reloadRange(workDir, index, groupFingerprint, uf)) reloaded++;
      else todo.push(index);
    }
    const grouping = hooks.progress?.('dedup grouping', todo.length, 'bucket ranges');
    if (groupWorkers > 1 && todo.length > 1) {
      // Ranges on every core: each task writes its range's edges, joined here in range order.
      const executor = pool.lease();
      const excluded = [...duplicates.excluded];
      const results = await Promise.all(todo.map(async (index) => {
        const task: GroupRangeTask = {
          kind: 'group-range', label: `grouping bucket range ${index + 1} of ${ranges.length}`,
          workDir, markers, bases, options, fingerprint: groupFingerprint, index, range: ranges[index], excluded, store: vectors, cacheBytes, uf: uf.parent, failures: failures.buffer as SharedArrayBuffer,
        };
        const rangeStats = await executor.run<GroupStats>(task, quiet);
        grouping?.advance(0, 1);
        return rangeStats;
      }));
      for (const rangeStats of results) addGroupStats(stats, rangeStats);
      for (const index of todo) {
        if (!(await reloadRange(workDir, index, groupFingerprint, uf))) throw new TokenmixError(`bucket range ${index + 1} of ${ranges.length} finished without its edges in ${workDir}: is another process deleting it?`);
      }
    } else {
      const context = { workDir, markers, bases, options, uf, verify: makeVerifier(options, store), store, tableFor: (records: number) => tableFor(records, options.links), failures, fingerprint: groupFingerprint, stats, excluded: duplicates.excluded };
      for (const index of todo) {
        await processRange(index, ranges[index], context);
        grouping?.advance(0, 1);
      }
      releaseGroupingMemory();
    }
    grouping?.done();
    if (reloaded > 0) log(`tokenmix: ${reloaded} of ${ranges.length} bucket ranges already grouped, reusing them`);
  } catch (error) {
    store?.close();
    throw error;
  }
  // The grouping tables go with their workers when the cluster pass's arrays need the room.
  if (groupWorkers > 1) await pool.recycleAbove(budget, documents * CLUSTER_PASS_BYTES);
  if (times) times.groupMs += performance.now() - started;

  // Phase 3: cluster rule (reads the sets again), clusters and outputs.
  started = performance.now();
  const components = uf.flatten();
  let summary: ClusterSummary;
  try {
    const judge = (exactClass: Uint32Array) => makeJudge(options.verify, options.threshold, store, exactClass);
    const index = (exactClass: Uint32Array) =>
      options.verify === 'exact' && store ? new KeptIndex((doc) => jaccardPrefix(store.get(doc), options.threshold), (doc) => exactClass[doc], { set: (doc) => store.get(doc), threshold: options.threshold }) : null;
    // With several workers, every member's check against its component's leader runs on them,
    // and large components' checks against their kept members go to them in blocks.
    const ruleWorkers = pool.wanted(Infinity);
    const measure = ruleWorkers > 1 && options.verify === 'exact' && store
      ? (exactClass: Uint32Array) => async (pairs: Uint32Array): Promise<MeasuredPairs> => {
        const shared = await intersectOnWorkers(pairs, store, (chunk, label) => {
          const task: IntersectPairsTask = { kind: 'intersect-pairs', label, workDir, store: vectors, options, fingerprint: groupFingerprint, cacheBytes, pairs: chunk };
          return pool.lease().run<Uint32Array>(task, quiet);
        }, ruleWorkers);
        const pass = new Uint8Array(shared.length);
        const jaccard = new Float64Array(shared.length);
        shared.forEach((n, i) => {
          const [a, b] = [pairs[2 * i], pairs[2 * i + 1]];
          const verdict = measuredVerdict(store.length(a), store.length(b), n, exactClass[a] === exactClass[b], options.threshold);
          pass[i] = verdict.pass ? 1 : 0;
          jaccard[i] = verdict.jaccard;
        });
        return { pass, jaccard };
      }
      : undefined;
    const search = ruleWorkers > 1 && options.verify === 'exact' && store
      ? (exactClass: Uint32Array): FirstPassSearch => (query) => searchOnWorkers(query, store, exactClass, ruleWorkers, (part, label) => {
        const task: FirstPassTask = { kind: 'first-pass', label, workDir, store: vectors, options, fingerprint: groupFingerprint, cacheBytes, ...part };
        return pool.lease().run<FirstPasses>(task, quiet);
      })
      : undefined;
    summary = await writeClusters(components, { keep: options.keep, rule: options.cluster, judge, index, ...(measure ? { measure } : {}), ...(search ? { search } : {}) }, inputs, markers, workDir, outDir, duplicates.excluded, (task) => pool.lease().run(task, quiet));
  } finally {
    store?.close();
  }
  const quarantine = new LineFile(join(outDir, 'quarantine.jsonl'));
  const quarantineReasons: Record<string, number> = dict();
  for (const [s] of markers.entries()) {
    const text = await readFile(markerFiles(workDir, markers[s]).problems, 'utf8');
    for (const line of text.split('\n')) {
      if (!line) continue;
      const reason = (JSON.parse(line) as { reason: string }).reason;
      quarantineReasons[reason] = (quarantineReasons[reason] ?? 0) + 1;
      quarantine.line(line);
    }
  }
  for (const line of duplicates.lines) {
    quarantineReasons['duplicate-id'] = (quarantineReasons['duplicate-id'] ?? 0) + 1;
    quarantine.line(line);
  }
  const outputs = [...summary.files, quarantine.close(outDir)].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const totals: SourceTotals = { docs_in: 0, docs_out: 0, tokens_in: 0, tokens_out: 0 };
  const sources: DedupManifest['sources'] = dict();
  for (const [name, t] of Object.entries(summary.sources)) {
    totals.docs_in += t.docs_in;
    totals.docs_out += t.docs_out;
    totals.tokens_in += t.tokens_in;
    totals.tokens_out += t.tokens_out;
    sources[name] = { ...t, doc_acceptance: ratio(t.docs_out, t.docs_in), token_acceptance: ratio(t.tokens_out, t.tokens_in) };
  }
  const { files: _files, sources: _sources, decision, checks, ...clusterCounts } = summary;
  const manifest: DedupManifest = {
    tool: { name: 'tokenmix', version: VERSION },
    command: 'dedup',
    options: {
      threshold: options.threshold,
      ngram: options.ngram,
      num_hashes: options.numHashes,
      seed: options.seed,
      normalize: { digits: options.digits, diacritics: options.diacritics },
      keep: options.keep,
      quality_field: options.qualityField,
      fields: options.fields,
      verify: options.verify,
      sketch: options.sketch,
      links: options.links,
      cluster: options.cluster,
      on_error: options.onError,
    },
    lsh,
    tokenizer: 'words',
    inputs: describeInputs(inputs, inputCounts(inputs.length, markers), identities),
    totals: {
      ...totals,
      doc_acceptance: ratio(totals.docs_out, totals.docs_in),
      token_acceptance: ratio(totals.tokens_out, totals.tokens_in),
      quarantined: Object.values(quarantineReasons).reduce((a, b) => a + b, 0),
      without_words: markers.reduce((a, m) => a + m.without_words, 0),
      ...clusterCounts,
    },
    cluster_rule: decision,
    sources,
    quarantine: Object.fromEntries(Object.entries(quarantineReasons).sort(([a], [b]) => (a < b ? -1 : 1))),
    outputs,
  };
  writeWholeFile(outDir, manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  if (times) times.outputMs += performance.now() - started;
  writeFileSync(
    join(outDir, 'run.json'),
    `${JSON.stringify({ backend: describeBackend(backend), rank, world_size: worldSize, ranges: ranges.length, grouping: stats, cluster_rule_checks: checks, times: times ?? null }, null, 2)}\n`,
  );
  return { status: 'complete', manifestPath, manifest, stats };
}

/**
 * |A ∩ B| of every pair (interleaved), in chunks of about equal work (set sizes) on the
 * workers, four per worker so they finish together; answers in pair order.
 */
async function intersectOnWorkers(
  pairs: Uint32Array,
  store: VectorStore,
  run: (chunk: Uint32Array, label: string) => Promise<Uint32Array>,
  workers: number,
): Promise<Uint32Array> {
  const count = pairs.length / 2;
  const shared = new Uint32Array(count);
  const chunks = chunksByCost(count, (i) => store.length(pairs[2 * i]) + store.length(pairs[2 * i + 1]) + 1, 4 * workers);
  await Promise.all(chunks.map(async ([from, to]) => {
    shared.set(await run(pairs.slice(2 * from, 2 * to), `cluster rule checks ${from + 1}–${to} of ${count}`), from);
  }));
  return shared;
}

/**
 * A block's first-pass search (cover.ts decideInBlocks) over `workers` threads: its members in
 * order, cut into about two chunks per worker by set size (each task extends its thread's index
 * of the component's kept members).
 */
async function searchOnWorkers(
  query: FirstPassQuery,
  store: VectorStore,
  exactClass: Uint32Array,
  workers: number,
  run: (task: FirstPassQuery & { docClasses: Uint32Array; keptClasses: Uint32Array }, label: string) => Promise<FirstPasses>,
): Promise<FirstPasses> {
  const { docs, kept, leader } = query;
  const count = docs.length;
  const chunks = chunksByCost(count, (q) => store.length(docs[q]) + 1, 2 * workers);
  const keptClasses = Uint32Array.from(kept, (d) => exactClass[d]);
  const found = new Int32Array(count);
  const jaccard = new Float64Array(count);
  const tried = new Uint32Array(count);
  await Promise.all(chunks.map(async ([from, to]) => {
    const part = docs.slice(from, to);
    const result = await run(
      { leader, docs: part, kept, docClasses: Uint32Array.from(part, (d) => exactClass[d]), keptClasses },
      `cluster rule search ${from + 1}–${to} of ${count}`,
    );
    found.set(result.found, from);
    jaccard.set(result.jaccard, from);
    tried.set(result.tried, from);
  }));
  return { found, jaccard, tried };
}

/** [from, to) runs of items 0 … count−1, in order, each holding about 1/pieces of the total cost. */
function chunksByCost(count: number, cost: (i: number) => number, pieces: number): [number, number][] {
  const costs = Array.from({ length: count }, (_, i) => cost(i));
  const target = costs.reduce((a, b) => a + b, 0) / pieces;
  const chunks: [number, number][] = [];
  let start = 0;
  let acc = 0;
  for (let i = 0; i < count; i++) {
    acc += costs[i];
    if (acc >= target || i === count - 1) {
      chunks.push([start, i + 1]);
      start = i + 1;
      acc = 0;
    }
  }
  return chunks;
}
