/**
 * Reduce phase of near dedup (SPEC §2): for each range of fine buckets (partition.ts), read
 * that range from every shard's band file, group records into buckets (bucket-table.ts),
 * verify each candidate edge, and union the verified ones. A range leaves its accepted edges
 * and a marker, so a killed run resumes from completed ranges.
 *
 * An edge whose endpoints are already connected is not verified: it could not change the
 * components, which are a function of the set of verified candidate edges alone (so the
 * result does not depend on the order of ranges, nor on which ones a resumed run reloaded).
 * Accepted edges each merge two components, so all ranges together write at most N − 1.
 * A pair that failed verification is remembered (bounded cache) because the bands it shares
 * would otherwise present it again.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { writeAtomic } from '../work/temp.js';
import { join } from 'node:path';
import { estimateJaccard } from '../cpu/minhash.js';
import { BucketTable } from './bucket-table.js';
import { makePairJudge, searchKept, type FirstPassQuery, type FirstPasses } from './cover.js';
import { jaccardPrefix, KeptIndex } from './kept-index.js';
import type { ResolvedDedupOptions } from './options.js';
import { RECORD_WORDS, readSegmentHeader, readSegmentRange, type BucketRange } from './partition.js';
import { intersectionSize, jaccardAtLeast } from './shingles.js';
import { EXACT_FLAG, markerFiles, type SignatureMarker } from './signature-phase.js';
import { SharedUnionFind, type UnionFind } from './union-find.js';
import { storeIndex, VectorStore, type StoreIndex } from './set-store.js';
import type { Task } from '../exec/executor.js';

export interface GroupStats {
  /** Bucket records read. */
  records: number;
  /** Edges the buckets proposed (star/chain links, exact-text chains included). */
  candidates: number;
  skippedConnected: number;
  skippedKnownFailure: number;
  verified: number;
  rejected: number;
  acceptedNear: number;
  acceptedExact: number;
}

export function emptyGroupStats(): GroupStats {
  return { records: 0, candidates: 0, skippedConnected: 0, skippedKnownFailure: 0, verified: 0, rejected: 0, acceptedNear: 0, acceptedExact: 0 };
}

/**
 * Candidate pairs that failed verification, so that a pair proposed again (in another band, or
 * another range) is not verified again: a fixed-size set of (a, b) that stops adding at 70 %
 * load. Its slots may live in a SharedArrayBuffer that every range task adds to: a pair failed
 * on one thread is then skipped on the others (licenses-npm × 12: with a cache per task, 26k
 * more merges of the longest, nearest pairs, and grouping on two threads slower than on one).
 * The verdicts, hence the outputs, do not depend on what the cache holds.
 *
 * Lock-free and insert-only: a slot's first word is EMPTY, WRITING or the pair's a, published
 * with Atomics.store after its b; once published, a slot never changes. A reader that sees a
 * slot being written goes past it (a miss: the pair is verified again).
 */
export class PairCache {
  /** Bytes of a cache of 2^capacityLog2 slots. */
  static bytesFor(capacityLog2 = 20): number {
    return 8 * 2 ** capacityLog2 + 4;
  }
  /** The slots and their count (last word): share it with `new PairCache(buffer)` elsewhere. */
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly limit: number;
  private readonly count: number;

  /** A new cache of 2^capacityLog2 slots (shared between threads when `shared`), or a view of another's buffer. */
  constructor(from: { capacityLog2?: number; shared?: boolean } | ArrayBuffer | SharedArrayBuffer = {}) {
    if (from instanceof ArrayBuffer || from instanceof SharedArrayBuffer) this.buffer = from;
    else {
      const bytes = PairCache.bytesFor(from.capacityLog2);
      this.buffer = from.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
      new Int32Array(this.buffer).fill(EMPTY, 0, (bytes - 4) / 4);
    }
    this.slots = new Int32Array(this.buffer);
    this.count = this.slots.length - 1;
    this.mask = this.count / 2 - 1;
    this.limit = Math.floor((this.mask + 1) * 0.7);
  }

