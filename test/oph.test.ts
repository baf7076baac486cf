import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../fixtures/random.js';
import type { Backend } from '../src/backend.js';
import { estimateJaccard, minhashConstants } from '../src/cpu/minhash.js';
import { densifyRanks, mulhi, OPH_MAX_HASHES, ophConstants, ophCpu, PROBE_ROUNDS, shingleBatch, type OphParams, type ShingleBatch } from '../src/cpu/oph.js';
import { shingleSet } from '../src/dedup/shingles.js';
import { TokenmixError } from '../src/errors.js';
import { OPH_WORKGROUP_SIZE, oph, ophBinCapacity, ophGpu, ophKernel, planOphRanges } from '../src/kernels/oph.js';
import { openTestGpu } from './helpers/gpu.js';

const gpu = await openTestGpu();
afterAll(() => gpu.ctx?.destroy());

// ---------------------------------------------------------------------------------------
// An independent reference, written from the header of src/cpu/oph.ts with BigInt
// arithmetic and Maps: no Math.imul, no code shared with the oracle or the shader.
const MASK = 0xffffffffn;
const PHI = 0x9e3779b9n;
const mul = (x: bigint, y: bigint) => (x * y) & MASK;
const xorShift = (x: bigint, s: bigint) => x ^ (x >> s);
function refFmix32(x: bigint): bigint {
  let h = xorShift(x, 16n);
  h = mul(h, 0x85ebca6bn);
  h = xorShift(h, 13n);
  h = mul(h, 0xc2b2ae35n);
  return xorShift(h, 16n);
}
function refConstants(seed: number) {
  let state = BigInt(seed);
  const next = () => {
    state = (state + PHI) & MASK;
    return refFmix32(state);
  };
  next();
  return { bin: [next(), next() | 1n, next()], value: [next(), next() | 1n, next()], probeSeed: next() };
}
const refMix = (x: bigint, [a, b, c]: bigint[]) => refFmix32((mul(x ^ a, b) + c) & MASK);
const refMulhi = (h: bigint, k: number) => Number((h * BigInt(k)) >> 32n);
/** Sketches of `docs` (arrays of shingle hashes) straight from the header. */
function refSketches(docs: number[][], params: OphParams, probeRounds = PROBE_ROUNDS): Uint32Array {
  const K = params.numHashes ?? 128;
  const { bin, value, probeSeed } = refConstants(params.seed);
  const out = new Uint32Array(docs.length * K).fill(0xffffffff);
  docs.forEach((shingles, d) => {
    const raw = new Map<number, bigint>();
    for (const x of shingles) {
      const j = refMulhi(refMix(BigInt(x), bin), K);
      const mixed = refMix(BigInt(x), value);
      const v = mixed < 0xfffffffen ? mixed : 0xfffffffen;
      if (!raw.has(j) || v < raw.get(j)!) raw.set(j, v);
    }
    if (raw.size === 0) return;
    for (let j = 0; j < K; j++) {
      let source = raw.has(j) ? j : -1;
      let state = refFmix32(BigInt(j) ^ probeSeed);
      for (let t = 0; source < 0 && t < probeRounds * K; t++) {
        state = (state + PHI) & MASK;
        const c = refMulhi(refFmix32(state), K);
        if (raw.has(c)) source = c;
      }
      for (let step = 1; source < 0; step++) if (raw.has((j + step) % K)) source = (j + step) % K;
      out[d * K + j] = Number(raw.get(source)!);
    }
  });
  return out;
}

// The shingle x with v(x) = value for a seed: fmix32 and the mixer inverted step by step.
const inverse = (m: bigint) => {
  let inv = m; // Newton's iteration doubles the correct low bits: 5 steps reach 32
  for (let i = 0; i < 5; i++) inv = mul(inv, (2n - mul(m, inv)) & MASK);
  return inv;
};
const unXorShift = (h: bigint, s: bigint) => (s >= 16n ? xorShift(h, s) : h ^ (h >> s) ^ (h >> (2n * s)));
function shingleWithValue(seed: number, value: number): number {
  const [a, b, c] = refConstants(seed).value;
  let h = unXorShift(BigInt(value), 16n);
  h = mul(h, inverse(0xc2b2ae35n));
  h = unXorShift(h, 13n);
  h = mul(h, inverse(0x85ebca6bn));
  h = unXorShift(h, 16n);
  const x = mul((h - c) & MASK, inverse(b)) ^ a;
  expect(refMix(x, [a, b, c])).toBe(BigInt(value));
  return Number(x);
}

