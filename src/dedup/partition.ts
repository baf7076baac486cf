/**
 * The partitioned external group-by behind LSH bucketing (SPEC §2 near dedup, §7 bounded
 * memory). Band keys never have to fit in memory at once:
 *
 *  1. Map (per input shard): every (bandKey, doc) record — 64-bit key as two u32, plus the
 *     shard-local document index — is appended to a buffer; when the buffer holds a segment's
 *     worth, it is counting-sorted by the key's top FINE_BUCKET_BITS bits (stable, so documents
 *     stay in input order within a bucket) and written to the shard's band file as one
 *     segment: a header with the 4097 bucket start offsets, then the records.
 *  2. Reduce (per range of fine buckets): a contiguous run of buckets whose record total fits
 *     the memory budget is read from every segment of every shard (one contiguous read per
 *     segment), in shard order, and grouped in memory by a hash table (bucket-table.ts).
 *
 * Why hand-written rather than an embedded engine (DuckDB, SQLite): the group-by needs no
 * general sort — a hash partition plus an in-memory hash table per partition is linear and
 * about 150 lines here; it streams records in input order, which is what makes bucket
 * chains deterministic without sorting; it adds no native dependency (none is installed, the
 * browser build could not load one, and the issue forbids new installs without asking); and
 * the partition files double as the resumable, rank-splittable intermediates of the run.
 * An engine would win for ad-hoc multi-key sorts or joins, which this phase does not need.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { invariant } from '../errors.js';

export const FINE_BUCKET_BITS = 12;
export const FINE_BUCKETS = 1 << FINE_BUCKET_BITS;
/** u32 words per record: key high, key low, document. */
export const RECORD_WORDS = 3;
const MAGIC = 0x4b424d54; // "TMBK"
const HEADER_WORDS = 2 + FINE_BUCKETS + 1;
/** Records per segment (12 MiB of records): bounds the map phase's buffer. */
export const DEFAULT_SEGMENT_RECORDS = 1 << 20;

/** Fine bucket of a key: its top bits (keys are uniformly mixed hashes). */
export function fineBucket(keyHi: number): number {
  return keyHi >>> (32 - FINE_BUCKET_BITS);
}

export interface BandFileSummary {
  /** Byte offset of every segment in the file. */
  segments: number[];
  /** Records per fine bucket, summed over segments. */
  bucketCounts: number[];
  records: number;
}

/** Appends records to one band file, segment by segment (synchronous writes). */
export class BandRecordWriter {
  private buffer: Uint32Array;
  private out = new Uint32Array(0);
  private used = 0;
  private readonly fd: number;
  private position = 0;
  private readonly segments: number[] = [];
  private readonly bucketCounts = new Float64Array(FINE_BUCKETS);
  private records = 0;

  constructor(path: string, private readonly segmentRecords = DEFAULT_SEGMENT_RECORDS) {
    this.buffer = new Uint32Array(segmentRecords * RECORD_WORDS);
    this.fd = openSync(path, 'w');
  }

  add(keyHi: number, keyLo: number, doc: number): void {
    if (this.used === this.segmentRecords) this.flush();
    const at = this.used * RECORD_WORDS;
    this.buffer[at] = keyHi;
    this.buffer[at + 1] = keyLo;
    this.buffer[at + 2] = doc;
    this.used++;
  }