  private slot(a: number, b: number): number {
    return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) & this.mask;
  }

  has(a: number, b: number): boolean {
    const slots = this.slots;
    const ka = a | 0;
    const kb = b | 0;
    for (let s = this.slot(a, b); ; s = (s + 1) & this.mask) {
      const x = Atomics.load(slots, 2 * s);
      if (x === EMPTY) return false;
      if (x === ka && slots[2 * s + 1] === kb) return true;
    }
  }

  add(a: number, b: number): void {
    const slots = this.slots;
    if (Atomics.load(slots, this.count) >= this.limit) return;
    const ka = a | 0;
    const kb = b | 0;
    for (let s = this.slot(a, b); ; ) {
      const x = Atomics.load(slots, 2 * s);
      if (x === EMPTY) {
        // Claim the slot; if another thread claimed it first, look at it again.
        if (Atomics.compareExchange(slots, 2 * s, EMPTY, WRITING) !== EMPTY) continue;
        slots[2 * s + 1] = kb;
        Atomics.store(slots, 2 * s, ka);
        Atomics.add(slots, this.count, 1);
        return;
      }
      if (x === ka && slots[2 * s + 1] === kb) return;
      s = (s + 1) & this.mask;
    }
  }
}

/** A free slot; a slot being written. Document ids stop below 0xfffffffe (run.ts), so neither is an id. */
const EMPTY = -1;
const WRITING = -2;

/** Decides whether a near-duplicate candidate pair is kept (--verify). */
export function makeVerifier(options: ResolvedDedupOptions, store: VectorStore | null): (a: number, b: number) => boolean {
  const { threshold } = options;
  if (options.verify === 'none') return () => true;
  if (options.verify === 'signature') return (a, b) => estimateJaccard(store!.get(a), store!.get(b)) >= threshold - 1e-9;
  return (a, b) => {
    // Sizes alone can rule a pair out before any read (J <= min/max).
    const la = store!.length(a);
    const lb = store!.length(b);
    if (Math.min(la, lb) < threshold * Math.max(la, lb) - 1e-9) return false;
    return jaccardAtLeast(store!.get(a), store!.get(b), threshold);
  };
}

/** What grouping needs of a union-find: the run's, on this thread or shared by the range tasks. */
export type Connectivity = Pick<UnionFind, 'connected' | 'union'>;

export interface GroupContext {
  workDir: string;
  markers: SignatureMarker[];
  /** First global document index of each shard. */
  bases: number[];
  options: ResolvedDedupOptions;
  uf: Connectivity;
  verify: (a: number, b: number) => boolean;
  /** A bucket table with room for `records` records, cleared (tableFor: this thread's). */
  tableFor: (records: number) => BucketTable;
  failures: PairCache;
  fingerprint: string;
  stats: GroupStats;
  /** Documents quarantined for a duplicate id: never joined to a component. */
  excluded: ReadonlySet<number>;
  /** The store `verify` reads: candidate pairs are then verified in batches, their vectors pinned (VectorStore.pin). */
  store?: VectorStore | null;
}

/** Candidate pairs verified together (their vectors read in one pass): at most this many. */
const PENDING_PAIRS = 1 << 15;

export interface RangeMarker {
  range: number;
  fingerprint: string;
  start: number;
  end: number;
  edges: number;
}

export function rangeFiles(workDir: string, range: number) {
  const base = join(workDir, 'ranges', String(range).padStart(5, '0'));
  return { edges: `${base}.edges.bin`, marker: `${base}.done.json` };
}

/** Load a completed range's edges into the union-find; false when the range is not done. */
export async function reloadRange(workDir: string, range: number, fingerprint: string, uf: UnionFind): Promise<boolean> {
  const files = rangeFiles(workDir, range);
  let marker: RangeMarker;
  try {
    marker = JSON.parse(await readFile(files.marker, 'utf8')) as RangeMarker;
  } catch {
    return false;
  }
  if (marker.fingerprint !== fingerprint) return false;
  const bytes = readFileSync(files.edges);
  // A Buffer may be a view into a shared pool: copy exactly its bytes.
  const edges = new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  if (edges.length !== 2 * marker.edges) return false; // torn or foreign file: redo the range
  for (let i = 0; i < edges.length; i += 2) uf.union(edges[i], edges[i + 1]);
  return true;
}

/**
 * This thread's band segment headers (16 KiB each), read once per grouping (its fingerprint
 * covers every band file's bytes) instead of once per range: small ranges read them again
 * and again (1M documents, ranges of 2^18 records: 74 ranges × 24 segments).
 */
let threadHeaders: { fingerprint: string; headers: Map<string, Uint32Array> } | null = null;

function segmentHeaders(fingerprint: string): Map<string, Uint32Array> {
  if (threadHeaders?.fingerprint !== fingerprint) threadHeaders = { fingerprint, headers: new Map() };
  return threadHeaders.headers;
}

