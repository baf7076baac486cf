/**
 * The kept members of one component that a new member could be a near duplicate of, found
 * without comparing against every kept member (cover.ts; issue 10's cost bound).
 *
 * Prefix filtering (AllPairs, Bayardo et al. 2007): order every set's elements by one global
 * order (here the u32 shingle hash, the order the sets are stored in). If J(x, y) >= T then
 * |x ∩ y| >= T·max(|x|, |y|), so x and y share an element among x's first
 * |x| − ⌈T·|x|⌉ + 1 and y's first |y| − ⌈T·|y|⌉ + 1 elements. The index maps each prefix
 * element of every kept member to it; a new member's candidates are the kept members that
 * share one of its prefix elements, or its exact-text class (exact duplicates pass whatever
 * their shingle sets). No pair at J >= T is missed, so cover's decisions are exactly those of
 * checking every kept member, at a cost that follows overlap instead of the number kept.
 * Memory: one entry per prefix element of the component's kept members (about (1 − T) of
 * their shingles), dropped when the component is done.
 */

/** The first |x| − ⌈T·|x|⌉ + 1 elements of a sorted set x (empty for an empty set). */
export function jaccardPrefix(set: Uint32Array, threshold: number): Uint32Array {
  if (set.length === 0) return set;
  // Overlap needed with any set at J >= T, on the verifier's integer criterion (−1e-9).
  const overlap = Math.max(1, Math.ceil(threshold * set.length - 1e-9));
  return set.subarray(0, set.length - overlap + 1);
}

/** Words of a set's bitmap (2048 bits: element e sets bit e mod 2048). */
const BITMAP_WORDS = 64;

/** The bitmap of a sorted set (BitmapBound) into `into` at word `at` (a new one by default). */
function setBitmap(set: Uint32Array, into = new Uint32Array(BITMAP_WORDS), at = 0): Uint32Array {
  into.fill(0, at, at + BITMAP_WORDS);
  for (let i = 0; i < set.length; i++) {
    const bit = set[i] & 2047;
    into[at + (bit >>> 5)] |= 1 << (bit & 31);
  }
  return into;
}

/**
 * Whether two sets of sizes `sizeA`, `sizeB` whose bitmaps are `a` (at word `atA`) and `b`
 * (at `atB`) may pass the verifier at `threshold` (shared >= T · union − 1e-9): false only when
 * the bitmap bound on |A ∩ B| rules it out.
 */
function bitmapMayPass(a: Uint32Array, atA: number, sizeA: number, b: Uint32Array, atB: number, sizeB: number, threshold: number): boolean {
  // The bound only falls as differing bits are counted, so the count stops as soon as it rules
  // the pair out (checked every eight words): most candidates fail within the first third.
  const floor = threshold * (sizeA + sizeB) - 1e-9;
  let differ = 0;
  for (let w = 0; w < BITMAP_WORDS; w += 8) {
    for (let k = w; k < w + 8; k++) differ += popcount(a[atA + k] ^ b[atB + k]);
    if (Math.floor((sizeA + sizeB - differ) / 2) * (1 + threshold) < floor) return false;
  }
  return true;
}

/** Bits set in a u32. */
function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * The bitmap bound (an exact filter after the prefix filter): a bit set in one set's bitmap and
 * not in the other's stands for at least one element of one set missing from the other, each
 * bit for different elements, so |x ∩ y| <= (|x| + |y| − popcount(bx XOR by)) / 2. A candidate
 * whose bound is below the verifier's criterion cannot pass and is never checked; at ~700
 * shingles a set this rules out pairs up to J ≈ 0.7 for a third of a merge's cost.
 */
export interface BitmapBound {
  /** A document's sorted shingle set. */
  set: (doc: number) => Uint32Array;
  threshold: number;
}

/**
 * The prefix lists' length, in entries per kept member from `from` on, past which
 * `candidatesFrom` checks every kept member with the bitmap bound instead of walking them.
 */
const DIRECT_SCAN_RATIO = 4;

export class KeptIndex {
  private readonly byElement = new Map<number, number[]>();
  private readonly byClass = new Map<number, number>();
  /** Generation stamps per kept position (dedupe candidates without sorting duplicates). */
  private seen = new Uint32Array(64);
  private generation = 0;
  /** One more than the largest position indexed. */
  private kept = 0;
  /** Queries answered by checking every kept member with the bound (DIRECT_SCAN_RATIO). */
  directScans = 0;

