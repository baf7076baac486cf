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

export class KeptIndex {
  private readonly byElement = new Map<number, number[]>();
  private readonly byClass = new Map<number, number>();
  /** Generation stamps per kept position (dedupe candidates without sorting duplicates). */
  private seen = new Uint32Array(64);
  private generation = 0;
  /** One more than the largest position indexed. */
  private kept = 0;

  constructor(
    private readonly prefix: (doc: number) => Uint32Array,
    /** A document's exact-text class. */
    private readonly classOf: (doc: number) => number,
  ) {}

  clear(): void {
    this.byElement.clear();
    this.byClass.clear();
    this.seen.fill(0);
    this.generation = 0;
    this.kept = 0;
  }

  /** Index kept document `doc`, the `position`-th kept member of its component. */
  add(doc: number, position: number): void {
    this.kept = Math.max(this.kept, position + 1);
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
    for (const element of this.prefix(doc)) {
      const list = this.byElement.get(element);
      if (list === undefined) continue;
      for (let i = list.length - 1; i >= 0; i--) {
        const position = list[i];
        if (position < from) break;
        if (seen[position] !== generation) {
          seen[position] = generation;
          found.push(position);
        }
      }
    }
    return found.sort((a, b) => a - b);
  }
}
