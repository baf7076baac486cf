/**
 * Groups (bandKey, doc) records into buckets and turns each bucket into candidate edges
 * without ever materialising a bucket's member list (SPEC §2 "candidate pairs").
 *
 * Records arrive in input order within a key (partition.ts keeps them so), so a bucket's
 * members are seen in increasing document index. The table keeps only a bucket's first and
 * most recent member; each arriving member m emits at most two edges:
 *   star:  (first, m)   — every member against the bucket's first;
 *   chain: (previous, m) — consecutive members.
 * A bucket of n members yields at most 2(n − 1) edges: O(n), never n(n−1)/2 pairs.
 *
 * Why both (the default `star-chain`): candidates are verified before they become edges, so
 * a bucket's true pairs must stay connected through verified links. Chain alone loses a true
 * pair (a, c) when the member b between them is dissimilar to both; star alone loses pairs
 * whose first member is the odd one out. With both, such a pair is lost only when the first
 * member and the intervening member both fail — and every other band gets another chance.
 * test/dedup and bench/dedup-quality.ts measure the three choices.
 */
import { invariant } from '../errors.js';

export type BucketLinks = 'star-chain' | 'chain' | 'star';
export const BUCKET_LINKS: readonly BucketLinks[] = ['star-chain', 'chain', 'star'];

const EMPTY = 0xffffffff;

/** Called with a < b (document indices) and whether the bucket is an exact-text bucket. */
export type EdgeSink = (a: number, b: number, exact: boolean) => void;

/**
 * Open addressing (linear probing) on typed arrays: 16 bytes per slot, capacity a power of
 * two at least twice the records it may see, so memory is known before the range is read.
 */
export class BucketTable {
  private readonly mask: number;
  private readonly keyHi: Uint32Array;
  private readonly keyLo: Uint32Array;
  private readonly first: Uint32Array;
  private readonly last: Uint32Array;
  private used = 0;

  constructor(maxRecords: number, private readonly links: BucketLinks = 'star-chain') {
    let capacity = 16;
    while (capacity < 2 * maxRecords) capacity *= 2;
    this.mask = capacity - 1;
    this.keyHi = new Uint32Array(capacity);
    this.keyLo = new Uint32Array(capacity);
    this.first = new Uint32Array(capacity).fill(EMPTY);
    this.last = new Uint32Array(capacity);
  }

  /** Bytes a table for `maxRecords` records occupies (for memory planning). */
  static bytesFor(maxRecords: number): number {
    let capacity = 16;
    while (capacity < 2 * maxRecords) capacity *= 2;
    return capacity * 16;
  }

  /**
   * Add one member to the bucket of (keyHi, keyLo, exact). Documents of one key must come in
   * increasing order. Exact-text buckets always chain: their members are identical texts.
   */
  add(keyHi: number, keyLo: number, doc: number, exact: boolean, emit: EdgeSink): void {
    // Exact buckets live in their own key space: flip a bit of the probe key.
    const lo = exact ? (keyLo ^ 0x80000000) >>> 0 : keyLo;
    let slot = (lo ^ Math.imul(keyHi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const first = this.first[slot];
      if (first === EMPTY) {
        invariant(this.used <= this.mask >>> 1, 'bucket table over capacity');
        this.keyHi[slot] = keyHi;
        this.keyLo[slot] = lo;
        this.first[slot] = doc;
        this.last[slot] = doc;
        this.used++;
        return;
      }
      if (this.keyHi[slot] === keyHi && this.keyLo[slot] === lo) {
        const previous = this.last[slot];
        invariant(doc > previous, 'bucket members must arrive in increasing document order');
        if (exact || this.links === 'chain') emit(previous, doc, exact);
        else {
          emit(first, doc, exact);
          if (this.links === 'star-chain' && previous !== first) emit(previous, doc, exact);
        }
        this.last[slot] = doc;
        return;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  /** Forget every bucket (to reuse the memory for the next range). */
  clear(): void {
    this.first.fill(EMPTY);
    this.used = 0;
  }
}