  /** With a bound: each kept position's bitmap and set size. */
  private bitmaps = new Uint32Array(0);
  private sizes = new Uint32Array(0);
  private readonly query = new Uint32Array(BITMAP_WORDS);

  constructor(
    private readonly prefix: (doc: number) => Uint32Array,
    /** A document's exact-text class. */
    private readonly classOf: (doc: number) => number,
    /** Candidates are also filtered by their sets' bitmaps (BitmapBound), when given. */
    private readonly bound: BitmapBound | null = null,
  ) {}

  clear(): void {
    this.byElement.clear();
    this.byClass.clear();
    this.seen.fill(0);
    this.generation = 0;
    this.kept = 0;
  }

  /** Whether kept position `position` may pass with the query (its bitmap in `this.query`, `size` elements). */
  private mayPass(position: number, size: number): boolean {
    return bitmapMayPass(this.query, 0, size, this.bitmaps, position * BITMAP_WORDS, this.sizes[position], this.bound!.threshold);
  }

  /** Index kept document `doc`, the `position`-th kept member of its component. */
  add(doc: number, position: number): void {
    this.kept = Math.max(this.kept, position + 1);
    if (this.bound) {
      if (this.sizes.length <= position) {
        const grown = Math.max(2 * this.sizes.length, position + 1, 16);
        const sizes = new Uint32Array(grown);
        sizes.set(this.sizes);
        this.sizes = sizes;
        const bitmaps = new Uint32Array(grown * BITMAP_WORDS);
        bitmaps.set(this.bitmaps);
        this.bitmaps = bitmaps;
      }
      const set = this.bound.set(doc);
      this.sizes[position] = set.length;
      setBitmap(set, this.bitmaps, position * BITMAP_WORDS);
    }
    for (const element of this.prefix(doc)) {
      const list = this.byElement.get(element);
      if (list) list.push(position);
      else this.byElement.set(element, [position]);
    }
    const exactClass = this.classOf(doc);
    if (!this.byClass.has(exactClass)) this.byClass.set(exactClass, position);
  }

  /**
   * Positions (from position `from` on) of the kept members that may pass with `doc`,
   * ascending, without duplicates. Positions are indexed in increasing order, so each
   * element's list is read from its end down to `from` only.
   */
  candidatesFrom(doc: number, from: number): number[] {
    // A kept member shares many prefix elements with a similar document: mark, then sort the few.
    const generation = ++this.generation;
    const found: number[] = [];
    if (this.seen.length < this.kept) {
      const grown = new Uint32Array(Math.max(2 * this.seen.length, this.kept));
      grown.set(this.seen);
      this.seen = grown;
    }
    const seen = this.seen;
    const same = this.byClass.get(this.classOf(doc));
    if (same !== undefined && same >= from) {
      seen[same] = generation;
      found.push(same);
    }
    let size = 0;
    if (this.bound) {
      const set = this.bound.set(doc);
      size = set.length;
      setBitmap(set, this.query);
    }
    const prefix = this.prefix(doc);
    if (this.bound) {
      // Where the query's prefix lists name each kept member many times over (a large family of
      // near-identical texts shares its smallest shingles), checking every kept member from
      // `from` on with the bound is cheaper than the walk, and as exact: any member that passes
      // passes the bound. Its extra candidates share no prefix element, so they fail the check
      // that follows, and the first success in keep order is the same.
      let listed = 0;
      for (const element of prefix) listed += this.byElement.get(element)?.length ?? 0;
      if (listed > DIRECT_SCAN_RATIO * (this.kept - from)) {
        this.directScans++;
        for (let position = from; position < this.kept; position++) {
          if (seen[position] !== generation && this.mayPass(position, size)) found.push(position);
        }
        return found.sort((a, b) => a - b);
      }
    }
    for (const element of prefix) {
      const list = this.byElement.get(element);
      if (list === undefined) continue;
      for (let i = list.length - 1; i >= 0; i--) {
        const position = list[i];
        if (position < from) break;
        if (seen[position] !== generation) {
          seen[position] = generation;
          // The exact-text duplicate is always a candidate (it passes whatever its set).
          if (this.bound === null || position === same || this.mayPass(position, size)) found.push(position);
        }
      }
    }
    return found.sort((a, b) => a - b);
  }
}
