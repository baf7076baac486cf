/**
 * ShingleBatchBuilder packs shingle sets into CSR batches in reused arrays. Each batch is checked
 * against a CSR built here by hand (offsets = prefix sums of the set lengths, shingles = the sets
 * concatenated) as well as against `shingleBatch`.
 */
import { describe, expect, it } from 'vitest';
import { shingleBatch, ShingleBatchBuilder, validateShingleBatch } from '../../src/cpu/oph.js';
import { mulberry32 } from '../../fixtures/random.js';

/** Seeded random sets of u32 shingles, about `emptyShare` of them empty. */
function randomSets(seed: number, documents: number, maxLength: number, emptyShare = 0.2): Uint32Array[] {
  const random = mulberry32(seed);
  return Array.from({ length: documents }, () => {
    if (random() < emptyShare) return new Uint32Array(0);
    const set = new Uint32Array(1 + Math.floor(random() * maxLength));
    for (let i = 0; i < set.length; i++) set[i] = Math.floor(random() * 4294967296) >>> 0;
    return set;
  });
}

/** The reference CSR, as plain arrays. */
function handCsr(sets: Uint32Array[]): { offsets: number[]; shingles: number[] } {
  const offsets = [0];
  const shingles: number[] = [];
  for (const set of sets) {
    for (const value of set) shingles.push(value);
    offsets.push(offsets[offsets.length - 1] + set.length);
  }
  return { offsets, shingles };
}

/** Builds one batch of `sets` with `builder` and checks it; returns the batch. */
function buildAndCheck(builder: ShingleBatchBuilder, sets: Uint32Array[]) {
  builder.start(sets.length);
  sets.forEach((set, d) => {
    builder.add(set);
    // The set just added is the batch's last (a batch so far is valid until the next add/start).
    const sofar = builder.batch();
    expect(Array.from(sofar.shingles.subarray(sofar.offsets[d], sofar.offsets[d + 1]))).toEqual(Array.from(set));
  });
  const batch = builder.batch();
  const hand = handCsr(sets);
  expect(Array.from(batch.offsets)).toEqual(hand.offsets);
  expect(Array.from(batch.shingles)).toEqual(hand.shingles);
  const reference = shingleBatch(sets);
  expect(batch.offsets).toEqual(reference.offsets);
  expect(batch.shingles).toEqual(reference.shingles);
  expect(validateShingleBatch(batch)).toBe(sets.length);
  // Every set is still readable by index once the batch is complete.
  sets.forEach((set, d) => expect(Array.from(batch.shingles.subarray(batch.offsets[d], batch.offsets[d + 1]))).toEqual(Array.from(set)));
  return batch;
}

describe('ShingleBatchBuilder', () => {
  it('the hand-built reference is right on a tiny example', () => {
    const sets = [Uint32Array.of(5, 6), new Uint32Array(0), Uint32Array.of(7), Uint32Array.of(0xffffffff, 1, 2)];
    expect(handCsr(sets)).toEqual({ offsets: [0, 2, 2, 3, 6], shingles: [5, 6, 7, 0xffffffff, 1, 2] });
    const batch = buildAndCheck(new ShingleBatchBuilder(), sets);
    expect(Array.from(batch.offsets)).toEqual([0, 2, 2, 3, 6]);
  });

  it.each([1, 2, 3])('seeded random sets, including empty ones (seed %i)', (seed) => {
    const sets = randomSets(seed, 200, 60);
    expect(sets.some((s) => s.length === 0)).toBe(true);
    buildAndCheck(new ShingleBatchBuilder(), sets);
  });

  it('only empty sets', () => {
    const sets = Array.from({ length: 5 }, () => new Uint32Array(0));
    const batch = buildAndCheck(new ShingleBatchBuilder(), sets);
    expect(batch.shingles.length).toBe(0);
    expect(Array.from(batch.offsets)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('zero documents', () => {
    const builder = new ShingleBatchBuilder();
    const batch = buildAndCheck(builder, []);
    expect(Array.from(batch.offsets)).toEqual([0]);
    expect(batch.shingles.length).toBe(0);
    // Zero documents after a non-empty batch too.
    buildAndCheck(builder, randomSets(4, 10, 30));
    const again = buildAndCheck(builder, []);
    expect(Array.from(again.offsets)).toEqual([0]);
    expect(again.shingles.length).toBe(0);
  });

  it('grows past the initial 65536-shingle capacity, keeping what was already added', () => {
    // ~400 sets of up to 1000: well past 65536 shingles, crossing it mid-batch (and mid-set).
    const sets = randomSets(5, 400, 1000, 0.1);
    const total = sets.reduce((n, s) => n + s.length, 0);
    expect(total).toBeGreaterThan(2 * 65536);
    buildAndCheck(new ShingleBatchBuilder(), sets);
    // One set bigger than twice the capacity, added to a builder that already holds some.
    const [small1, small2, small3] = randomSets(6, 3, 20, 0);
    const random = mulberry32(8);
    const big = Uint32Array.from({ length: 200_000 }, () => Math.floor(random() * 4294967296) >>> 0);
    buildAndCheck(new ShingleBatchBuilder(), [small1, big, small2, new Uint32Array(0), small3]);
  });

  it('reuse across start() calls of different sizes: the current batch is always right', () => {
    const builder = new ShingleBatchBuilder();
    const sizes = [10, 500, 3, 0, 1200, 7, 1200, 40];
    sizes.forEach((documents, i) => {
      const maxLength = i === 4 ? 300 : 50; // one batch forces growth; later smaller ones reuse it
      buildAndCheck(builder, randomSets(100 + i, documents, maxLength));
    });
  });

  it('a builder whose previous batch was transferred away still builds correct batches', () => {
    const builder = new ShingleBatchBuilder();
    for (let round = 0; round < 4; round++) {
      const sets = randomSets(200 + round, 50 + 100 * round, round === 2 ? 2000 : 40);
      const batch = buildAndCheck(builder, sets);
      const hand = handCsr(sets);
      const moved = structuredClone(batch, { transfer: [batch.shingles.buffer, batch.offsets.buffer] });
      // The transfer detached the builder's own arrays...
      expect(batch.shingles.buffer.byteLength).toBe(0);
      expect(batch.offsets.buffer.byteLength).toBe(0);
      // ...and the receiver got the batch intact.
      expect(Array.from(moved.offsets)).toEqual(hand.offsets);
      expect(Array.from(moved.shingles)).toEqual(hand.shingles);
    }
    // And after only the shingles (not the offsets) were transferred.
    const sets = randomSets(300, 80, 40);
    const batch = buildAndCheck(builder, sets);
    structuredClone(batch.shingles, { transfer: [batch.shingles.buffer] });
    buildAndCheck(builder, randomSets(301, 60, 40));
    // And after only the offsets were transferred.
    const next = builder.batch();
    structuredClone(next.offsets, { transfer: [next.offsets.buffer] });
    buildAndCheck(builder, randomSets(302, 90, 40));
  });
});