/** Group, verify and union one range of fine buckets; writes its edges and marker. */
export async function processRange(index: number, range: BucketRange, ctx: GroupContext): Promise<void> {
  const { uf, verify, failures, stats } = ctx;
  const store = ctx.store ?? null;
  let edges = new Uint32Array(1024);
  let edgeCount = 0;
  const accept = (a: number, b: number) => {
    uf.union(a, b);
    if (2 * edgeCount + 2 > edges.length) {
      const grown = new Uint32Array(edges.length * 2);
      grown.set(edges);
      edges = grown;
    }
    edges[2 * edgeCount] = a;
    edges[2 * edgeCount + 1] = b;
    edgeCount++;
  };
  // Near candidates wait in a batch (with a store): its vectors are read together, then each
  // pair is checked in arrival order, skipped if joined meanwhile. The components are the same:
  // they depend only on which candidate edges pass.
  const pending = store ? new Uint32Array(2 * PENDING_PAIRS) : null;
  let pendingPairs = 0;
  let pendingElements = 0;
  const check = (a: number, b: number) => {
    stats.verified++;
    if (!verify(a, b)) {
      stats.rejected++;
      failures.add(a, b);
      return;
    }
    stats.acceptedNear++;
    accept(a, b);
  };
  const flush = () => {
    if (pendingPairs === 0) return;
    store!.pinPairs(pending!.subarray(0, 2 * pendingPairs));
    for (let i = 0; i < pendingPairs; i++) {
      const a = pending![2 * i];
      const b = pending![2 * i + 1];
      if (uf.connected(a, b)) stats.skippedConnected++;
      else if (failures.has(a, b)) stats.skippedKnownFailure++;
      else check(a, b);
    }
    store!.unpin();
    pendingPairs = 0;
    pendingElements = 0;
  };
  const sink = (a: number, b: number, exact: boolean) => {
    if (ctx.excluded.has(a) || ctx.excluded.has(b)) return;
    stats.candidates++;
    if (uf.connected(a, b)) {
      stats.skippedConnected++;
      return;
    }
    if (exact) {
      stats.acceptedExact++;
      accept(a, b);
      return;
    }
    if (failures.has(a, b)) {
      stats.skippedKnownFailure++;
      return;
    }
    if (!pending) return check(a, b);
    pending[2 * pendingPairs] = a;
    pending[2 * pendingPairs + 1] = b;
    pendingPairs++;
    pendingElements += store!.length(a) + store!.length(b);
    if (pendingPairs === PENDING_PAIRS || pendingElements >= store!.pinElements) flush();
  };
  // The range's records of every segment: shards in order, segments in order, so that within
  // a key documents arrive in increasing order.
  const headers = segmentHeaders(ctx.fingerprint);
  const parts: { records: Uint32Array; base: number; header: Uint32Array }[] = [];
  for (const [s, marker] of ctx.markers.entries()) {
    if (marker.bands.records === 0) continue;
    const path = markerFiles(ctx.workDir, marker).bands;
    const fd = openSync(path, 'r');
    try {
      for (const offset of marker.bands.segments) {
        const key = `${path}\0${offset}`;
        let header = headers.get(key);
        if (!header) headers.set(key, (header = readSegmentHeader(fd, offset)));
        const records = readSegmentRange(fd, offset, range.start, range.end, header);
        stats.records += records.length / RECORD_WORDS;
        if (records.length > 0) parts.push({ records, base: ctx.bases[s], header });
      }
    } finally {
      closeSync(fd);
    }
  }
  // Fine bucket by fine bucket: keys of two fine buckets never meet, so each is grouped alone, in
  // a table sized for the largest of them (a few hundred KiB at 1M documents) that stays in the
  // caches. One table for the whole range made most records a miss to memory.
  /** Where fine bucket b's records start in a part's read (its header counts from the segment's start). */
  const at = (header: Uint32Array, b: number) => (header[2 + b] - header[2 + range.start]) * RECORD_WORDS;
  let largest = 0;
  for (let b = range.start; b < range.end; b++) {
    let words = 0;
    for (const { header } of parts) words += at(header, b + 1) - at(header, b);
    largest = Math.max(largest, words / RECORD_WORDS);
  }
  const table = ctx.tableFor(largest);
  for (let b = range.start; b < range.end; b++) {
    for (const { records, base, header } of parts) {
      for (let i = at(header, b), end = at(header, b + 1); i < end; i += RECORD_WORDS) {
        const word = records[i + 2];
        const exact = word >= EXACT_FLAG;
        table.add(records[i], records[i + 1], base + (exact ? word - EXACT_FLAG : word), exact, sink);
      }
    }
    table.clear();
  }
  flush();
  const files = rangeFiles(ctx.workDir, index);
  await mkdir(join(ctx.workDir, 'ranges'), { recursive: true });
  await writeAtomic(files.edges, new Uint8Array(edges.buffer, 0, edgeCount * 8));
  const marker: RangeMarker = { range: index, fingerprint: ctx.fingerprint, start: range.start, end: range.end, edges: edgeCount };
  await writeAtomic(files.marker, `${JSON.stringify(marker)}\n`);
}

