/**
 * Random access to per-document u32 vectors written shard by shard (shingle sets for exact
 * verification, or signatures for `--verify signature`), with a byte-bounded cache.
 *
 * On disk, shard s has a values file (vectors concatenated in document order). In memory the
 * run keeps one index (StoreIndex): each document's byte offset in the values files laid end to
 * end, 8 bytes per document (64 MB at 8M documents), in a SharedArrayBuffer that every thread's
 * store reads, so workers that verify add no per-document memory of their own. A store opens
 * files on demand and caches recently read vectors (FIFO) up to a byte budget.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { invariant } from '../errors.js';

export interface StoreShard {
  /** Path of the values file. */
  path: string;
  /** Length of each document's vector, in document order. */
  lengths: Uint32Array;
}

/** Where every document's vector is: plain data, passed to worker tasks (the offsets are shared, not copied). */
export interface StoreIndex {
  /** Values file of each shard. */
  paths: string[];
  /** First global document index of each shard, plus the total at the end. */
  bases: number[];
  /** starts[doc] = byte offset of global document `doc` in the values files laid end to end; starts[total] = their total size. On a SharedArrayBuffer. */
  starts: Float64Array;
  /** Every values file laid end to end, when they fit the run's cache budget (loadStoreValues); on a SharedArrayBuffer every thread reads. */
  values?: Uint32Array;
}

/** Builds the index of the shards' vectors (the lengths are not kept). */
export function storeIndex(shards: StoreShard[]): StoreIndex {
  const bases = [0];
  for (const shard of shards) bases.push(bases[bases.length - 1] + shard.lengths.length);
  const total = bases[bases.length - 1];
  const starts = new Float64Array(new SharedArrayBuffer(8 * (total + 1)));
  let offset = 0;
  shards.forEach((shard, s) => {
    for (let i = 0; i < shard.lengths.length; i++) {
      starts[bases[s] + i] = offset;
      offset += shard.lengths[i] * 4;
    }
  });
  starts[total] = offset;
  return { paths: shards.map((shard) => shard.path), bases, starts };
}

/** Reads of loadStoreValues: files are read in pieces of this size, so many files share the threads. */
const LOAD_CHUNK_BYTES = 8 << 20;

/**
 * Reads every values file into one SharedArrayBuffer when together they fit `budgetBytes`
 * (the caches' whole budget): each thread's store then hands out views of it, with no read,
 * copy or allocation per vector, and the vectors are in memory once rather than once per
 * thread's cache. Reads are asynchronous, so the calling thread can start them while workers
 * still run the id check. Resolves to whether it loaded them.
 */
export async function loadStoreValues(index: StoreIndex, budgetBytes: number): Promise<boolean> {
  const total = index.starts[index.starts.length - 1];
  if (total > budgetBytes) return false;
  const values = new Uint8Array(new SharedArrayBuffer(total));
  // Every file at once: libuv's threads read them (and fault their pages in) in parallel.
  await Promise.all(index.paths.map(async (path, shard) => {
    const start = index.starts[index.bases[shard]];
    const end = index.starts[index.bases[shard + 1]];
    if (end === start) return;
    const handle = await open(path, 'r');
    try {
      for (let done = start; done < end;) {
        const { bytesRead } = await handle.read(values, done, Math.min(end - done, LOAD_CHUNK_BYTES), done - start);
        invariant(bytesRead > 0, `vector file ${path} ended early`);
        done += bytesRead;
      }
    } finally {
      await handle.close();
    }
  }));
  index.values = new Uint32Array(values.buffer);
  return true;
}

const MAX_OPEN_FILES = 64;
/** Documents of one shard at most this far apart are pinned by one read (1M documents, grouping with 2 workers: gaps of 0, 1, 4 and 16 KiB took 4.1, 3.8, 4.1 and 4.7 s; one read per vector 5.7 s). */
const PIN_GAP_BYTES = 1024;
/** Default byte budget of the vector cache (shared among workers when several verify). */
export const VECTOR_CACHE_BYTES = 256 * 2 ** 20;
/** Rough heap cost of a cached typed array besides its elements (object, buffer, Map entry). */
const VECTOR_OVERHEAD_BYTES = 160;

export class VectorStore {
  /** First global document index of each shard, plus the total at the end. */
  readonly bases: number[];
  private readonly starts: Float64Array;
  private readonly paths: string[];
  private readonly values: Uint32Array | undefined;
  private readonly open = new Map<number, number>();
  private readonly cache = new Map<number, Uint32Array>();
  /**
   * Cached documents in insertion order (FIFO eviction). Not `cache.entries().next()`: V8
   * keeps deleted Map entries as holes until a rehash, so taking the first entry of a Map
   * that keeps losing its first entries scans all the holes each time (quadratic; it made
   * grouping 10M documents ~40× slower than 1M).
   */
  private order: number[] = [];
  private orderHead = 0;
  private cachedBytes = 0;
  /** Vectors read by pin(), views of pinBuffer, served until the next pin or unpin. */
  private pinned: Map<number, Uint32Array> | null = null;
  private pinBuffer = new Uint8Array(0);
  reads = 0;

  constructor(index: StoreIndex, private readonly cacheBytes = VECTOR_CACHE_BYTES) {
    this.bases = index.bases;
    this.starts = index.starts;
    this.paths = index.paths;
    this.values = index.values;
  }

  get documents(): number {
    return this.starts.length - 1;
  }