// ---------------------------------------------------------------------------------------
function toBatch(docs: number[][]): ShingleBatch {
  return shingleBatch(docs.map((doc) => Uint32Array.from(doc)));
}
/** Sorted unique random shingle sets of minSize..maxSize elements (fewer if the vocabulary is small). */
function randomSets(seed: number, count: number, minSize: number, maxSize: number, vocabulary = 0): number[][] {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    const size = minSize + r.int(maxSize - minSize + 1);
    const set = new Set<number>();
    for (let i = 0; i < size; i++) set.add(vocabulary > 0 ? r.int(vocabulary) : r.u32());
    return [...set].sort((a, b) => a - b);
  });
}

describe('the documented sketch', () => {
  it('constants follow splitmix32 after MinHash’s shingle seed: the mixers are MinHash slots 0 and 1', () => {
    for (const seed of [0, 1, 0xdeadbeef, 0xffffffff]) {
      const c = ophConstants({ seed });
      const ref = refConstants(seed);
      expect([c.binA, c.binB, c.binC, c.valueA, c.valueB, c.valueC, c.probeSeed]).toEqual([...ref.bin, ...ref.value, ref.probeSeed].map(Number));
      const mixers = minhashConstants({ ngram: 1, numHashes: 2, seed }).mixers;
      expect([c.binA, c.binB, c.binC, c.valueA, c.valueB, c.valueC]).toEqual([mixers[0], mixers[1], mixers[2], mixers[4], mixers[5], mixers[6]]);
    }
  });
  it('mulhi is floor(h·K / 2^32) (hand-checked values)', () => {
    expect(mulhi(0, 1024)).toBe(0);
    expect(mulhi(0xffffffff, 1024)).toBe(1023);
    expect(mulhi(0x80000000, 7)).toBe(3); // 7/2
    expect(mulhi(0x40000000, 128)).toBe(32);
    expect(mulhi(0x3fffffff, 128)).toBe(31);
    expect(mulhi(0xffffffff, 1)).toBe(0);
  });
  it('goldens (recorded from the BigInt reference above; they pin the sketch format stored on disk)', () => {
    const docs = [[1, 2, 3], [7], [], [0, 0xffffffff]];
    const sketches = ophCpu(toBatch(docs), { numHashes: 4, seed: 42 });
    expect(Array.from(sketches)).toEqual(Array.from(refSketches(docs, { numHashes: 4, seed: 42 })));
    expect(Array.from(sketches)).toEqual(GOLDEN_K4_SEED42);
  });
  it('K = 1: the single slot is the minimum value over the document', () => {
    const { valueA, valueB, valueC } = ophConstants({ seed: 9 });
    const docs = randomSets(5, 20, 1, 30);
    const sketches = ophCpu(toBatch(docs), { numHashes: 1, seed: 9 });
    docs.forEach((doc, d) => {
      const values = doc.map((x) => Number(refMix(BigInt(x), [BigInt(valueA), BigInt(valueB), BigInt(valueC)])));
      expect(sketches[d]).toBe(Math.min(...values));
    });
  });
  it('a one-shingle document repeats its one value in every slot; an empty one is all 0xFFFFFFFF', () => {
    const sketches = ophCpu(toBatch([[12345], []]), { numHashes: 64, seed: 3 });
    const first = sketches.subarray(0, 64);
    expect(first.every((v) => v === first[0])).toBe(true);
    expect(sketches.subarray(64).every((v) => v === 0xffffffff)).toBe(true);
  });
  it('shingleBatch packs sets as CSR', () => {
    const batch = shingleBatch([Uint32Array.of(4, 9), Uint32Array.of(), Uint32Array.of(7)]);
    expect(Array.from(batch.offsets)).toEqual([0, 2, 2, 3]);
    expect(Array.from(batch.shingles)).toEqual([4, 9, 7]);
  });
  it('a value of 0xFFFFFFFF is clamped to 0xFFFFFFFE, so the document is not mistaken for an empty one', () => {
    const sketches = ophCpu(toBatch([[shingleWithValue(19, 0xffffffff)]]), { numHashes: 16, seed: 19 });
    expect(Array.from(sketches)).toEqual(new Array(16).fill(0xfffffffe));
  });
  it('densifyRanks with no probes ranks bins in scan order j+1, j+2, … (hand-checked)', () => {
    const ranks = densifyRanks(4, 123, 0);
    const U = 0xffffffff;
    expect(Array.from(ranks)).toEqual([U, 0, 1, 2, 2, U, 0, 1, 1, 2, U, 0, 0, 1, 2, U]);
  });
  it('densifyRanks lists every other bin once per row', () => {
    const K = 37;
    const ranks = densifyRanks(K, ophConstants({ numHashes: K, seed: 4 }).probeSeed);
    for (let j = 0; j < K; j++) {
      const row = Array.from(ranks.subarray(j * K, (j + 1) * K)).filter((_, s) => s !== j);
      expect(row.sort((x, y) => x - y)).toEqual(Array.from({ length: K - 1 }, (_, i) => i));
    }
  });
  it('order and repeats of shingles do not matter', () => {
    const [doc] = randomSets(6, 1, 50, 50);
    const shuffled = rng(1).shuffle([...doc, ...doc.slice(0, 10)]);
    const params = { numHashes: 32, seed: 5 };
    expect(Array.from(ophCpu(toBatch([shuffled]), params))).toEqual(Array.from(ophCpu(toBatch([doc]), params)));
  });
  it('equals the reference on mixed documents, K and seeds', () => {
    for (const [numHashes, seed] of [[1, 0], [7, 1], [128, 0xffffffff], [256, 77], [1024, 5]]) {
      const docs = [[], [3], ...randomSets(numHashes + seed, 12, 0, Math.min(3 * numHashes, 400))];
      expect(Array.from(ophCpu(toBatch(docs), { numHashes, seed }))).toEqual(Array.from(refSketches(docs, { numHashes, seed })));
    }
  });
  it('the bounded fallback scan (probeRounds = 0 forces it) equals the reference', () => {
    const docs = randomSets(8, 30, 0, 12);
    for (const numHashes of [1, 7, 64]) {
      const params = { numHashes, seed: 11 };
      expect(Array.from(ophCpu(toBatch(docs), params, 0))).toEqual(Array.from(refSketches(docs, params, 0)));
    }
  });
  it('on real shingle sets, near duplicates estimate close to their exact Jaccard', () => {
    const words = Uint32Array.from({ length: 400 }, (_, i) => (i * 2654435761) >>> 0);
    const edited = words.slice();
    for (let i = 0; i < 400; i += 40) edited[i] ^= 1; // 10 edits: each changes up to 5 of the 5-gram shingles
    const { shingleSeed } = minhashConstants({ ngram: 5, seed: 21 });
    const a = Array.from(shingleSet(words, 5, shingleSeed));
    const b = Array.from(shingleSet(edited, 5, shingleSeed));
    const shared = a.filter((x) => b.includes(x)).length;
    const exact = shared / (a.length + b.length - shared);
    const sketches = ophCpu(toBatch([a, b]), { numHashes: 256, seed: 21 });
    // 4 standard deviations of a 256-slot estimate at this J.
    expect(Math.abs(estimateJaccard(sketches.subarray(0, 256), sketches.subarray(256)) - exact)).toBeLessThan(4 * Math.sqrt((exact * (1 - exact)) / 256));
  });
});

