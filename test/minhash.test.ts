import { afterAll, describe, expect, it } from 'vitest';
import { rng, type Rng } from '../fixtures/random.js';
import type { Backend } from '../src/backend.js';
import {
  estimateJaccard,
  jaccardExact,
  minhashConstants,
  minhashCpu,
  mixShingle,
  shingleHash,
  splitmix32,
  type MinhashParams,
  type TokenBatch,
} from '../src/cpu/minhash.js';
import { TokenmixError } from '../src/errors.js';
import { MINHASH_WORKGROUP_SIZE, minhash, minhashGpu, planMinhashRanges } from '../src/kernels/minhash.js';
import { fmix32, hashToken, hashTokens, murmur3Bytes, TOKEN_HASH_SEED } from '../src/text/hash.js';
import { openTestGpu } from './helpers/gpu.js';

const gpu = await openTestGpu();
afterAll(() => gpu.ctx?.destroy());

const utf8 = (text: string) => new TextEncoder().encode(text);

// ---------------------------------------------------------------------------------------
// An independent reference of the hash family, written from the header of
// src/cpu/minhash.ts with BigInt arithmetic and byte strings (no Math.imul, no shared code
// except murmur3Bytes, which the published MurmurHash3 test vectors pin below).
const MASK = 0xffffffffn;
const mul = (x: bigint, y: bigint) => (x * y) & MASK;
const xorShift = (x: bigint, s: bigint) => x ^ (x >> s);
function refFmix32(x: bigint): bigint {
  let h = xorShift(x, 16n);
  h = mul(h, 0x85ebca6bn);
  h = xorShift(h, 13n);
  h = mul(h, 0xc2b2ae35n);
  return xorShift(h, 16n);
}
function refConstants(seed: number, numHashes: number) {
  let state = BigInt(seed);
  const next = () => {
    state = (state + 0x9e3779b9n) & MASK;
    return refFmix32(state); // splitmix32's output function is exactly fmix32
  };
  const shingleSeed = Number(next());
  const mixers: bigint[][] = [];
  for (let k = 0; k < numHashes; k++) mixers.push([next(), next() | 1n, next()]);
  return { shingleSeed, mixers };
}
function leBytes(words: number[]): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  words.forEach((w, i) => {
    for (let b = 0; b < 4; b++) bytes[4 * i + b] = (w >>> (8 * b)) & 0xff;
  });
  return bytes;
}
/** Signatures of `docs` (arrays of word hashes) straight from the documented family. */
function refSignatures(docs: number[][], params: MinhashParams): Uint32Array {
  const K = params.numHashes ?? 128;
  const { shingleSeed, mixers } = refConstants(params.seed, K);
  const out = new Uint32Array(docs.length * K);
  docs.forEach((words, d) => {
    const shingles: number[][] = [];
    if (words.length > 0 && words.length < params.ngram) shingles.push(words);
    for (let i = 0; i + params.ngram <= words.length; i++) shingles.push(words.slice(i, i + params.ngram));
    const hashes = [...new Set(shingles.map((s) => BigInt(murmur3Bytes(leBytes(s), shingleSeed))))];
    for (let k = 0; k < K; k++) {
      const [a, b, c] = mixers[k];
      let min = MASK;
      for (const x of hashes) {
        const v = refFmix32((mul(x ^ a, b) + c) & MASK);
        if (v < min) min = v;
      }
      out[d * K + k] = Number(min);
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------
function toBatch(docs: number[][]): TokenBatch {
  const offsets = new Uint32Array(docs.length + 1);
  docs.forEach((doc, d) => (offsets[d + 1] = offsets[d] + doc.length));
  const tokens = new Uint32Array(offsets[docs.length]);
  docs.forEach((doc, d) => tokens.set(doc, offsets[d]));
  return { offsets, tokens };
}
function randomDocs(r: Rng, count: number, minWords: number, maxWords: number, vocabulary = 0): number[][] {
  const docs: number[][] = [];
  for (let d = 0; d < count; d++) {
    const length = minWords + r.int(maxWords - minWords + 1);
    docs.push(Array.from({ length }, () => (vocabulary > 0 ? r.int(vocabulary) : r.u32())));
  }
  return docs;
}
const lengths = (list: number[]) => list.map((length) => Array.from({ length }, (_, i) => (i * 0x9e3779b1 + length) >>> 0));

interface Case {
  name: string;
  docs: () => number[][];
  params: MinhashParams;
  /** Internal planner limit to force several batches. */
  maxBindingBytes?: number;
}
const WG = MINHASH_WORKGROUP_SIZE;
const cases: Case[] = [
  { name: 'no documents', docs: () => [], params: { ngram: 5, seed: 1 } },
  { name: 'one document', docs: () => randomDocs(rng(1), 1, 30, 30), params: { ngram: 5, seed: 1 } },
  { name: 'WG-1 documents', docs: () => randomDocs(rng(2), WG - 1, 0, 40), params: { ngram: 3, seed: 2 } },
  { name: 'WG documents', docs: () => randomDocs(rng(3), WG, 0, 40), params: { ngram: 3, seed: 3 } },
  { name: 'WG+1 documents', docs: () => randomDocs(rng(4), WG + 1, 0, 40), params: { ngram: 3, seed: 4 } },
  { name: '0, 1, n-1, n, n+1 words (n=5)', docs: () => lengths([0, 1, 4, 5, 6, 0]), params: { ngram: 5, seed: 5 } },
  { name: '0, 1, n-1, n, n+1 words (n=3)', docs: () => lengths([1, 2, 3, 4, 0]), params: { ngram: 3, seed: 6 } },
  { name: 'ngram 1', docs: () => randomDocs(rng(7), 20, 0, 50, 30), params: { ngram: 1, seed: 7 } },
  { name: 'K = 1', docs: () => randomDocs(rng(8), 12, 0, 30), params: { ngram: 3, numHashes: 1, seed: 8 } },
  { name: 'K = 64', docs: () => randomDocs(rng(9), 12, 0, 30), params: { ngram: 5, numHashes: 64, seed: 9 } },
  // One round of the shader covers WG * 16 = 128 slots.
  { name: 'K = 127', docs: () => randomDocs(rng(10), 5, 1, 30), params: { ngram: 2, numHashes: 127, seed: 10 } },
  { name: 'K = 128', docs: () => randomDocs(rng(17), 9, 0, 60), params: { ngram: 5, numHashes: 128, seed: 17 } },
  { name: 'K = 129', docs: () => randomDocs(rng(18), 5, 1, 30), params: { ngram: 2, numHashes: 129, seed: 18 } },
  { name: 'K = 200 (not a multiple of the slots per round)', docs: () => randomDocs(rng(11), 10, 0, 40), params: { ngram: 5, numHashes: 200, seed: 11 } },
  // The shader hashes 256 shingles per chunk, 4 at a time.
  { name: 'shingles around chunk edges', docs: () => lengths([255, 256, 257, 258, 511, 512, 513, 1030].map((s) => s + 4)), params: { ngram: 5, numHashes: 32, seed: 12 } },
  { name: 'repeated words and shingles', docs: () => randomDocs(rng(13), 10, 50, 300, 3), params: { ngram: 2, numHashes: 16, seed: 13 } },
  { name: 'seed 0xFFFFFFFF', docs: () => randomDocs(rng(14), 4, 0, 20), params: { ngram: 4, numHashes: 8, seed: 0xffffffff } },
  {
    name: 'more than 65535 documents (2D grid)',
    docs: () => randomDocs(rng(15), 65535 + 1000, 0, 3),
    params: { ngram: 2, numHashes: 2, seed: 15 },
  },
  {
    name: 'several planned batches',
    docs: () => randomDocs(rng(16), 300, 0, 60),
    params: { ngram: 3, numHashes: 16, seed: 16 },
    maxBindingBytes: 2048,
  },
];

describe('the documented hash family', () => {
  it('MurmurHash3_x86_32 matches the published test vectors', () => {
    const vectors: [string, number, number][] = [
      ['', 0, 0],
      ['', 1, 0x514e28b7],
      ['', 0xffffffff, 0x81f16f39],
      ['\0\0\0\0', 0, 0x2362f9de],
      ['a', 0x9747b28c, 0x7fa09ea6],
      ['ab', 0, 0x9bbfd75f],
      ['abc', 0, 0xb3dd93fa],
      ['aaaa', 0x9747b28c, 0x5a97808a],
      ['hello', 0, 0x248bfa47],
      ['Hello, world!', 0x9747b28c, 0x24884cba],
      ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
    ];
    for (const [text, seed, expected] of vectors) expect(murmur3Bytes(utf8(text), seed)).toBe(expected);
  });
  it('fmix32 is the MurmurHash3 finalizer (murmur3("", seed) = fmix32(seed))', () => {
    expect(fmix32(0)).toBe(0);
    expect(fmix32(1)).toBe(0x514e28b7);
    expect(fmix32(0xffffffff)).toBe(0x81f16f39);
  });
  it('hashToken is murmur3 of the UTF-8 bytes with the fixed seed', () => {
    const tokens = ['', 'a', 'hello', 'abcd', 'abcdefg', 'héllo', '日本語', '🙂x', 'a\ud800b', 'x'.repeat(300), 'é'.repeat(200)];
    for (const token of tokens) expect(hashToken(token)).toBe(murmur3Bytes(utf8(token), TOKEN_HASH_SEED));
    expect(Array.from(hashTokens(tokens))).toEqual(tokens.map(hashToken));
  });
  it('hashToken encodes any UTF-16 string like TextEncoder (seeded random strings)', () => {
    const r = rng(77);
    const unit = [
      () => String.fromCharCode(r.int(0x80)),
      () => String.fromCharCode(0x80 + r.int(0x780)),
      () => String.fromCharCode(0x800 + r.int(0xd000)),
      () => String.fromCodePoint(0x10000 + r.int(0x100000 - 0x10000)),
      () => String.fromCharCode(0xd800 + r.int(0x800)), // lone surrogates -> U+FFFD
    ];
    for (let i = 0; i < 3000; i++) {
      const token = Array.from({ length: r.int(14) }, () => unit[r.int(unit.length)]()).join('');
      expect(hashToken(token)).toBe(murmur3Bytes(utf8(token), TOKEN_HASH_SEED));
    }
  });
  it('splitmix32 is fmix32 of a Weyl sequence', () => {
    const next = splitmix32(0xfffffff0);
    for (let i = 1; i <= 4; i++) expect(next()).toBe(fmix32((0xfffffff0 + i * 0x9e3779b9) >>> 0));
  });
  it('constants, shingle hash and mixers agree with the BigInt reference', () => {
    for (const seed of [0, 1, 0xdeadbeef, 0xffffffff]) {
      const ref = refConstants(seed, 5);
      const constants = minhashConstants({ ngram: 3, numHashes: 5, seed });
      expect(constants.shingleSeed).toBe(ref.shingleSeed);
      expect(Array.from(constants.mixers)).toEqual(ref.mixers.flatMap(([a, b, c]) => [Number(a), Number(b), Number(c), 0]));
    }
    const words = new Uint32Array([0, 1, 0xffffffff, 0x12345678, 7]);
    expect(shingleHash(words, 1, 3, 99)).toBe(murmur3Bytes(leBytes([1, 0xffffffff, 0x12345678]), 99));
    // Two hand-checkable mixer values: x ^ a = 0, 0 * b + c = c, so h = fmix32(c).
    expect(mixShingle(5, 5, 0x1234567, 1)).toBe(0x514e28b7);
    expect(mixShingle(0xffffffff, 0xffffffff, 3, 0)).toBe(0);
  });
  it('minhashCpu equals the reference on mixed documents', () => {
    const docs = [...lengths([0, 1, 2, 3, 4, 9]), ...randomDocs(rng(99), 6, 0, 25, 5)];
    for (const ngram of [1, 3, 5]) {
      const params = { ngram, numHashes: 7, seed: 31 };
      expect(Array.from(minhashCpu(toBatch(docs), params))).toEqual(Array.from(refSignatures(docs, params)));
    }
  });
  it('empty documents have all slots 0xFFFFFFFF; short documents are one shingle', () => {
    const sig = minhashCpu(toBatch([[], [1, 2], [1, 2]]), { ngram: 5, numHashes: 4, seed: 0 });
    expect(Array.from(sig.subarray(0, 4))).toEqual([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);
    expect(Array.from(sig.subarray(4, 8))).toEqual(Array.from(sig.subarray(8, 12)));
    expect(sig.subarray(4, 8).every((v) => v !== 0xffffffff)).toBe(true);
  });
});

describe('estimateJaccard and jaccardExact', () => {
  it('counts equal slots; two empty signatures are identical', () => {
    expect(estimateJaccard(new Uint32Array([1, 2, 3, 4]), new Uint32Array([1, 9, 3, 9]))).toBe(0.5);
    const empty = new Uint32Array(8).fill(0xffffffff);
    expect(estimateJaccard(empty, empty.slice())).toBe(1);
    expect(() => estimateJaccard(new Uint32Array(2), new Uint32Array(3))).toThrow(TokenmixError);
  });
  it('jaccardExact', () => {
    expect(jaccardExact([1, 2, 3], [2, 3, 4])).toBe(0.5);
    expect(jaccardExact([], [])).toBe(1);
    expect(jaccardExact([1], [])).toBe(0);
  });
});

describe('input checks', () => {
  const good = toBatch([[1, 2, 3]]);
  it.each([
    { name: 'ngram 0', params: { ngram: 0, seed: 1 } },
    { name: 'K = 0', params: { ngram: 1, numHashes: 0, seed: 1 } },
    { name: 'negative seed', params: { ngram: 1, seed: -1 } },
    { name: 'seed >= 2^32', params: { ngram: 1, seed: 2 ** 32 } },
  ])('rejects $name', ({ params }) => {
    expect(() => minhashCpu(good, params)).toThrow(TokenmixError);
  });
  it.each([
    { name: 'offsets not starting at 0', batch: { offsets: new Uint32Array([1, 3]), tokens: new Uint32Array(3) } },
    { name: 'decreasing offsets', batch: { offsets: new Uint32Array([0, 3, 2, 3]), tokens: new Uint32Array(3) } },
    { name: 'offsets not ending at the token count', batch: { offsets: new Uint32Array([0, 2]), tokens: new Uint32Array(3) } },
    { name: 'no offsets', batch: { offsets: new Uint32Array(0), tokens: new Uint32Array(0) } },
  ])('rejects $name', ({ batch }) => {
    expect(() => minhashCpu(batch, { ngram: 1, seed: 1 })).toThrow(TokenmixError);
  });
});

describe('planMinhashRanges', () => {
  const offsets = toBatch(lengths([0, 5, 100, 3, 0, 40, 7])).offsets;
  it('covers every document in order, each range within the byte and document limits', () => {
    for (const [maxBytes, maxDocs] of [[4096, 100], [512, 100], [512, 2], [1 << 20, 1]]) {
      const ranges = planMinhashRanges(offsets, 4, maxBytes, maxDocs);
      expect(ranges[0].start).toBe(0);
      expect(ranges.at(-1)!.end).toBe(7);
      ranges.forEach((range, i) => {
        if (i > 0) expect(range.start).toBe(ranges[i - 1].end);
        const docs = range.end - range.start;
        expect(docs).toBeGreaterThan(0);
        expect(docs).toBeLessThanOrEqual(maxDocs);
        expect((offsets[range.end] - offsets[range.start]) * 4).toBeLessThanOrEqual(maxBytes);
        expect(docs * 4 * 4).toBeLessThanOrEqual(maxBytes);
      });
    }
  });
  it("splits the conformance case 'several planned batches' into many batches", () => {
    const batch = toBatch(randomDocs(rng(16), 300, 0, 60));
    expect(planMinhashRanges(batch.offsets, 16, 2048, 1 << 30).length).toBeGreaterThan(3);
  });
  it('plans nothing for no documents', () => {
    expect(planMinhashRanges(new Uint32Array([0]), 128, 1024, 10)).toEqual([]);
  });
  it('names a document too large for one binding', () => {
    expect(() => planMinhashRanges(offsets, 4, 256, 10)).toThrow(/too large for one GPU binding/);
  });
});

const backends: { label: string; backend: () => Backend | null }[] = [
  { label: 'cpu', backend: () => ({ kind: 'cpu', reason: 'test' }) },
  { label: gpu.label, backend: () => (gpu.ctx ? { kind: 'gpu', ctx: gpu.ctx } : null) },
];

describe.each(backends)('conformance ($label)', ({ label, backend }) => {
  it.skipIf(label !== 'cpu' && !gpu.ctx).each(cases)('$name', async ({ docs, params, maxBindingBytes }) => {
    const input = docs();
    const batch = toBatch(input);
    const expected = refSignatures(input, params);
    const chosen = backend()!;
    const actual =
      chosen.kind === 'gpu' && maxBindingBytes !== undefined
        ? await minhashGpu(chosen.ctx, batch, params, undefined, { maxBindingBytes })
        : await minhash(chosen, batch, params);
    expect(actual.length).toBe(input.length * (params.numHashes ?? 128));
    expect(Buffer.from(actual.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
  });
});

describe.skipIf(!gpu.ctx)(`GPU pipeline and planning (${gpu.label})`, () => {
  it('two batch sizes and two K reuse one compiled pipeline', async () => {
    const ctx = gpu.ctx!;
    await minhashGpu(ctx, toBatch(randomDocs(rng(20), 3, 1, 10)), { ngram: 2, numHashes: 8, seed: 1 });
    const compiled = ctx.pipelines.compiledCount;
    await minhashGpu(ctx, toBatch(randomDocs(rng(21), 40, 1, 100)), { ngram: 5, numHashes: 128, seed: 2 });
    await minhashGpu(ctx, toBatch(randomDocs(rng(22), 7, 0, 10)), { ngram: 1, numHashes: 3, seed: 3 });
    expect(ctx.pipelines.compiledCount).toBe(compiled);
  });
});
