/**
 * How a dedup run fits in `--memory-mb` (issue 9: peak memory under the budget at any corpus
 * size the budget can hold).
 *
 * The budget is the process's: every thread's heap and every buffer. What the run cannot
 * shrink is reserved first — a base per thread (module code, a working heap) and a few arrays
 * with one entry per document on the main thread (the union-find, the vector index, the cluster
 * pass's arrays). What is left goes to the two things that can shrink: the vector caches of the
 * threads that verify, and the grouping tables (one per grouping worker, with its range's
 * reads; grouping on the main thread gets a quarter, as its table may outlive grouping as garbage). A smaller table means more, smaller bucket ranges, not different outputs. When even
 * the smallest table does not fit, the run stops before grouping with a message saying what
 * it needs.
 *
 * The constants are measured (bench/README "Memory"): RSS of the main thread with its idle
 * workers when grouping starts, a grouping worker's heap, and the main thread's arrays per
 * document through the cluster pass.
 */
import { TokenmixError } from '../errors.js';
import { BucketTable } from './bucket-table.js';
import { RECORD_WORDS } from './partition.js';
import { VECTOR_CACHE_BYTES } from './set-store.js';

const MiB = 2 ** 20;
/** The main thread's own base: Node, the modules, its heap between phases. */
export const MAIN_THREAD_BYTES = 192 * MiB;
/** Each worker thread's base and working heap (a grouping worker's heap stays under ~90 MB). */
export const WORKER_THREAD_BYTES = 96 * MiB;
/**
 * The main thread's memory per document through the cluster pass: the union-find (4), the
 * vector index (8), the cluster pass's arrays (~25, 8 more with `--keep best-quality`), its
 * per-clustered-document data, and what the allocator keeps. Peak RSS grew by 64 bytes per
 * document from 1M to 8M documents (bench/README "Memory"); 72 leaves room.
 */
export const DOCUMENT_BYTES = 72;
/** What the cluster pass's arrays add per document after grouping. */
export const CLUSTER_PASS_BYTES = 24;
/** Records of the smallest range a run plans (a table of 2^16 slots, 1.4 MiB with its reads): below it, ask for more memory. */
const MIN_RANGE_RECORDS = 2 ** 15;
/**
 * Records of the largest range a run plans, however much memory it has (its reads: 3 MiB). It
 * was set when one table served a whole range, to keep that table (2^19 slots, 8 MiB) in the
 * caches: 200k documents, grouping on one thread, 1.76 s with 2 ranges, 1.31 s with 15. Grouping
 * now goes fine bucket by fine bucket in a smaller table (group-phase.ts processRange).
 */
export const MAX_RANGE_RECORDS = 2 ** 18;

/** The default budget: 512 MiB per worker, at least 1 GiB. */
export function defaultMemoryBytes(workers: number): number {
  return Math.max(1024, 512 * workers) * MiB;
}

/**
 * The budget of a run without `--memory-mb`: the default, or, for a corpus whose per-document
 * arrays do not leave it 256 MiB of tables and caches, what does.
 */
export function runMemoryBytes(documents: number, workers: number): number {
  return Math.max(defaultMemoryBytes(workers), reservedBytes(documents, workers) + 256 * MiB);
}

function reservedBytes(documents: number, workers: number): number {
  // With one worker the main thread does the worker's work as well.
  return MAIN_THREAD_BYTES + workers * WORKER_THREAD_BYTES + documents * DOCUMENT_BYTES;
}

export interface DedupMemoryPlan {
  /** Records per bucket range: a table of twice as many slots (load ≤ 1/2) plus the range's reads fit `tableBytes`. */
  rangeRecords: number;
  /** One grouping thread's table and range reads, bytes. */
  tableBytes: number;
  /** Each vector store's cache, bytes (every worker's store and the main thread's). */
  cacheBytes: number;
  /** What the plan set aside for the threads and the per-document arrays, bytes. */
  reservedBytes: number;
  /**
   * What the shingle sets may take when they are read once into memory every thread shares (the
   * threads' caches then go unused): three quarters of what the grouping tables leave.
   */
  sharedBytes: number;
}

/** Bytes of a table with room for `records` records, plus their reads. */
export function groupingBytes(records: number): number {
  return BucketTable.bytesFor(records) + records * RECORD_WORDS * 4;
}

/**
 * Plans a run of `documents` documents on `workers` threads (1: everything on the main thread),
 * `groupThreads` of them grouping at once, within `memoryBytes`.
 */
export function planDedupMemory(memoryBytes: number, documents: number, workers: number, groupThreads: number): DedupMemoryPlan {
  const reserved = reservedBytes(documents, workers);
  const free = memoryBytes - reserved;
  // A quarter of what is free for the caches (at most the default), the rest for the tables.
  const cacheTotal = Math.max(0, Math.min(VECTOR_CACHE_BYTES, Math.floor(free / 4)));
  const stores = workers > 1 ? workers + 1 : 1;
  // A worker's table goes with the worker; one on the main thread may still be garbage there
  // while the cluster pass allocates, so it gets a quarter (1M documents, one worker: peak RSS
  // 889–915 MiB with half, 829–834 with a quarter, the same wall time).
  const shares = groupThreads === 1 ? 4 : groupThreads;
  const tableBytes = Math.floor((free - cacheTotal) / shares);
  if (groupingBytes(MIN_RANGE_RECORDS) > tableBytes) {
    const needed = reserved + Math.ceil(groupingBytes(MIN_RANGE_RECORDS) * shares * 4 / 3);
    throw new TokenmixError(
      `--memory-mb ${Math.floor(memoryBytes / MiB)} is too small for ${documents} documents on ${workers} worker${workers === 1 ? '' : 's'}: `
      + `the threads and per-document arrays need ${Math.ceil(reserved / MiB)} MiB before any grouping table; `
      + `raise --memory-mb to at least ${Math.ceil(needed / MiB)}${workers > 1 ? ' or lower --workers' : ''} (a rerun reuses the signatures)`,
    );
  }
  let rangeRecords = MIN_RANGE_RECORDS;
  while (rangeRecords < MAX_RANGE_RECORDS && groupingBytes(2 * rangeRecords) <= tableBytes) rangeRecords *= 2;
  const planned = groupingBytes(rangeRecords);
  const sharedBytes = Math.max(stores * Math.floor(cacheTotal / stores), Math.floor(((free - shares * planned) * 3) / 4));
  return { rangeRecords, tableBytes: planned, cacheBytes: Math.floor(cacheTotal / stores), reservedBytes: reserved, sharedBytes };
}