describe('input checks', () => {
  const good = toBatch([[1, 2, 3]]);
  it.each([
    { name: 'K = 0', params: { numHashes: 0, seed: 1 } },
    { name: `K = ${OPH_MAX_HASHES + 1}`, params: { numHashes: OPH_MAX_HASHES + 1, seed: 1 } },
    { name: 'K = 1.5', params: { numHashes: 1.5, seed: 1 } },
    { name: 'negative seed', params: { seed: -1 } },
    { name: 'seed >= 2^32', params: { seed: 2 ** 32 } },
  ])('rejects $name', ({ params }) => {
    expect(() => ophCpu(good, params)).toThrow(TokenmixError);
  });
  it.each([
    { name: 'offsets not starting at 0', batch: { offsets: new Uint32Array([1, 3]), shingles: new Uint32Array(3) } },
    { name: 'decreasing offsets', batch: { offsets: new Uint32Array([0, 3, 2, 3]), shingles: new Uint32Array(3) } },
    { name: 'offsets not ending at the shingle count', batch: { offsets: new Uint32Array([0, 2]), shingles: new Uint32Array(3) } },
    { name: 'no offsets', batch: { offsets: new Uint32Array(0), shingles: new Uint32Array(0) } },
  ])('rejects $name', ({ batch }) => {
    expect(() => ophCpu(batch, { seed: 1 })).toThrow(TokenmixError);
  });
});

