import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../fixtures/random.js';
import type { Backend } from '../src/backend.js';
import { histogramCpu, type TokenBatch } from '../src/cpu/histogram.js';
import { TokenmixError } from '../src/errors.js';
import {
  createHistogramAccumulator,
  planTokenChunks,
  planVocabRanges,
  type HistogramOptions,
} from '../src/kernels/histogram.js';
import { openTestGpu } from './helpers/gpu.js';

const gpu = await openTestGpu();
afterAll(() => gpu.ctx?.destroy());

const WG = 256; // the GPU kernel's default workgroup size (tokens per workgroup)

interface BatchSpec {
  docs: number;
  /** Document lengths are uniform in [0, maxLen]; or every document has exactly `length` tokens. */
  maxLen?: number;
  length?: number;
  K: number;
  V: number;
  keepRate?: number;
  emptyRate?: number;
  /** Fraction of ids forced to V - 1 (the last column). */
  lastIdRate?: number;
}

interface Generated {
  batch: TokenBatch;
  /** Expected K×V counts, tallied while generating (independent of both backends). */
  counts: Float64Array;
  tokens: Float64Array;
}

function makeBatch(seed: number, spec: BatchSpec): Generated {
  const random = rng(seed);
  const { docs, K, V } = spec;
  const offsets = new Uint32Array(docs + 1);
  for (let d = 0; d < docs; d++) {
    const empty = random.next() < (spec.emptyRate ?? 0);
    const length = empty ? 0 : spec.length ?? random.int((spec.maxLen ?? 20) + 1);
    offsets[d + 1] = offsets[d] + length;
  }
  const ids = new Uint32Array(offsets[docs]);
  const sources = new Uint32Array(docs);
  const keep = new Uint8Array(docs);
  const counts = new Float64Array(K * V);
  const tokens = new Float64Array(K);
  for (let d = 0; d < docs; d++) {
    sources[d] = random.int(K);
    keep[d] = random.next() < (spec.keepRate ?? 0.7) ? 1 : 0;
    for (let t = offsets[d]; t < offsets[d + 1]; t++) {
      ids[t] = random.next() < (spec.lastIdRate ?? 0) ? V - 1 : random.int(V);
      if (keep[d]) counts[sources[d] * V + ids[t]] += 1;
    }
    if (keep[d]) tokens[sources[d]] += offsets[d + 1] - offsets[d];
  }
  return { batch: { offsets, ids, sources, keep }, counts, tokens };
}

interface Case {
  name: string;
  K: number;
  V: number;
  batches: BatchSpec[];
  options?: HistogramOptions;
}