function readU32File(path: string): Uint32Array {
  const bytes = readFileSync(path);
  return new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** Where the vectors verification reads are (shingle sets, or signatures for --verify signature), or null: one index per run, shared by every thread's store. */
export function openStoreIndex(options: ResolvedDedupOptions, markers: SignatureMarker[], workDir: string): StoreIndex | null {
  if (options.verify === 'none') return null;
  return storeIndex(markers.map((m) => {
    const files = markerFiles(workDir, m);
    return options.verify === 'exact'
      ? { path: files.shingles, lengths: readU32File(files.lengths) }
      : { path: files.signatures, lengths: new Uint32Array(m.records).fill(options.numHashes) };
  }));
}

/**
 * One range of fine buckets grouped on any thread (issue 9: grouping runs on every core). The
 * range tasks share the run's union-find (SharedUnionFind over one SharedArrayBuffer) and each
 * keeps its own failure cache: a task skips an edge whose ends any task has already joined, so
 * together they verify about as many pairs as one thread walking every range. Which edges get
 * skipped depends on timing, the components do not (an edge is skipped only when verified edges
 * already join its ends), so the outputs are the same bytes for any number of workers; run.json's
 * grouping counters may differ from run to run.
 */
export interface GroupRangeTask extends Task {
  kind: 'group-range';
  workDir: string;
  markers: SignatureMarker[];
  bases: number[];
  options: ResolvedDedupOptions;
  /** The grouping fingerprint (range markers). */
  fingerprint: string;
  index: number;
  range: BucketRange;
  /** Documents quarantined for a duplicate id. */
  excluded: number[];
  /** The run's union-find: its parent array, shared by every range task (SharedUnionFind). */
  uf: Uint32Array;
  /** The run's failed pairs (PairCache), shared by every range task. */
  failures: SharedArrayBuffer;
  /** The run's vector index (openStoreIndex), or null without verification. */
  store: StoreIndex | null;
  /** This worker's share of the vector cache. */
  cacheBytes: number;
}

/** Per thread: the store of the run being grouped (opened once for all its ranges). */
let threadStore: { key: string; store: VectorStore | null } | null = null;

/** The run's vector store on this thread (opened by its first task). */
function storeFor(task: { workDir: string; fingerprint: string; store: StoreIndex | null; cacheBytes: number }): VectorStore | null {
  const key = `${task.workDir}\0${task.fingerprint}`;
  if (threadStore?.key !== key) {
    threadStore?.store?.close();
    threadStore = { key, store: task.store && new VectorStore(task.store, task.cacheBytes) };
  }
  return threadStore.store;
}

/**
 * This thread's bucket table, kept from one range task to the next. A new one per task left the
 * last to the garbage collector, so a worker held two for a while (RSS spikes of a gigabyte at
 * 8M documents, when tables were hundreds of megabytes). Dropped when the thread moves on to
 * the cluster rule's tasks (releaseGroupingMemory).
 */
let threadTable: { table: BucketTable; bytes: number; links: string } | null = null;

/** This thread's bucket table for `records` records, cleared: the last one if it is large enough and not over four times too large (a table should stay in the caches). */
export function tableFor(records: number, links: GroupRangeTask['options']['links']): BucketTable {
  const bytes = BucketTable.bytesFor(records);
  if (threadTable && threadTable.links === links && threadTable.bytes >= bytes && threadTable.bytes <= 4 * bytes) {
    threadTable.table.clear();
    return threadTable.table;
  }
  threadTable = null; // unreachable before the next one is allocated
  const table = new BucketTable(records, links);
  threadTable = { table, bytes, links };
  return table;
}

/** Let the bucket table go: grouping is over on this thread. */
export function releaseGroupingMemory(): void {
  threadTable = null;
  threadHeaders = null;
}

export async function runGroupRange(task: GroupRangeTask): Promise<GroupStats> {
  const store = storeFor(task);
  const stats = emptyGroupStats();
  await processRange(task.index, task.range, {
    workDir: task.workDir,
    markers: task.markers,
    bases: task.bases,
    options: task.options,
    uf: new SharedUnionFind(task.uf),
    verify: makeVerifier(task.options, store),
    store,
    tableFor: (records) => tableFor(records, task.options.links),
    failures: new PairCache(task.failures),
    fingerprint: task.fingerprint,
    stats,
    excluded: new Set(task.excluded),
  });
  return stats;
}

/** Adds a range's counts into the run's. */
export function addGroupStats(into: GroupStats, from: GroupStats): void {
  for (const key of Object.keys(into) as (keyof GroupStats)[]) into[key] += from[key];
}

/** A task that reads the run's shingle sets (opened once per thread, storeFor). */
interface StoreTask extends Task {
  workDir: string;
  options: ResolvedDedupOptions;
  fingerprint: string;
  /** The run's vector index (openStoreIndex), or null without verification. */
  store: StoreIndex | null;
  cacheBytes: number;
}

/** |A ∩ B| of many pairs of shingle sets (the cluster rule's checks against each leader), on any thread. */
export interface IntersectPairsTask extends StoreTask {
  kind: 'intersect-pairs';
  /** Document pairs, interleaved. */
  pairs: Uint32Array;
}

export function runIntersectPairs(task: IntersectPairsTask): Uint32Array {
  const store = storeFor(task)!;
  const shared = new Uint32Array(task.pairs.length / 2);
  // In batches of pairs whose vectors are read together (VectorStore.pin), as grouping does.
  for (let start = 0; start < shared.length;) {
    let end = start;
    for (let elements = 0; end < shared.length && elements < store.pinElements; end++) elements += store.length(task.pairs[2 * end]) + store.length(task.pairs[2 * end + 1]);
    store.pinPairs(task.pairs.subarray(2 * start, 2 * end));
    for (let i = start; i < end; i++) {
      const a = task.pairs[2 * i];
      const b = task.pairs[2 * i + 1];
      shared[i] = store.length(a) === 0 || store.length(b) === 0 ? 0 : intersectionSize(store.get(a), store.get(b));
    }
    start = end;
  }
  store.unpin();
  return shared;
}

/** The cluster rule's search of a block's members among the kept before it (cover.ts decideInBlocks), on any thread. */
export interface FirstPassTask extends StoreTask, FirstPassQuery {
  kind: 'first-pass';
  /** Exact-text classes of `docs` and of `kept`. */
  docClasses: Uint32Array;
  keptClasses: Uint32Array;
}

/**
 * Per thread: the prefix index of the component last searched (kept-index.ts). A component's
 * kept list only grows, so the next block's task extends it instead of building it again.
 */
let threadKept: { key: string; kept: number; last: number; classes: Map<number, number>; index: KeptIndex } | null = null;

export function runFirstPass(task: FirstPassTask): FirstPasses {
  const store = storeFor(task);
  const judge = makePairJudge(task.options.verify, task.options.threshold, store);
  const key = `${task.workDir}\0${task.fingerprint}\0${task.leader}`;
  const reusable = threadKept?.key === key && threadKept.kept <= task.kept.length && (threadKept.kept === 0 || threadKept.last === task.kept[threadKept.kept - 1]);
  if (!reusable) {
    const classes = new Map<number, number>();
    const prefix = (doc: number) => jaccardPrefix(store!.get(doc), task.options.threshold);
    threadKept = { key, kept: 0, last: -1, classes, index: new KeptIndex(prefix, (doc) => classes.get(doc)!, { set: (doc) => store!.get(doc), threshold: task.options.threshold }) };
  }
  const state = threadKept!;
  task.docs.forEach((doc, q) => state.classes.set(doc, task.docClasses[q]));
  for (; state.kept < task.kept.length; state.kept++) {
    state.classes.set(task.kept[state.kept], task.keptClasses[state.kept]);
    if (store && task.options.verify === 'exact') state.index.add(task.kept[state.kept], state.kept);
    state.last = task.kept[state.kept];
  }
  return searchKept(task, (a, b) => judge(a, b, state.classes.get(a) === state.classes.get(b), false), store && task.options.verify === 'exact' ? state.index : null);
}