interface Case {
  name: string;
  docs: () => number[][];
  params: OphParams;
  /** Internal planner limit to force several batches. */
  maxBindingBytes?: number;
  /** Random probes per empty bin in units of K (0 forces the fallback scan). */
  probeRounds?: number;
}
const WG = OPH_WORKGROUP_SIZE;
const cases: Case[] = [
  { name: 'no documents', docs: () => [], params: { seed: 1 } },
  { name: 'one document', docs: () => randomSets(1, 1, 300, 300), params: { seed: 1 } },
  { name: 'empty documents only', docs: () => [[], [], []], params: { numHashes: 16, seed: 2 } },
  { name: 'one-shingle documents (densification copies one bin everywhere)', docs: () => randomSets(3, 9, 1, 1), params: { seed: 3 } },
  { name: 'empty, 1-shingle and larger documents mixed', docs: () => [[], [5], ...randomSets(4, 6, 0, 60), [], [0xffffffff]], params: { numHashes: 32, seed: 4 } },
  { name: 'WG-1, WG, WG+1 shingles per document', docs: () => [WG - 1, WG, WG + 1, 2 * WG + 1].map((n, i) => randomSets(50 + i, 1, n, n)[0]), params: { seed: 5 } },
  { name: 'WG-1 documents', docs: () => randomSets(6, WG - 1, 0, 40), params: { numHashes: 7, seed: 6 } },
  { name: 'WG+1 documents', docs: () => randomSets(7, WG + 1, 0, 40), params: { numHashes: 7, seed: 7 } },
  { name: 'K = 1', docs: () => randomSets(8, 12, 0, 30), params: { numHashes: 1, seed: 8 } },
  { name: 'K = 7 (not a power of two)', docs: () => randomSets(9, 12, 0, 30), params: { numHashes: 7, seed: 9 } },
  { name: 'K = 128, sparse to full bins', docs: () => randomSets(10, 20, 0, 600), params: { numHashes: 128, seed: 10 } },
  { name: 'K = 256', docs: () => randomSets(11, 10, 0, 700), params: { numHashes: 256, seed: 11 } },
  { name: 'K = 1024 (the largest)', docs: () => randomSets(12, 4, 0, 2000), params: { numHashes: 1024, seed: 12 } },
  { name: 'small vocabulary: many shingles share bins', docs: () => randomSets(13, 10, 50, 300, 40), params: { numHashes: 64, seed: 13 } },
  { name: 'around the sparse threshold (m² < K uses the rank table)', docs: () => randomSets(18, 40, 6, 16), params: { numHashes: 128, seed: 18 } },
  { name: 'a shingle whose value hash is 0xFFFFFFFF (clamped, not empty)', docs: () => [[shingleWithValue(19, 0xffffffff)], [shingleWithValue(19, 0xffffffff), 5, 6]], params: { numHashes: 16, seed: 19 } },
  { name: 'seed 0xFFFFFFFF', docs: () => randomSets(14, 6, 0, 20), params: { numHashes: 8, seed: 0xffffffff } },
  { name: 'fallback scan (probeRounds = 0)', docs: () => randomSets(15, 20, 0, 12), params: { numHashes: 64, seed: 15 }, probeRounds: 0 },
  { name: 'several planned batches', docs: () => randomSets(16, 300, 0, 60), params: { numHashes: 16, seed: 16 }, maxBindingBytes: 2048 },
  { name: 'more than 65535 documents (2D grid)', docs: () => randomSets(17, 65535 + 1000, 0, 3), params: { numHashes: 2, seed: 17 } },
];

// The CPU backend runs the WebAssembly kernel (ophKernel); ophCpu is the TypeScript oracle.
// Both, and the GPU, must equal the BigInt reference on every case.
const backends: { label: string; backend: () => Backend | null; oracle?: true }[] = [
  { label: 'cpu (WebAssembly kernel)', backend: () => ({ kind: 'cpu', reason: 'test' }) },
  { label: 'cpu oracle (TypeScript)', backend: () => ({ kind: 'cpu', reason: 'test' }), oracle: true },
  { label: gpu.label, backend: () => (gpu.ctx ? { kind: 'gpu', ctx: gpu.ctx } : null) },
];

