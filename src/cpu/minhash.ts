/**
 * MinHash signatures of word n-gram shingles: the CPU oracle (SPEC §2, near dedup).
 *
 * THE HASH FAMILY (this header is the specification; shaders/minhash.wgsl implements the
 * same arithmetic and must agree bit for bit). All arithmetic is on u32, wrapping mod 2^32,
 * because WGSL has no 64-bit integers.
 *
 * Input: documents as sequences of u32 word hashes (src/text/hash.ts hashToken), in CSR form:
 * document d is tokens[offsets[d] .. offsets[d+1]).
 * Parameters: ngram n >= 1, numHashes K >= 1 (default 128), seed (u32).
 *
 * 1. Constants, derived once from `seed` by splitmix32 (minhashConstants below):
 *      state = seed
 *      next() : state = state + 0x9e3779b9
 *               z = state
 *               z = (z ^ (z >> 16)) * 0x85ebca6b
 *               z = (z ^ (z >> 13)) * 0xc2b2ae35
 *               return z ^ (z >> 16)
 *    shingleSeed = next(); then for k = 0..K-1 in order:
 *      a_k = next(); b_k = next() | 1; c_k = next().
 * 2. Shingles: the word n-grams of a document; window i covers words[i .. i+n) for
 *    i = 0..len-n. A document with 1 <= len < n words has exactly one shingle: all its
 *    words. A document with 0 words has no shingle (the empty set).
 * 3. Shingle hash: MurmurHash3_x86_32 with seed shingleSeed over the shingle's m words taken
 *    as m little-endian 4-byte blocks (so the byte length is 4m and there is no tail):
 *      h = shingleSeed
 *      for each word w:  k1 = rotl(w * 0xcc9e2d51, 15) * 0x1b873593
 *                        h  = rotl(h ^ k1, 13) * 5 + 0xe6546b64
 *      shingleHash = fmix32(h ^ 4m)
 *    where fmix32(h): h ^= h >> 16; h *= 0x85ebca6b; h ^= h >> 13; h *= 0xc2b2ae35; h ^= h >> 16.
 * 4. K mixers, each a bijection of u32 (odd multiplier, then fmix32):
 *      h_k(x) = fmix32(((x ^ a_k) * b_k) + c_k)
 * 5. signature[d][k] = min over shingles s of d of h_k(shingleHash(s)), compared as unsigned.
 *    A document with 0 words has the signature 0xFFFFFFFF in every slot (the min over the
 *    empty set of u32 is its top). Dedup treats empty documents separately; two empty
 *    documents compare as identical under estimateJaccard.
 * Output: Uint32Array of N*K values, row-major by document (signature of d at d*K .. d*K+K).
 */
import { TokenmixError } from '../errors.js';
import { fmix32, murmur3Round } from '../text/hash.js';

/** Documents as CSR word hashes: document d is tokens[offsets[d] .. offsets[d+1]). */
export interface TokenBatch {
  /** N+1 non-decreasing offsets, offsets[0] = 0, offsets[N] = tokens.length. */
  offsets: Uint32Array;
  tokens: Uint32Array;
}

export interface MinhashParams {
  /** Words per shingle (n >= 1). */
  ngram: number;
  /** Slots per signature (K >= 1). Defaults to 128. */
  numHashes?: number;
  /** u32 seed of the whole hash family. */
  seed: number;
}

export const DEFAULT_NUM_HASHES = 128;

/** The value of every slot of an empty document's signature. */
export const EMPTY_SLOT = 0xffffffff;

/** What both backends compute from the parameters (step 1 of the header). */
export interface MinhashConstants {
  ngram: number;
  numHashes: number;
  shingleSeed: number;
  /** 4 u32 per hash k: a_k, b_k (odd), c_k, 0 (padding so the GPU reads one vec4u per hash). */
  mixers: Uint32Array;
}

function isU32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

/** Check and complete the parameters (user errors name the field and the fix). */
export function resolveMinhashParams(params: MinhashParams): Required<MinhashParams> {
  const numHashes = params.numHashes ?? DEFAULT_NUM_HASHES;
  if (!Number.isInteger(params.ngram) || params.ngram < 1 || params.ngram > 0xffff) {
    throw new TokenmixError(`minhash ngram must be an integer from 1 to 65535 (got ${params.ngram}); set dedup.ngram`);
  }
  if (!Number.isInteger(numHashes) || numHashes < 1 || numHashes > 0xffff) {
    throw new TokenmixError(`minhash numHashes must be an integer from 1 to 65535 (got ${numHashes}); set dedup.numHashes`);
  }
  if (!isU32(params.seed)) {
    throw new TokenmixError(`minhash seed must be an integer from 0 to 4294967295 (got ${params.seed}); set dedup.seed`);
  }
  return { ngram: params.ngram, numHashes, seed: params.seed };
}

/** Check the CSR layout of a batch; returns the number of documents. */
export function validateTokenBatch(batch: TokenBatch): number {
  return validateCsr(batch.offsets, batch.tokens.length, 'minhash', 'tokens');
}