  /** Length of a document's vector without reading it. */
  length(doc: number): number {
    return (this.starts[doc + 1] - this.starts[doc]) / 4;
  }

  private shardOf(doc: number): number {
    let lo = 0;
    let hi = this.paths.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.bases[mid] <= doc) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private fd(shard: number): number {
    let fd = this.open.get(shard);
    if (fd !== undefined) return fd;
    if (this.open.size >= MAX_OPEN_FILES) {
      const [oldest, oldFd] = this.open.entries().next().value as [number, number];
      closeSync(oldFd);
      this.open.delete(oldest);
    }
    fd = openSync(this.paths[shard], 'r');
    this.open.set(shard, fd);
    return fd;
  }

  /** `length` bytes of shard `shard`'s values file, from byte `from` of all files laid end to end, into `into` at `at`. */
  private readSpan(shard: number, from: number, into: Uint8Array, at: number, length: number, doc: number): void {
    const fd = this.fd(shard);
    const position = from - this.starts[this.bases[shard]];
    for (let done = 0; done < length;) {
      const n = readSync(fd, into, at + done, length - done, position + done);
      invariant(n > 0, `vector file ended early (document ${doc})`);
      done += n;
    }
    this.reads++;
  }

  /** Elements of vectors to pin at once: half the cache's budget in u32s (grouping reads through pins, not the cache), at least 1 MiB's. */
  get pinElements(): number {
    return Math.max(1 << 18, Math.floor(this.cacheBytes / 8));
  }

  /** pin() the documents of `pairs` (a, b, a, b, …); nothing to do when the values are in shared memory. */
  pinPairs(pairs: Uint32Array): void {
    if (!this.values) this.pin(pairs.slice().sort());
  }

  /**
   * Reads the vectors of `docs` (ascending, duplicates allowed) for the verifications about to
   * run: documents of one shard closer than PIN_GAP_BYTES are read together, so a batch of
   * candidate pairs costs a few large reads instead of one per vector (1M documents: 340k
   * verified pairs, ~4 µs a vector read one by one). `get` serves them until unpin() or the
   * next pin; they are not added to the cache. A no-op when the values are in shared memory.
   */
  pin(docs: ArrayLike<number>): void {
    this.pinned = null;
    if (this.values || docs.length === 0) return;
    const spans: number[] = []; // first doc index, last doc index (in docs), shard
    let total = 0;
    for (let i = 0; i < docs.length;) {
      const shard = this.shardOf(docs[i]);
      const shardEnd = this.bases[shard + 1];
      let j = i;
      while (j + 1 < docs.length && docs[j + 1] < shardEnd && this.starts[docs[j + 1]] - this.starts[docs[j] + 1] <= PIN_GAP_BYTES) j++;
      spans.push(i, j, shard);
      total += this.starts[docs[j] + 1] - this.starts[docs[i]];
      i = j + 1;
    }
    if (this.pinBuffer.length < total) this.pinBuffer = new Uint8Array(Math.max(total, 2 * this.pinBuffer.length));
    const buffer = this.pinBuffer;
    const pinned = new Map<number, Uint32Array>();
    let at = 0;
    for (let k = 0; k < spans.length; k += 3) {
      const [i, j, shard] = [spans[k], spans[k + 1], spans[k + 2]];
      const from = this.starts[docs[i]];
      const to = this.starts[docs[j] + 1];
      this.readSpan(shard, from, buffer, at, to - from, docs[i]);
      for (let d = i; d <= j; d++) {
        const doc = docs[d];
        pinned.set(doc, new Uint32Array(buffer.buffer, at + this.starts[doc] - from, (this.starts[doc + 1] - this.starts[doc]) / 4));
      }
      at += to - from;
    }
    this.pinned = pinned;
  }

  unpin(): void {
    this.pinned = null;
  }

  /** The vector of global document `doc` (a cached copy: do not modify). */
  get(doc: number): Uint32Array {
    if (this.values) return this.values.subarray(this.starts[doc] / 4, this.starts[doc + 1] / 4);
    const pin = this.pinned?.get(doc);
    if (pin) return pin;
    const hit = this.cache.get(doc);
    if (hit) return hit;
    const vector = new Uint32Array(this.length(doc));
    if (vector.length > 0) {
      const bytes = new Uint8Array(vector.buffer);
      this.readSpan(this.shardOf(doc), this.starts[doc], bytes, 0, bytes.length, doc);
    }
    this.cache.set(doc, vector);
    this.order.push(doc);
    // Count a per-vector overhead so many tiny vectors cannot exceed the budget in practice.
    this.cachedBytes += vector.byteLength + VECTOR_OVERHEAD_BYTES;
    while (this.cachedBytes > this.cacheBytes && this.cache.size > 1) {
      const oldest = this.order[this.orderHead++];
      const old = this.cache.get(oldest)!;
      this.cache.delete(oldest);
      this.cachedBytes -= old.byteLength + VECTOR_OVERHEAD_BYTES;
    }
    if (this.orderHead > 1 << 16 && this.orderHead * 2 > this.order.length) {
      this.order = this.order.slice(this.orderHead);
      this.orderHead = 0;
    }
    return vector;
  }

  close(): void {
    this.pinned = null;
    this.pinBuffer = new Uint8Array(0);
    for (const fd of this.open.values()) closeSync(fd);
    this.open.clear();
    this.cache.clear();
    this.order = [];
    this.orderHead = 0;
    this.cachedBytes = 0;
  }
}