describe.each(backends)('conformance ($label)', ({ label, backend, oracle }) => {
  it.skipIf(!label.startsWith('cpu') && !gpu.ctx).each(cases)('$name', async ({ docs, params, maxBindingBytes, probeRounds }) => {
    const input = docs();
    const batch = toBatch(input);
    const expected = refSketches(input, params, probeRounds);
    const chosen = backend()!;
    let actual: Uint32Array;
    if (chosen.kind === 'gpu' && (maxBindingBytes !== undefined || probeRounds !== undefined)) {
      actual = await ophGpu(chosen.ctx, batch, params, undefined, { maxBindingBytes, probeRounds });
    } else if (probeRounds !== undefined || oracle) {
      actual = ophCpu(batch, params, probeRounds);
    } else {
      const kernel = ophKernel(batch, params);
      expect(kernel, 'Node has WebAssembly: the kernel must run').not.toBeNull();
      actual = kernel!;
      expect(Buffer.from((await oph(chosen, batch, params)).buffer).equals(Buffer.from(actual.buffer))).toBe(true);
    }
    expect(actual.length).toBe(input.length * (params.numHashes ?? 128));
    expect(Buffer.from(actual.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
  });
});

describe('ophKernel equals ophCpu on seeded batches of every K from 1 to 140 and powers of two to 1024', () => {
  it('bit for bit, batch after batch (the kernel keeps its rank table while K and the seed stay)', () => {
    const ks = [...Array.from({ length: 140 }, (_, i) => i + 1), 256, 512, 1024];
    for (const numHashes of ks) {
      for (const seed of [numHashes, 0xffffffff - numHashes]) {
        const docs = [[], [numHashes], ...randomSets(numHashes * 7 + seed, 6, 0, Math.min(4 * numHashes, 900))];
        const batch = toBatch(docs);
        expect(Buffer.from(ophKernel(batch, { numHashes, seed })!.buffer).equals(Buffer.from(ophCpu(batch, { numHashes, seed }).buffer)), `K ${numHashes} seed ${seed}`).toBe(true);
      }
    }
  });
});

describe('planOphRanges (planCsrRanges, tested with planMinhashRanges in test/minhash.test.ts)', () => {
  it("splits the conformance case 'several planned batches' into many batches", () => {
    expect(planOphRanges(toBatch(randomSets(16, 300, 0, 60)).offsets, 16, 2048, 1 << 30).length).toBeGreaterThan(3);
  });
  it('names the kernel when a document is too large for one binding', () => {
    expect(() => planOphRanges(toBatch([[1, 2, 3, 4, 5]]).offsets, 128, 256, 10)).toThrow(/one-permutation MinHash: a document is too large for one GPU binding/);
  });
});

describe.skipIf(!gpu.ctx)(`GPU pipeline (${gpu.label})`, () => {
  it('two batch sizes and three K of one bin capacity class reuse one compiled pipeline', async () => {
    const ctx = gpu.ctx!;
    expect([65, 100, 128].map(ophBinCapacity)).toEqual([128, 128, 128]);
    await ophGpu(ctx, toBatch(randomSets(20, 3, 1, 10)), { numHashes: 100, seed: 1 });
    const compiled = ctx.pipelines.compiledCount;
    await ophGpu(ctx, toBatch(randomSets(21, 40, 1, 100)), { numHashes: 128, seed: 2 });
    await ophGpu(ctx, toBatch(randomSets(22, 7, 0, 10)), { numHashes: 65, seed: 3 });
    expect(ctx.pipelines.compiledCount).toBe(compiled);
  });
});

describe('ophBinCapacity', () => {
  it('is the smallest power of two >= K, at least 64, at most 1024', () => {
    expect([1, 64, 65, 128, 129, 700, 1024].map(ophBinCapacity)).toEqual([64, 64, 128, 128, 256, 1024, 1024]);
  });
});

/** ophCpu([[1, 2, 3], [7], [], [0, 0xffffffff]], K = 4, seed 42), recorded from refSketches. */
const GOLDEN_K4_SEED42 = [
  4136914957, 3007245362, 1986084526, 1986084526,
  4080522988, 4080522988, 4080522988, 4080522988,
  4294967295, 4294967295, 4294967295, 4294967295,
  3670623496, 4079899673, 3670623496, 3670623496,
];
