/**
 * One-permutation MinHash with optimal densification (Shrivastava, ICML 2017): the CPU
 * oracle. It costs O(shingles + K) per document where K-permutation MinHash
 * (src/cpu/minhash.ts) costs O(shingles × K); the estimator is the same (estimateJaccard:
 * the fraction of equal slots).
 *
 * THE SKETCH (this header is the specification; shaders/oph.wgsl implements the same
 * arithmetic and must agree bit for bit). All arithmetic is on u32, wrapping mod 2^32.
 *
 * Input: documents as CSR over their shingle sets: document d is
 * shingles[offsets[d] .. offsets[d+1]), the u32 shingle hashes of src/dedup/shingles.ts
 * shingleSet() (sorted, duplicate-free; the result does not depend on order or repeats).
 * Parameters: numHashes K (1..1024, default 128), seed (u32).
 *
 * 1. Constants, from `seed` by splitmix32 (src/cpu/minhash.ts header step 1), in order:
 *      skip one output (it is MinHash's shingleSeed, which hashed the shingles);
 *      bin mixer   (a_b, b_b, c_b) = next(), next() | 1, next();
 *      value mixer (a_v, b_v, c_v) = next(), next() | 1, next();
 *      probeSeed = next().
 *    So the two mixers are MinHash's slots 0 and 1 for the same seed: the bin hash and the
 *    value hash are as independent as two K-permutation MinHash slots.
 * 2. Each shingle x goes to bin(x) = mulhi(h(x), K) with h(x) = fmix32(((x ^ a_b) * b_b) + c_b),
 *    where mulhi(h, K) = floor(h · K / 2^32) (the high word of the 64-bit product: uniform
 *    bins for any K). Its value is v(x) = min(fmix32(((x ^ a_v) * b_v) + c_v), 0xFFFFFFFE):
 *    clamped so that 0xFFFFFFFF can only mean "no shingle" (an empty bin, an empty document;
 *    the clamp merges two of 2^32 values, which changes no estimate measurably).
 *    raw[j] = min of v(x) over the shingles with bin(x) = j (unsigned), 0xFFFFFFFF if none:
 *    bin j is EMPTY exactly when raw[j] = 0xFFFFFFFF.
 * 3. Optimal densification. A non-empty bin keeps raw[j]. An empty bin j takes raw[c] of the
 *    first non-empty bin c of its probe sequence
 *      c_j(t) = mulhi(g_j(t), K),  t = 0, 1, 2, …,  where g_j(t) is the t-th output
 *      (counting from 0) of splitmix32(fmix32(j ^ probeSeed)), i.e.
 *      g_j(t) = fmix32(fmix32(j ^ probeSeed) + (t + 1) · 0x9e3779b9).
 *    The sequence depends only on (j, K, seed), never on the document: that is what makes
 *    P(sig_A[j] = sig_B[j]) = J(A, B) for every slot. Values are always copied from raw
 *    (non-empty) bins, never from bins filled earlier in this step.
 *    Bound: after PROBE_ROUNDS · K probes (t = 0 .. 64K−1) without a non-empty bin, the bin
 *    takes the first non-empty bin of the scan j+1, j+2, … (mod K). For a document with at
 *    least one non-empty bin, each probe misses with probability at most 1 − 1/K, so the
 *    fallback runs with probability below e^−64 per bin; it exists so that the GPU loop has
 *    a fixed bound, not for accuracy.
 *    Cost: about K/m probes per empty bin with m non-empty bins, so K² for a one-shingle
 *    document. Both backends take an exact shortcut for sparse documents (m² < K): see
 *    densifyRanks. Total work per document: O(shingles + K·min(√K, K/m)).
 * 4. A document with no shingles has every slot 0xFFFFFFFF (as in MinHash: two empty
 *    documents estimate 1; an empty and a non-empty one estimate exactly 0, by the clamp).
 * Output: Uint32Array of N·K values, row-major by document (d's sketch at d·K .. d·K+K).
 */
import { TokenmixError } from '../errors.js';
import { fmix32 } from '../text/hash.js';
import { DEFAULT_NUM_HASHES, EMPTY_SLOT, mixShingle, splitmix32, validateCsr } from './minhash.js';

