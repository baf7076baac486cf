/**
 * Shingle sets for exact verification of near-duplicate candidates (SPEC §2).
 *
 * A document's shingle set is the sorted, duplicate-free list of the u32 shingle hashes the
 * MinHash kernel itself minimises over (src/cpu/minhash.ts header steps 2–3: word n-grams,
 * MurmurHash3 with the seed-derived shingleSeed). Verifying on these sets measures exactly
 * the similarity the signatures estimate, without estimator noise. The only difference from
 * the Jaccard of shingle *strings* is a 32-bit collision between a shingle only in A and one
 * only in B (two 10,000-shingle documents at J = 0.8: about 3 pairs in 10,000), which moves J
 * by about 1/|A ∪ B|.
 */
import { shingleCount, shingleHash } from '../cpu/minhash.js';
import { shingleWordHashes, type ShingleNormalizeOptions } from '../text/normalize.js';

/** Word hashes of a text after the shingle normalization (the MinHash kernel's input). */
export function shingleWords(text: string, options: ShingleNormalizeOptions = {}): Uint32Array {
  return shingleWordHashes(text, options);
}

/** Sorted unique shingle hashes of words[start .. start+count). */
export function shingleSet(words: Uint32Array, ngram: number, shingleSeed: number, start = 0, count = words.length - start): Uint32Array {
  const shingles = shingleCount(count, ngram);
  const width = Math.min(count, ngram);
  const hashes = new Uint32Array(shingles);
  for (let s = 0; s < shingles; s++) hashes[s] = shingleHash(words, start + s, width, shingleSeed);
  sortHashes(hashes);
  let unique = 0;
  for (let i = 0; i < hashes.length; i++) if (i === 0 || hashes[i] !== hashes[i - 1]) hashes[unique++] = hashes[i];
  return hashes.subarray(0, unique);
}

// Scratch of sortHashes (grown on demand; one realm runs one call at a time).
let bucketStarts = new Uint32Array(1 << 12);
let sorted = new Uint32Array(1 << 12);

/**
 * Sorts u32 hashes ascending in place, like `Uint32Array.prototype.sort()`, 2–4× faster on
 * hash values (which are uniform): one counting pass scatters them into about n buckets by
 * their top bits, and an insertion sort finishes what is left (within-bucket order, ~n/2
 * moves). Inputs that are not uniform cannot make it quadratic: past 16 moves per element it
 * hands the rest to the built-in sort.
 */
export function sortHashes(values: Uint32Array): void {
  const n = values.length;
  if (n < 2) return;
  let bits = 1;
  while (1 << bits < n) bits++;
  const shift = 32 - bits;
  const buckets = 1 << bits;
  if (bucketStarts.length < buckets + 1) bucketStarts = new Uint32Array(2 * buckets);
  if (sorted.length < n) sorted = new Uint32Array(2 * n);
  const starts = bucketStarts;
  const out = sorted;
  starts.fill(0, 0, buckets + 1);
  for (let i = 0; i < n; i++) starts[(values[i] >>> shift) + 1]++;
  for (let b = 1; b <= buckets; b++) starts[b] += starts[b - 1];
  for (let i = 0; i < n; i++) {
    const x = values[i];
    out[starts[x >>> shift]++] = x;
  }
  let budget = 16 * n;
  for (let i = 1; i < n; i++) {
    const x = out[i];
    let j = i - 1;
    if (out[j] <= x) continue;
    while (j >= 0 && out[j] > x) {
      out[j + 1] = out[j];
      j--;
    }
    out[j + 1] = x;
    budget -= i - j;
    if (budget < 0) {
      values.set(out.subarray(0, n));
      values.sort();
      return;
    }
  }
  values.set(out.subarray(0, n));
}

/** |A ∩ B| of two sorted duplicate-free u32 lists (a merge walk). */
export function intersectionSize(a: Uint32Array, b: Uint32Array): number {
  return intersectionAtLeast(a, b, 0);
}

/**
 * The fewest shared elements two sets of sizes `la` and `lb` can have and still fail the
 * verifier's criterion for sure: one below the exact bound (shared ≥ T·(la + lb) / (1 + T)),
 * and one lower still for the 1e-9 slack and float rounding, so pruning on it never decides
 * a pair the full count would not.
 */
function overlapFloor(la: number, lb: number, threshold: number): number {
  return Math.floor((threshold * (la + lb) - 1e-9) / (1 + threshold)) - 1;
}

/**
 * |A ∩ B| of two sorted duplicate-free lists, or −1 as soon as fewer than `need` elements can
 * be shared: every element skipped on one side is missing from the other, so the walk stops
 * when one side has skipped more than |side| − need. Most verified pairs fail, and fail early.
 */
export function intersectionAtLeast(a: Uint32Array, b: Uint32Array, need: number): number {
  const skipA = a.length - need;
  const skipB = b.length - need;
  if (skipA < 0 || skipB < 0) return -1;
  let i = 0;
  let j = 0;
  let shared = 0;
  while (i < a.length && j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x === y) {
      shared++;
      i++;
      j++;
    } else if (x < y) {
      if (++i - shared > skipA) return -1;
    } else if (++j - shared > skipB) return -1;
  }
  return shared;
}

/**
 * Whether J(A, B) = |A ∩ B| / |A ∪ B| >= threshold, decided on the integers the way the
 * ground truth's scorer does (inter >= t·union − 1e-9). Two empty sets never pass: a document
 * without words has nothing to be a near duplicate of (exact dedup still sees it).
 */
export function jaccardAtLeast(a: Uint32Array, b: Uint32Array, threshold: number): boolean {
  return verifyPair(a, b, threshold) >= 0;
}

/**
 * J(A, B) when it is >= threshold (the criterion of jaccardAtLeast), else −1. Sizes alone rule
 * out most pairs (J <= min / max); the walk stops once the threshold is out of reach.
 */
export function verifyPair(a: Uint32Array, b: Uint32Array, threshold: number): number {
  if (a.length === 0 || b.length === 0) return -1;
  const small = Math.min(a.length, b.length);
  const large = Math.max(a.length, b.length);
  if (small < threshold * large - 1e-9) return -1;
  const shared = intersectionAtLeast(a, b, Math.max(0, overlapFloor(a.length, b.length, threshold)));
  if (shared < 0) return -1;
  const union = a.length + b.length - shared;
  return shared >= threshold * union - 1e-9 ? shared / union : -1;
}

/** J of two sorted duplicate-free lists (0 when either is empty). */
export function jaccardSorted(a: Uint32Array, b: Uint32Array): number {
  if (a.length === 0 || b.length === 0) return 0;
  const shared = intersectionSize(a, b);
  return shared / (a.length + b.length - shared);
}
