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
 * Open addressing (linear probing) on one typed array: 16 bytes per slot, its four words side
 * by side (first member, last member, key high, key low), so a probe touches one cache line.
 * Capacity is a power of two at least twice the records it may see, so memory is known before
 * the range is read. (Four arrays, one per word, cost up to four cache misses per record once
 * the table outgrew the caches: 1M documents, 19M records.)
 */
export class BucketTable {
  private readonly mask: number;
  /** Per slot: first (EMPTY when free), last, keyHi, keyLo. */
  private readonly slots: Uint32Array;
  private used = 0;

  constructor(maxRecords: number, private readonly links: BucketLinks = 'star-chain') {
    const capacity = BucketTable.bytesFor(maxRecords) / 16;
    this.mask = capacity - 1;
    this.slots = new Uint32Array(4 * capacity).fill(EMPTY);
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
    const slots = this.slots;
    // Exact buckets live in their own key space: flip a bit of the probe key.
    const lo = exact ? (keyLo ^ 0x80000000) >>> 0 : keyLo;
    let slot = (lo ^ Math.imul(keyHi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const at = 4 * slot;
      const first = slots[at];
      if (first === EMPTY) {
        invariant(this.used <= this.mask >>> 1, 'bucket table over capacity');
        slots[at] = doc;
        slots[at + 1] = doc;
        slots[at + 2] = keyHi;
        slots[at + 3] = lo;
        this.used++;
        return;
      }
      if (slots[at + 2] === keyHi && slots[at + 3] === lo) {
        const previous = slots[at + 1];
        invariant(doc > previous, 'bucket members must arrive in increasing document order');
        if (exact || this.links === 'chain') emit(previous, doc, exact);
        else {
          emit(first, doc, exact);
          if (this.links === 'star-chain' && previous !== first) emit(previous, doc, exact);
        }
        slots[at + 1] = doc;
        return;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  /** Forget every bucket (to reuse the memory for the next range). */
  clear(): void {
    if (this.used > 0) this.slots.fill(EMPTY);
    this.used = 0;
  }
}
