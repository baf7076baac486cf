import { describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { jaccardPrefix, KeptIndex } from '../../src/dedup/kept-index.js';
import { verifyPair } from '../../src/dedup/shingles.js';

/** A sorted set of u32 from `base` (shared with its family) and `own` fresh elements. */
function family(r: ReturnType<typeof rng>, base: number[], keep: number, own: number): Uint32Array {
  const picked = r.shuffle([...base]).slice(0, keep);
  const fresh = Array.from({ length: own }, () => r.u32());
  return Uint32Array.from(new Set([...picked, ...fresh])).sort();
}

describe('KeptIndex bitmap bound (an exact filter)', () => {
  for (const [size, threshold] of [[40, 0.8], [700, 0.8], [700, 0.7], [3000, 0.9], [1, 0.5]] as const) {
    it(`never drops a kept member that passes, and drops some that fail (|set| ≈ ${size}, T = ${threshold})`, () => {
      const r = rng(size * 31 + Math.round(threshold * 10));
      const base = Array.from({ length: size }, () => r.u32());
      // J with the base spread from ~0.3 to 1: some pass, many fail, many fail narrowly.
      const sets = Array.from({ length: 300 }, (_, d) => family(r, base, Math.max(1, Math.round(size * (0.45 + 0.55 * (d % 60) / 59))), r.int(Math.max(2, size / 4))));
      // The prefix filter is made to let everything through (the whole set is its "prefix"),
      // so candidates are exactly the ones the bound keeps.
      const index = new KeptIndex((d) => sets[d], (d) => d, { set: (d) => sets[d], threshold });
      const kept = 200;
      for (let k = 0; k < kept; k++) index.add(k, k);
      let passing = 0;
      let dropped = 0;
      for (let q = kept; q < sets.length; q++) {
        const candidates = new Set(index.candidatesFrom(q, 0));
        for (let k = 0; k < kept; k++) {
          const shares = sets[q].some((e) => sets[k].includes(e));
          const passes = verifyPair(sets[q], sets[k], threshold) >= 0;
          if (passes) {
            passing++;
            expect(candidates.has(k), `query ${q} kept ${k}`).toBe(true);
          } else if (shares && !candidates.has(k)) dropped++;
        }
      }
      // The check is not vacuous: pairs pass; and where bitmaps are not saturated, it prunes.
      if (size > 1) expect(passing).toBeGreaterThan(0);
      if (size > 1 && size <= 700) expect(dropped).toBeGreaterThan(1000);
    });
  }
});

describe('KeptIndex candidates (prefix lists)', () => {
  it('equal a brute-force scan of shared prefix elements and exact classes, across clears, growth and elements of 2^30 and more', () => {
    const r = rng(2026);
    // Elements from a small pool (so prefixes collide) of values all over the u32 range.
    const pool = Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 0x40000000 + r.int(0xbfffffff) : r.int(0x40000000)) >>> 0);
    const index = new KeptIndex((d) => prefixes[d], (d) => classes[d]);
    let prefixes: Uint32Array[] = [];
    let classes: number[] = [];
    for (const [members, prefixSize] of [[50, 5], [3000, 12], [10, 1], [1500, 40]] as const) {
      index.clear();
      prefixes = Array.from({ length: members }, () => Uint32Array.from(new Set(Array.from({ length: 1 + r.int(prefixSize) }, () => pool[r.int(pool.length)]))).sort());
      classes = Array.from({ length: members }, () => r.int(members / 3 + 1));
      const kept: number[] = [];
      for (let d = 0; d < members; d++) {
        if (d % 3 !== 2) {
          index.add(d, kept.length);
          kept.push(d);
          continue;
        }
        const from = r.int(kept.length + 1);
        const expected: number[] = [];
        const firstOfClass = kept.findIndex((k) => classes[k] === classes[d]);
        for (let p = from; p < kept.length; p++) {
          const k = kept[p];
          if (p === firstOfClass || prefixes[k].some((e) => prefixes[d].includes(e))) expected.push(p);
        }
        expect(index.candidatesFrom(d, from), `members ${members}, doc ${d}`).toEqual(expected);
      }
    }
  });
});

describe('KeptIndex with the bound, where the prefix lists repeat the kept members (a large family)', () => {
  /** The bitmap bound, written out again: bits of e mod 2048, |x ∩ y| <= (|x| + |y| − |bx XOR by|) / 2. */
  function boundPasses(x: Uint32Array, y: Uint32Array, threshold: number): boolean {
    const bits = (set: Uint32Array) => new Set(Array.from(set, (e) => e % 2048));
    const bx = bits(x);
    const by = bits(y);
    let differ = 0;
    for (const b of bx) if (!by.has(b)) differ++;
    for (const b of by) if (!bx.has(b)) differ++;
    return Math.floor((x.length + y.length - differ) / 2) * (1 + threshold) >= threshold * (x.length + y.length) - 1e-9;
  }

  for (const threshold of [0.7, 0.8, 0.9]) {
    it(`T = ${threshold}: every member that passes, only members the bound keeps, all that share a prefix element and pass it`, () => {
      const r = rng(77 + threshold * 10);
      // One family: every member keeps most of a common base, whose smallest elements are in
      // everyone's prefix, so each prefix list names most kept members (the direct scan's case).
      const base = Array.from({ length: 300 }, () => r.u32());
      const sets = Array.from({ length: 260 }, (_, d) => family(r, base, 230 + (d % 70), 2 + r.int(30)));
      const prefix = (d: number) => jaccardPrefix(sets[d], threshold);
      const index = new KeptIndex(prefix, (d) => d, { set: (d) => sets[d], threshold });
      const kept = 180;
      for (let k = 0; k < kept; k++) index.add(k, k);
      let passing = 0;
      for (let q = kept; q < sets.length; q++) {
        const from = r.int(kept);
        const found = index.candidatesFrom(q, from);
        expect(found).toEqual([...found].sort((a, b) => a - b));
        const candidates = new Set(found);
        for (let k = 0; k < kept; k++) {
          const bound = boundPasses(sets[q], sets[k], threshold);
          const sharesPrefix = prefix(q).some((e) => prefix(k).includes(e));
          if (k < from) expect(candidates.has(k)).toBe(false);
          else if (verifyPair(sets[q], sets[k], threshold) >= 0) {
            passing++;
            expect(candidates.has(k), `query ${q} kept ${k}`).toBe(true);
          } else if (sharesPrefix && bound) expect(candidates.has(k)).toBe(true);
          else if (!bound) expect(candidates.has(k)).toBe(false);
        }
      }
      expect(passing).toBeGreaterThan(0);
      // The case this is about: some queries checked every kept member instead of walking.
      expect(index.directScans).toBeGreaterThan(0);
    });
  }
});