/** Documents as CSR shingle sets: document d is shingles[offsets[d] .. offsets[d+1]). */
export interface ShingleBatch {
  /** N+1 non-decreasing offsets, offsets[0] = 0, offsets[N] = shingles.length. */
  offsets: Uint32Array;
  shingles: Uint32Array;
}

export interface OphParams {
  /** Bins (= signature slots) per document, 1..OPH_MAX_HASHES. Defaults to 128. */
  numHashes?: number;
  /** u32 seed (the same as MinHash's: shingles hashed with its shingleSeed). */
  seed: number;
}

/** Largest K: the shader holds K bins in workgroup memory (4 KiB at 1024). */
export const OPH_MAX_HASHES = 1024;

/** The largest value of a shingle (header step 2): 0xFFFFFFFF is reserved for "empty". */
export const MAX_VALUE = 0xfffffffe;

/** Random probes per empty bin, in units of K, before the deterministic scan (header step 3). */
export const PROBE_ROUNDS = 64;

/** What both backends compute from the parameters (header step 1). */
export interface OphConstants {
  numHashes: number;
  /** a_b, b_b, c_b, a_v, b_v, c_v, probeSeed. */
  binA: number;
  binB: number;
  binC: number;
  valueA: number;
  valueB: number;
  valueC: number;
  probeSeed: number;
}

function isU32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

/** Check and complete the parameters (user errors name the field and the fix). */
export function resolveOphParams(params: OphParams): Required<OphParams> {
  const numHashes = params.numHashes ?? DEFAULT_NUM_HASHES;
  if (!Number.isInteger(numHashes) || numHashes < 1 || numHashes > OPH_MAX_HASHES) {
    throw new TokenmixError(`one-permutation MinHash numHashes must be an integer from 1 to ${OPH_MAX_HASHES} (got ${numHashes}); set dedup.numHashes`);
  }
  if (!isU32(params.seed)) {
    throw new TokenmixError(`one-permutation MinHash seed must be an integer from 0 to 4294967295 (got ${params.seed}); set dedup.seed`);
  }
  return { numHashes, seed: params.seed };
}

/** Derive the two mixers and the probe seed (header step 1). */
export function ophConstants(params: OphParams): OphConstants {
  const { numHashes, seed } = resolveOphParams(params);
  const next = splitmix32(seed);
  next(); // MinHash's shingleSeed
  const binA = next();
  const binB = (next() | 1) >>> 0;
  const binC = next();
  const valueA = next();
  const valueB = (next() | 1) >>> 0;
  const valueC = next();
  return { numHashes, binA, binB, binC, valueA, valueB, valueC, probeSeed: next() };
}

/** Pack per-document shingle sets (e.g. shingleSet() results) into one CSR batch. */
export function shingleBatch(sets: readonly Uint32Array[]): ShingleBatch {
  const offsets = new Uint32Array(sets.length + 1);
  sets.forEach((set, d) => (offsets[d + 1] = offsets[d] + set.length));
  const shingles = new Uint32Array(offsets[sets.length]);
  sets.forEach((set, d) => shingles.set(set, offsets[d]));
  return { offsets, shingles };
}

/**
 * Builds CSR batches of shingle sets into arrays kept from one batch to the next: each set is
 * copied once, into place (no per-document copy, no batch-sized allocation per batch). A batch
 * stays valid until the builder's next `start()`; a batch whose buffer was transferred to
 * another thread (detached) is not reused.
 */
export class ShingleBatchBuilder {
  private offsets = new Uint32Array(1);
  private shingles = new Uint32Array(1 << 16);
  private count = 0;

  start(documents: number): void {
    if (this.offsets.length < documents + 1 || this.offsets.byteLength === 0) this.offsets = new Uint32Array(documents + 1);
    if (this.shingles.byteLength === 0) this.shingles = new Uint32Array(1 << 16);
    this.offsets[0] = 0;
    this.count = 0;
  }