/**
 * Check CSR offsets over `valueCount` values (N+1 non-decreasing entries from 0 to
 * valueCount); returns N. Errors name the kernel and what the values are.
 */
export function validateCsr(offsets: Uint32Array, valueCount: number, kernel: string, values: string): number {
  if (offsets.length < 1 || offsets[0] !== 0) {
    throw new TokenmixError(`${kernel} batch offsets must start with 0 and hold N+1 entries for N documents`);
  }
  const count = offsets.length - 1;
  for (let d = 0; d < count; d++) {
    if (offsets[d + 1] < offsets[d]) {
      throw new TokenmixError(`${kernel} batch offsets must not decrease (document ${d}: ${offsets[d]} > ${offsets[d + 1]})`);
    }
  }
  if (offsets[count] !== valueCount) {
    throw new TokenmixError(`${kernel} batch offsets end at ${offsets[count]} but there are ${valueCount} ${values}; they must agree`);
  }
  return count;
}

/** splitmix32 (header step 1): a stream of well-mixed u32 from a u32 seed. */
export function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Derive the shingle seed and the K mixers from the parameters (header step 1). */
export function minhashConstants(params: MinhashParams): MinhashConstants {
  const { ngram, numHashes, seed } = resolveMinhashParams(params);
  const next = splitmix32(seed);
  const shingleSeed = next();
  const mixers = new Uint32Array(numHashes * 4);
  for (let k = 0; k < numHashes; k++) {
    mixers[4 * k] = next();
    mixers[4 * k + 1] = next() | 1;
    mixers[4 * k + 2] = next();
  }
  return { ngram, numHashes, shingleSeed, mixers };
}

/** Header step 3: MurmurHash3_x86_32 of words[start .. start+count) as 4-byte blocks. */
export function shingleHash(words: Uint32Array, start: number, count: number, shingleSeed: number): number {
  let h = shingleSeed | 0;
  for (let i = start; i < start + count; i++) h = murmur3Round(h, words[i]);
  return fmix32(h ^ (4 * count));
}

/** Header step 4: the k-th mixer h_k(x) = fmix32((x ^ a) * b + c). */
export function mixShingle(x: number, a: number, b: number, c: number): number {
  return fmix32((Math.imul(x ^ a, b) + c) | 0);
}

/** Number of shingles of a document of `words` words (header step 2). */
export function shingleCount(words: number, ngram: number): number {
  if (words === 0) return 0;
  return words < ngram ? 1 : words - ngram + 1;
}

/** MinHash signatures of every document of `batch`: N*K u32, row-major by document. */
export function minhashCpu(batch: TokenBatch, params: MinhashParams): Uint32Array {
  const count = validateTokenBatch(batch);
  const { ngram, numHashes, shingleSeed, mixers } = minhashConstants(params);
  const { offsets, tokens } = batch;
  const signatures = new Uint32Array(count * numHashes).fill(EMPTY_SLOT);
  let hashes = new Uint32Array(1024);
  for (let d = 0; d < count; d++) {
    const start = offsets[d];
    const words = offsets[d + 1] - start;
    const shingles = shingleCount(words, ngram);
    const width = Math.min(words, ngram);
    // Hash each shingle once, then run the K mixers over the hashes.
    if (hashes.length < shingles) hashes = new Uint32Array(shingles * 2);
    for (let s = 0; s < shingles; s++) hashes[s] = shingleHash(tokens, start + s, width, shingleSeed);
    const row = d * numHashes;
    for (let k = 0; k < numHashes; k++) {
      const a = mixers[4 * k];
      const b = mixers[4 * k + 1];
      const c = mixers[4 * k + 2];
      let min = EMPTY_SLOT;
      for (let s = 0; s < shingles; s++) {
        const value = mixShingle(hashes[s], a, b, c);
        if (value < min) min = value;
      }
      signatures[row + k] = min;
    }
  }
  return signatures;
}

/**
 * Estimated Jaccard similarity of two signatures: the fraction of slots where they agree.
 * Two empty documents (all slots 0xFFFFFFFF) agree everywhere and estimate 1, matching
 * jaccardExact(∅, ∅) = 1; an empty and a non-empty document estimate 0 unless a slot of the
 * non-empty one happens to be 0xFFFFFFFF (probability 2^-32 per slot).
 */
export function estimateJaccard(sigA: Uint32Array, sigB: Uint32Array): number {
  if (sigA.length !== sigB.length || sigA.length === 0) {
    throw new TokenmixError(`estimateJaccard needs two signatures of the same non-zero length (got ${sigA.length} and ${sigB.length})`);
  }
  let equal = 0;
  for (let k = 0; k < sigA.length; k++) if (sigA[k] === sigB[k]) equal++;
  return equal / sigA.length;
}

/** Exact Jaccard |A ∩ B| / |A ∪ B| of two sets; defined as 1 when both are empty. */
export function jaccardExact<T>(setA: Iterable<T>, setB: Iterable<T>): number {
  const a = new Set(setA);
  const b = new Set(setB);
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const item of a) if (b.has(item)) shared++;
  return shared / (a.size + b.size - shared);
}