  /** Write the buffered records as one segment, counting-sorted by fine bucket. */
  private flush(): void {
    const count = this.used;
    if (count === 0) return;
    const starts = new Uint32Array(FINE_BUCKETS + 1);
    for (let i = 0; i < count; i++) starts[fineBucket(this.buffer[i * RECORD_WORDS]) + 1]++;
    for (let b = 0; b < FINE_BUCKETS; b++) {
      this.bucketCounts[b] += starts[b + 1];
      starts[b + 1] += starts[b];
    }
    // One output buffer per writer, reused: a fresh one per segment cost its zeroing and page faults.
    if (this.out.length < HEADER_WORDS + count * RECORD_WORDS) this.out = new Uint32Array(HEADER_WORDS + this.segmentRecords * RECORD_WORDS);
    const out = this.out;
    out[0] = MAGIC;
    out[1] = count;
    out.set(starts, 2);
    const next = starts.slice(0, FINE_BUCKETS);
    for (let i = 0; i < count; i++) {
      const from = i * RECORD_WORDS;
      const to = HEADER_WORDS + next[fineBucket(this.buffer[from])]++ * RECORD_WORDS;
      out[to] = this.buffer[from];
      out[to + 1] = this.buffer[from + 1];
      out[to + 2] = this.buffer[from + 2];
    }
    const bytes = new Uint8Array(out.buffer, 0, 4 * (HEADER_WORDS + count * RECORD_WORDS));
    let written = 0;
    while (written < bytes.length) written += writeSync(this.fd, bytes, written, bytes.length - written, this.position + written);
    this.segments.push(this.position);
    this.position += bytes.length;
    this.records += count;
    this.used = 0;
  }

  close(): BandFileSummary {
    this.flush();
    closeSync(this.fd);
    this.buffer = new Uint32Array(0);
    this.out = new Uint32Array(0);
    return { segments: this.segments, bucketCounts: Array.from(this.bucketCounts), records: this.records };
  }
}

/** Fills `target` with `fd`'s bytes from `position` on; a file that ends first throws `ended(at)` (default: a band file's invariant). */
export function readExactly(fd: number, target: Uint8Array, position: number, ended?: (at: number) => Error): void {
  let done = 0;
  while (done < target.length) {
    const n = readSync(fd, target, done, target.length - done, position + done);
    if (n === 0 && ended) throw ended(position + done);
    invariant(n > 0, `band file ended early at byte ${position + done}`);
    done += n;
  }
}

/** The header of the segment at `segmentOffset`: where each fine bucket's records start. */
export function readSegmentHeader(fd: number, segmentOffset: number): Uint32Array {
  const header = new Uint32Array(HEADER_WORDS);
  readExactly(fd, new Uint8Array(header.buffer), segmentOffset);
  invariant(header[0] === MAGIC, `bad band segment at byte ${segmentOffset}`);
  return header;
}

/**
 * Records of fine buckets [firstBucket, endBucket) of the segment at `segmentOffset`, given its
 * header (readSegmentHeader) or reading it.
 */
export function readSegmentRange(fd: number, segmentOffset: number, firstBucket: number, endBucket: number, header = readSegmentHeader(fd, segmentOffset)): Uint32Array {
  const start = header[2 + firstBucket];
  const end = header[2 + endBucket];
  const records = new Uint32Array((end - start) * RECORD_WORDS);
  readExactly(fd, new Uint8Array(records.buffer), segmentOffset + (HEADER_WORDS + start * RECORD_WORDS) * 4);
  return records;
}

export interface BucketRange {
  /** First fine bucket (inclusive). */
  start: number;
  /** Last fine bucket (exclusive). */
  end: number;
  records: number;
}

/**
 * Cut the fine buckets into contiguous ranges of at most `maxRecords` records each (a single
 * bucket larger than that becomes a range of its own). Pure, deterministic.
 */
export function planBucketRanges(bucketCounts: ArrayLike<number>, maxRecords: number): BucketRange[] {
  invariant(maxRecords >= 1, 'maxRecords must be positive');
  const ranges: BucketRange[] = [];
  let start = 0;
  let records = 0;
  for (let b = 0; b < bucketCounts.length; b++) {
    const count = bucketCounts[b];
    if (b > start && records + count > maxRecords) {
      ranges.push({ start, end: b, records });
      start = b;
      records = 0;
    }
    records += count;
  }
  if (records > 0 || ranges.length === 0) ranges.push({ start, end: bucketCounts.length, records });
  return ranges;
}