const cases: Case[] = [
  { name: 'N = 0 documents', K: 3, V: 10, batches: [{ docs: 0, K: 3, V: 10 }] },
  { name: 'N = 1 document', K: 3, V: 10, batches: [{ docs: 1, length: 7, K: 3, V: 10, keepRate: 1 }] },
  ...[WG - 1, WG, WG + 1].map((n) => ({
    name: `${n} tokens in one document (workgroup size ± 1)`,
    K: 2,
    V: 50,
    batches: [{ docs: 1, length: n, K: 2, V: 50, keepRate: 1 }],
  })),
  ...[WG - 1, WG, WG + 1].map((n) => ({
    name: `${n} one-token documents (workgroup size ± 1)`,
    K: 4,
    V: 50,
    batches: [{ docs: n, length: 1, K: 4, V: 50 }],
  })),
  { name: 'empty documents among others', K: 4, V: 100, batches: [{ docs: 500, maxLen: 30, emptyRate: 0.5, K: 4, V: 100 }] },
  { name: 'only empty documents', K: 2, V: 5, batches: [{ docs: 10, emptyRate: 1, K: 2, V: 5 }] },
  { name: 'all documents dropped', K: 4, V: 100, batches: [{ docs: 300, K: 4, V: 100, keepRate: 0 }] },
  { name: 'V = 1, K = 1', K: 1, V: 1, batches: [{ docs: 400, K: 1, V: 1 }] },
  { name: 'V = 257, K = 16, ids at V - 1', K: 16, V: 257, batches: [{ docs: 2000, maxLen: 40, K: 16, V: 257, lastIdRate: 0.3 }] },
  {
    name: 'V = 262144, K = 16, ids at V - 1',
    K: 16,
    V: 262_144,
    batches: [{ docs: 3000, maxLen: 200, K: 16, V: 262_144, lastIdRate: 0.1 }],
  },
  {
    name: 'three batches accumulate (one all dropped)',
    K: 5,
    V: 300,
    batches: [
      { docs: 700, K: 5, V: 300 },
      { docs: 50, K: 5, V: 300, keepRate: 0 },
      { docs: 1200, maxLen: 60, K: 5, V: 300, emptyRate: 0.2 },
    ],
  },
  {
    name: 'token chunks of 100 split documents across dispatches',
    K: 3,
    V: 64,
    batches: [{ docs: 40, maxLen: 500, emptyRate: 0.2, K: 3, V: 64 }],
    options: { maxTokensPerDispatch: 100 },
  },
  {
    name: 'count table split into 7 vocabulary ranges',
    K: 3,
    V: 1000,
    batches: [{ docs: 500, maxLen: 50, K: 3, V: 1000, lastIdRate: 0.1 }],
    options: { maxTableBindingBytes: 3 * 150 * 8 },
  },
  {
    name: '2D grid (workgroups beyond the per-dimension cap, with overshoot)',
    K: 2,
    V: 40,
    batches: [{ docs: 100, length: 20, K: 2, V: 40 }],
    options: { maxWorkgroupsPerDimension: 3 }, // 2000 tokens = 8 workgroups on a 3 × 3 grid
  },
  {
    name: 'more than 65535 workgroups (16-token workgroups, 65535 × 16 + 1 tokens)',
    K: 2,
    V: 1000,
    batches: [{ docs: 1, length: 65_535 * 16 + 1, K: 2, V: 1000, keepRate: 1 }],
    options: { workgroupSize: 16 },
  },
];

const backends: { label: string; backend: () => Backend; skip: boolean }[] = [
  { label: 'cpu', backend: () => ({ kind: 'cpu', reason: 'test' }), skip: false },
  { label: gpu.label, backend: () => ({ kind: 'gpu', ctx: gpu.ctx! }), skip: !gpu.ctx },
];