  add(set: Uint32Array): void {
    if (this.count + 1 >= this.offsets.length) {
      const grown = new Uint32Array(2 * this.offsets.length);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    const at = this.offsets[this.count];
    const end = at + set.length;
    if (end > this.shingles.length) {
      const grown = new Uint32Array(Math.max(end, 2 * this.shingles.length));
      grown.set(this.shingles.subarray(0, at));
      this.shingles = grown;
    }
    this.shingles.set(set, at);
    this.offsets[++this.count] = end;
  }

  batch(): ShingleBatch {
    return { offsets: this.offsets.subarray(0, this.count + 1), shingles: this.shingles.subarray(0, this.offsets[this.count]) };
  }
}

/** Check the CSR layout of a batch; returns the number of documents. */
export function validateShingleBatch(batch: ShingleBatch): number {
  return validateCsr(batch.offsets, batch.shingles.length, 'one-permutation MinHash', 'shingles');
}

/** floor(h · K / 2^32): exact in a double since h · K < 2^42. */
export function mulhi(h: number, numBins: number): number {
  return Math.floor((h >>> 0) * numBins / 4294967296);
}

/**
 * Header step 3 as a table, for documents with few non-empty bins, where probing costs about
 * K/m probes per empty bin (K² per document at m = 1). ranks[j·K + s] is the position of bin
 * s in L_j: the distinct bins of empty bin j's first probeRounds·K probes in order of first
 * appearance, then the remaining bins in scan order j+1, j+2, … (mod K). The first non-empty
 * bin of L_j is exactly the bin step 3 picks, so it is the non-empty bin of least rank:
 * m lookups instead of ~K/m probes. The table depends only on (K, seed, probeRounds).
 * ranks[j·K + j] is unused (bin j is the empty one).
 */
export function densifyRanks(numBins: number, probeSeed: number, probeRounds = PROBE_ROUNDS): Uint32Array {
  // A pure function of its arguments, asked for by every batch: computed once per (K, seed).
  return tableFor(rankTables, numBins, probeSeed, probeRounds, () => buildDensifyRanks(numBins, probeSeed, probeRounds));
}

/** Rank tables already built (read-only: callers upload or index them, never write). */
const rankTables = new Map<string, Uint32Array>();

/** The table `tables` holds for (K, seed, probeRounds), built on first use (a few at most). */
function tableFor<T>(tables: Map<string, T>, numBins: number, probeSeed: number, probeRounds: number, build: () => T): T {
  const key = `${numBins}:${probeSeed}:${probeRounds}`;
  let table = tables.get(key);
  if (table === undefined) {
    if (tables.size >= 8) tables.clear();
    table = build();
    tables.set(key, table);
  }
  return table;
}

function buildDensifyRanks(numBins: number, probeSeed: number, probeRounds: number): Uint32Array {
  const ranks = new Uint32Array(numBins * numBins).fill(UNRANKED);
  for (let j = 0; j < numBins; j++) {
    const row = j * numBins;
    let ranked = 0;
    const next = splitmix32(fmix32(j ^ probeSeed));
    for (let t = 0; t < probeRounds * numBins && ranked < numBins - 1; t++) {
      const bin = mulhi(next(), numBins);
      if (bin !== j && ranks[row + bin] === UNRANKED) ranks[row + bin] = ranked++;
    }
    for (let step = 1; step < numBins; step++) {
      const bin = (j + step) % numBins;
      if (ranks[row + bin] === UNRANKED) ranks[row + bin] = ranked++;
    }
  }
  return ranks;
}

const UNRANKED = 0xffffffff;

/** Use the rank table when m lookups beat ~K/m probes per empty bin (m < sqrt(K)). */
export function isSparse(nonEmptyBins: number, numBins: number): boolean {
  return nonEmptyBins * nonEmptyBins < numBins;
}

/** The non-empty bin of least rank in empty bin j's list (see densifyRanks). */
function sourceByRank(j: number, nonEmpty: number[], ranks: Uint32Array, numBins: number): number {
  let best = nonEmpty[0];
  for (const bin of nonEmpty) if (ranks[j * numBins + bin] < ranks[j * numBins + best]) best = bin;
  return best;
}

/**
 * Header step 3 for documents with many non-empty bins: order[j·K + t] is the t-th bin of L_j
 * (densifyRanks' list for empty bin j), so the bin step 3 picks is the first non-empty bin met
 * walking the row — about K/m steps — with no probe recomputed per document. Repeated probes
 * and bin j itself are empty whenever they are met, so skipping them changes nothing.
 */
function densifyOrder(numBins: number, probeSeed: number, probeRounds: number): Uint16Array {
  return tableFor(orderTables, numBins, probeSeed, probeRounds, () => {
    const ranks = densifyRanks(numBins, probeSeed, probeRounds);
    const order = new Uint16Array(numBins * numBins);
    for (let j = 0; j < numBins; j++) {
      for (let s = 0; s < numBins; s++) if (s !== j) order[j * numBins + ranks[j * numBins + s]] = s;
    }
    return order;
  });
}

const orderTables = new Map<string, Uint16Array>();

/**
 * One-permutation MinHash sketches of every document: N·K u32, row-major by document.
 * `probeRounds` is for tests only (0 sends every empty bin straight to the fallback scan).
 */
export function ophCpu(batch: ShingleBatch, params: OphParams, probeRounds = PROBE_ROUNDS): Uint32Array {
  const count = validateShingleBatch(batch);
  const { numHashes: numBins, binA, binB, binC, valueA, valueB, valueC, probeSeed } = ophConstants(params);
  const { offsets, shingles } = batch;
  const sketches = new Uint32Array(count * numBins).fill(EMPTY_SLOT);
  // Bins hold values biased by 2^31 as int32 (v ^ 0x80000000): the same order, and the hot
  // loop stays in 32-bit integers instead of doubles for values >= 2^31.
  const raw = new Int32Array(numBins);
  const EMPTY = EMPTY_SLOT ^ 0x80000000;
  const MAX = MAX_VALUE ^ 0x80000000;
  const out = new Int32Array(sketches.buffer, sketches.byteOffset, sketches.length);
  // floor(h·K / 2^32) is a shift when K is a power of two (K >= 2).
  const shift = numBins >= 2 && (numBins & (numBins - 1)) === 0 ? 32 - Math.log2(numBins) : 0;
  let ranks: Uint32Array | undefined;
  let order: Uint16Array | undefined;
  for (let d = 0; d < count; d++) {
    if (offsets[d + 1] === offsets[d]) continue;
    raw.fill(EMPTY);
    let filled = 0;
    for (let i = offsets[d]; i < offsets[d + 1]; i++) {
      const x = shingles[i];
      const h = mixShingle(x, binA, binB, binC);
      const bin = shift > 0 ? h >>> shift : mulhi(h, numBins);
      const biased = mixShingle(x, valueA, valueB, valueC) ^ 0x80000000;
      const value = biased < MAX ? biased : MAX;
      const current = raw[bin];
      if (value < current) {
        if (current === EMPTY) filled++;
        raw[bin] = value;
      }
    }
    const row = d * numBins;
    if (filled === numBins) {
      for (let j = 0; j < numBins; j++) out[row + j] = raw[j] ^ 0x80000000;
      continue;
    }
    if (isSparse(filled, numBins)) {
      ranks ??= densifyRanks(numBins, probeSeed, probeRounds);
      const nonEmpty: number[] = [];
      for (let j = 0; j < numBins; j++) if (raw[j] !== EMPTY) nonEmpty.push(j);
      for (let j = 0; j < numBins; j++) out[row + j] = (raw[j] !== EMPTY ? raw[j] : raw[sourceByRank(j, nonEmpty, ranks, numBins)]) ^ 0x80000000;
      continue;
    }
    order ??= densifyOrder(numBins, probeSeed, probeRounds);
    for (let j = 0; j < numBins; j++) {
      let t = j * numBins;
      let source = j;
      if (raw[j] === EMPTY) {
        while (raw[order[t]] === EMPTY) t++;
        source = order[t];
      }
      out[row + j] = raw[source] ^ 0x80000000;
    }
  }
  return sketches;
}