const sameBits = (a: Float64Array, b: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

for (const { label, backend, skip } of backends) {
  describe.skipIf(skip)(`histogram conformance (${label})`, () => {
    it.each(cases)('$name', async ({ K, V, batches, options }) => {
      const generated = batches.map((spec, i) => makeBatch(1000 + i * 17 + V, spec));
      const expected = new Float64Array(K * V);
      const tokens = new Float64Array(K);
      for (const g of generated) {
        for (let i = 0; i < expected.length; i++) expected[i] += g.counts[i];
        for (let k = 0; k < K; k++) tokens[k] += g.tokens[k];
      }
      const acc = createHistogramAccumulator(backend(), { numSources: K, vocabSize: V }, options);
      try {
        for (const g of generated) await acc.add(g.batch);
        expect(sameBits(await acc.read(), expected)).toBe(true);
        expect(Array.from(acc.tokensPerSource)).toEqual(Array.from(tokens));
      } finally {
        acc.destroy();
      }
    });

    it('carries past 2^32 exactly: merged counts, then concurrent +1s, then a merge that wraps again', async () => {
      const K = 2;
      const V = 8;
      const acc = createHistogramAccumulator(backend(), { numSources: K, vocabSize: V });
      try {
        const merged = new Float64Array(K * V);
        merged[1 * V + 5] = 2 ** 32 - 1;
        merged[0 * V + 0] = 3 * 2 ** 32 + 7;
        await acc.addCounts(merged);
        // Five +1s on the cell at 2^32 - 1 in one dispatch: exactly one sees the low word wrap.
        const batch: TokenBatch = {
          offsets: new Uint32Array([0, 5, 10]),
          ids: new Uint32Array([5, 5, 5, 5, 5, 5, 5, 5, 5, 5]),
          sources: new Uint32Array([1, 1]),
          keep: new Uint8Array([1, 0]),
        };
        await acc.add(batch);
        const again = new Float64Array(K * V);
        again[1 * V + 5] = 2 ** 32 - 1; // low word 4 + (2^32 - 1) wraps in the merge path
        await acc.addCounts(again);
        const counts = await acc.read();
        expect(counts[1 * V + 5]).toBe(2 ** 33 + 3);
        expect(counts[0]).toBe(3 * 2 ** 32 + 7);
        expect(counts.reduce((a, b) => a + b, 0)).toBe(2 ** 33 + 3 + 3 * 2 ** 32 + 7);
        expect(Array.from(acc.tokensPerSource)).toEqual([3 * 2 ** 32 + 7, 2 ** 33 + 3]);
      } finally {
        acc.destroy();
      }
    });

    it('refuses to read a count that reached 2^53 (no longer exact)', async () => {
      const acc = createHistogramAccumulator(backend(), { numSources: 1, vocabSize: 3 });
      try {
        await acc.addCounts(new Float64Array([0, 2 ** 53 - 1, 0]));
        await acc.add({ offsets: new Uint32Array([0, 1]), ids: new Uint32Array([1]), sources: new Uint32Array([0]), keep: new Uint8Array([1]) });
        await expect(acc.read()).rejects.toThrow(/source 0, token 1 reached 2\^53/);
      } finally {
        acc.destroy();
      }
    });

    const invalid: { name: string; batch: TokenBatch; message: RegExp }[] = [
      {
        name: 'id outside the vocabulary',
        batch: { offsets: new Uint32Array([0, 2, 2, 6]), ids: new Uint32Array([1, 2, 3, 4, 9, 10]), sources: new Uint32Array([0, 1, 0]), keep: new Uint8Array([1, 1, 0]) },
        message: /document 2, token 3 has id 10, outside the vocabulary of 10/,
      },
      {
        name: 'source out of range',
        batch: { offsets: new Uint32Array([0, 1, 2]), ids: new Uint32Array([1, 2]), sources: new Uint32Array([0, 2]), keep: new Uint8Array([1, 1]) },
        message: /document 1 has source 2, but only 2 sources are configured/,
      },
      {
        name: 'keep flag not 0/1',
        batch: { offsets: new Uint32Array([0, 1]), ids: new Uint32Array([1]), sources: new Uint32Array([0]), keep: new Uint8Array([2]) },
        message: /keep flag of document 0 is 2/,
      },
      {
        name: 'offsets that do not end at ids.length',
        batch: { offsets: new Uint32Array([0, 3]), ids: new Uint32Array([1]), sources: new Uint32Array([0]), keep: new Uint8Array([1]) },
        message: /offsets must start at 0 and end at ids.length = 1/,
      },
      {
        name: 'decreasing offsets',
        batch: { offsets: new Uint32Array([0, 3, 1, 3]), ids: new Uint32Array(3), sources: new Uint32Array(3), keep: new Uint8Array(3) },
        message: /offsets decrease at document 1/,
      },
    ];
    it.each(invalid)('rejects a batch with $name, naming where', async ({ batch, message }) => {
      const acc = createHistogramAccumulator(backend(), { numSources: 2, vocabSize: 10 });
      try {
        await expect(acc.add(batch)).rejects.toThrow(message);
        await expect(acc.add(batch)).rejects.toBeInstanceOf(TokenmixError);
        await expect(acc.addCounts(new Float64Array(20).fill(0.5))).rejects.toThrow(/counts must be integers/);
      } finally {
        acc.destroy();
      }
    });

    it('destroy() is idempotent and the accumulator refuses use afterwards', async () => {
      const acc = createHistogramAccumulator(backend(), { numSources: 1, vocabSize: 4 });
      acc.destroy();
      acc.destroy();
      await expect(acc.read()).rejects.toThrow(/after destroy/);
    });
  });
}

describe('histogramCpu (single batch) agrees with the generator tallies', () => {
  it.each([1, 2, 3])('seed %i', (seed) => {
    const g = makeBatch(seed, { docs: 300, maxLen: 30, emptyRate: 0.1, K: 3, V: 40 });
    expect(sameBits(histogramCpu(g.batch, { numSources: 3, vocabSize: 40 }), g.counts)).toBe(true);
  });
});

describe('histogram planning', () => {
  const MiB = 2 ** 20;
  it('keeps K = 16 × V = 256k in one 32 MiB table under the 128 MiB binding', () => {
    expect(planVocabRanges(16, 262_144, 128 * MiB)).toEqual([{ start: 0, end: 262_144 }]);
  });
  it.each([
    { K: 64, V: 1_000_000, max: 128 * MiB },
    { K: 3, V: 1000, max: 3 * 150 * 8 },
    { K: 1, V: 1, max: 8 },
  ])('vocabulary ranges for K=$K V=$V fit $max bytes and cover V', ({ K, V, max }) => {
    const ranges = planVocabRanges(K, V, max);
    let next = 0;
    for (const r of ranges) {
      expect(r.start).toBe(next);
      expect(K * (r.end - r.start) * 8).toBeLessThanOrEqual(max);
      next = r.end;
    }
    expect(next).toBe(V);
  });
  it('refuses more sources than one token column can hold', () => {
    expect(() => planVocabRanges(100, 10, 799)).toThrow(/100 sources need 800 bytes per token column/);
  });

  const csr = (lengths: number[]) => {
    const offsets = new Uint32Array(lengths.length + 1);
    lengths.forEach((n, i) => (offsets[i + 1] = offsets[i] + n));
    return offsets;
  };
  const chunkCases = [
    { name: 'no documents', lengths: [], maxTokens: 4, maxDocs: 4 },
    { name: 'only empty documents', lengths: [0, 0, 0], maxTokens: 4, maxDocs: 4 },
    { name: 'one long document', lengths: [10], maxTokens: 3, maxDocs: 1 },
    { name: 'empty documents at the edges', lengths: [0, 0, 3, 0, 5, 0, 0, 2, 0], maxTokens: 4, maxDocs: 3 },
    { name: 'document limit binds', lengths: [1, 1, 1, 1, 1, 1, 1], maxTokens: 100, maxDocs: 2 },
    { name: 'random', lengths: Array.from({ length: 200 }, (_, i) => (i * 7919) % 13), maxTokens: 17, maxDocs: 5 },
  ];
  it.each(chunkCases)('token chunks: $name', ({ lengths, maxTokens, maxDocs }) => {
    const offsets = csr(lengths);
    const total = offsets[offsets.length - 1];
    const chunks = planTokenChunks(offsets, maxTokens, maxDocs);
    let next = 0;
    for (const c of chunks) {
      expect(c.tokenStart).toBe(next);
      expect(c.tokenEnd).toBeGreaterThan(c.tokenStart);
      expect(c.tokenEnd - c.tokenStart).toBeLessThanOrEqual(maxTokens);
      expect(c.docEnd - c.docStart).toBeLessThanOrEqual(maxDocs);
      // Every token of the chunk belongs to one of its documents.
      expect(offsets[c.docStart]).toBeLessThanOrEqual(c.tokenStart);
      expect(offsets[c.docEnd]).toBeGreaterThanOrEqual(c.tokenEnd);
      next = c.tokenEnd;
    }
    expect(next).toBe(total);
  });
});

describe.skipIf(!gpu.ctx)(`histogram GPU resources (${gpu.label})`, () => {
  it('compiles the count pipeline once for two batch sizes', async () => {
    const ctx = gpu.ctx!;
    const acc = createHistogramAccumulator({ kind: 'gpu', ctx }, { numSources: 4, vocabSize: 100 });
    try {
      await acc.add(makeBatch(1, { docs: 10, K: 4, V: 100, keepRate: 1 }).batch);
      const compiled = ctx.pipelines.compiledCount;
      await acc.add(makeBatch(2, { docs: 5000, K: 4, V: 100 }).batch);
      expect(ctx.pipelines.compiledCount).toBe(compiled);
    } finally {
      acc.destroy();
    }
  });
});
