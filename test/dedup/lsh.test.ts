import { describe, expect, it } from 'vitest';
import { TokenmixError } from '../../src/errors.js';
import {
  bandChoiceKey, bandKeys, collisionProbability, falseNegativeArea, falsePositiveArea, integrate, KNOWN_BAND_CHOICES, optimalBands, planLsh, sCurvePoints,
} from '../../src/dedup/lsh.js';

describe('band selection (datasketch _optimal_param)', () => {
  // Expected values are datasketch's published choices, not computed by this code:
  // README of /work/shared/data (datasketch 1.10, 128 perms, t = 0.8 → 9 × 13) and the
  // docstring of text-dedup's copy of _optimal_param (scipy quad): (0.75, 256) → (21, 12),
  // (0.75, 256, 0.1, 0.9) → (28, 9).
  const cases = [
    { name: 'K=128 t=0.8 equal weights', threshold: 0.8, numHashes: 128, weights: { falsePositive: 0.5, falseNegative: 0.5 }, expected: [9, 13] },
    { name: 'K=256 t=0.75 equal weights', threshold: 0.75, numHashes: 256, weights: { falsePositive: 0.5, falseNegative: 0.5 }, expected: [21, 12] },
    { name: 'K=256 t=0.75 fp 0.1 fn 0.9', threshold: 0.75, numHashes: 256, weights: { falsePositive: 0.1, falseNegative: 0.9 }, expected: [28, 9] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { bands, rows } = optimalBands(c.threshold, c.numHashes, c.weights);
      expect([bands, rows]).toEqual(c.expected);
    });
  }

  it('equals the plain search over every (b, r) of the two areas, error for error', () => {
    // The definition, written out: each pair's areas by falsePositiveArea and falseNegativeArea,
    // bands outer, rows inner, the first minimum kept.
    const plain = (threshold: number, numHashes: number, weights: { falsePositive: number; falseNegative: number }) => {
      let best = { bands: 0, rows: 0, error: Infinity };
      for (let bands = 1; bands <= numHashes; bands++) {
        for (let rows = 1; rows <= Math.floor(numHashes / bands); rows++) {
          const error = weights.falsePositive * falsePositiveArea(threshold, bands, rows) + weights.falseNegative * falseNegativeArea(threshold, bands, rows);
          if (error < best.error) best = { bands, rows, error };
        }
      }
      return best;
    };
    const requests: [number, number, { falsePositive: number; falseNegative: number }][] = [
      [0.6, 128, { falsePositive: 0.5, falseNegative: 0.5 }],
      [0.8, 128, { falsePositive: 0.5, falseNegative: 0.5 }],
      [0.55, 96, { falsePositive: 0.3, falseNegative: 0.7 }],
      [0.9, 64, { falsePositive: 0.9, falseNegative: 0.1 }],
      [0.35, 200, { falsePositive: 0.5, falseNegative: 0.5 }],
      [0.7, 1, { falsePositive: 0.5, falseNegative: 0.5 }],
      [0.02, 17, { falsePositive: 1, falseNegative: 0 }],
      [0.999, 33, { falsePositive: 0, falseNegative: 1 }],
    ];
    for (const [threshold, numHashes, weights] of requests) expect(optimalBands(threshold, numHashes, weights)).toEqual(plain(threshold, numHashes, weights));
  });

  it('the known choices planLsh looks up are optimalBands\' own', () => {
    expect(Object.keys(KNOWN_BAND_CHOICES).length).toBeGreaterThanOrEqual(6);
    for (const [key, choice] of Object.entries(KNOWN_BAND_CHOICES)) {
      const [threshold, numHashes, falsePositive, falseNegative] = key.split(':').map(Number);
      expect(bandChoiceKey(threshold, numHashes, { falsePositive, falseNegative })).toBe(key);
      expect(optimalBands(threshold, numHashes, { falsePositive, falseNegative })).toEqual(choice);
    }
    // The defaults (threshold 0.8, margin 0.2, K 128) are among them.
    expect(KNOWN_BAND_CHOICES[bandChoiceKey(planLsh({ threshold: 0.8, numHashes: 128 }).aimedAt!, 128, { falsePositive: 0.5, falseNegative: 0.5 })]).toBeDefined();
  });

  it('aimed at the threshold itself (margin 0) reproduces datasketch; the default margin aims at 0.6', () => {
    const exact = planLsh({ threshold: 0.8, numHashes: 128, margin: 0 });
    expect([exact.bands, exact.rows, exact.aimedAt]).toEqual([9, 13, 0.8]);
    const defaults = planLsh({ threshold: 0.8, numHashes: 128 });
    expect([defaults.bands, defaults.rows, defaults.aimedAt]).toEqual([18, 7, 0.6]);
    expect(defaults.bands * defaults.rows).toBeLessThanOrEqual(128);
    // The reason for the margin: detection at J = 0.8 goes from 40% to 98.5%.
    expect(exact.sCurve.find((p) => p.similarity === 0.8)!.probability).toBeCloseTo(0.3988, 3);
    expect(defaults.sCurve.find((p) => p.similarity === 0.8)!.probability).toBeCloseTo(0.9855, 4);
  });

  it('given bands and rows are used as is (threshold still recorded)', () => {
    const plan = planLsh({ threshold: 0.7, numHashes: 128, bands: 16, rows: 8 });
    expect([plan.bands, plan.rows, plan.aimedAt, plan.threshold]).toEqual([16, 8, null, 0.7]);
  });

  const errors = [
    { name: 'b × r > K', request: { threshold: 0.8, numHashes: 128, bands: 20, rows: 7 }, message: /bands × rows <= --num-hashes/ },
    { name: 'bands without rows', request: { threshold: 0.8, numHashes: 128, bands: 20 }, message: /go together/ },
    { name: 'threshold 0', request: { threshold: 0, numHashes: 128 }, message: /--threshold/ },
    { name: 'threshold > 1', request: { threshold: 1.5, numHashes: 128 }, message: /--threshold/ },
    { name: 'margin 1', request: { threshold: 0.8, numHashes: 128, margin: 1 }, message: /--margin/ },
    { name: 'zero weights', request: { threshold: 0.8, numHashes: 128, weights: { falsePositive: 0, falseNegative: 0 } }, message: /weight/ },
  ];
  for (const e of errors) {
    it(`rejects ${e.name}`, () => {
      expect(() => planLsh(e.request)).toThrow(TokenmixError);
      expect(() => planLsh(e.request)).toThrow(e.message);
    });
  }
});

describe('S-curve math', () => {
  it('P(s) = 1 − (1 − s^r)^b at known points', () => {
    expect(collisionProbability(0, 9, 13)).toBe(0);
    expect(collisionProbability(1, 9, 13)).toBe(1);
    expect(collisionProbability(0.5, 1, 1)).toBe(0.5);
    expect(collisionProbability(0.5, 2, 1)).toBe(0.75); // 1 − 0.5²
    expect(collisionProbability(0.5, 1, 2)).toBe(0.25); // 0.5²
    // Quoted in the data README: 1 − (1 − 0.8^13)^9 ≈ 0.40.
    expect(collisionProbability(0.8, 9, 13)).toBeCloseTo(0.398844, 5);
  });

  it('is increasing in s', () => {
    let previous = -1;
    for (let s = 0; s <= 1.0000001; s += 0.01) {
      const p = collisionProbability(Math.min(s, 1), 18, 7);
      expect(p).toBeGreaterThanOrEqual(previous);
      previous = p;
    }
  });

  // Closed forms: b = 1 → P = s^r, ∫_0^t = t^(r+1)/(r+1); r = 1 → P = 1 − (1 − s)^b,
  // ∫_0^t = t − (1 − (1 − t)^(b+1))/(b+1).
  const areas = [
    { name: 'b=1 r=1 t=0.8', b: 1, r: 1, t: 0.8, fp: 0.32, fn: 0.02 },
    { name: 'b=1 r=5 t=0.5', b: 1, r: 5, t: 0.5, fp: 0.5 ** 6 / 6, fn: 0.5 - (1 - 0.5 ** 6) / 6 },
    { name: 'b=4 r=1 t=0.3', b: 4, r: 1, t: 0.3, fp: 0.3 - (1 - 0.7 ** 5) / 5, fn: 0.7 ** 5 / 5 },
  ];
  for (const a of areas) {
    it(`FP/FN areas match the closed form (${a.name})`, () => {
      expect(falsePositiveArea(a.t, a.b, a.r)).toBeCloseTo(a.fp, 9);
      expect(falseNegativeArea(a.t, a.b, a.r)).toBeCloseTo(a.fn, 9);
    });
  }

  it('integrate is exact for cubics and handles empty intervals', () => {
    expect(integrate((x) => x ** 3 - 2 * x, 0, 2, 2)).toBeCloseTo(0, 12);
    expect(integrate((x) => x * x, 0, 3)).toBeCloseTo(9, 12);
    expect(integrate((x) => x, 1, 1)).toBe(0);
  });

  it('S-curve points cover 0.5..1 and the threshold, sorted, rounded', () => {
    const points = sCurvePoints(18, 7, [0.8, 0.63]);
    expect(points.map((p) => p.similarity)).toEqual([0.5, 0.55, 0.6, 0.63, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1]);
    expect(points.at(-1)!.probability).toBe(1);
  });
});

describe('band keys', () => {
  const K = 12;
  const b = 3;
  const r = 4;
  const sig = (values: number[]) => Uint32Array.from(values);
  const base = Array.from({ length: K }, (_, i) => (i * 2654435761) >>> 0);

  it('equal bands give equal keys; a changed slot changes only its band; bands never share keys', () => {
    const other = [...base];
    other[5] ^= 1; // slot 5 is in band 1 (slots 4..7)
    const keys = bandKeys(sig([...base, ...other]), K, b, r);
    const key = (d: number, j: number) => `${keys[2 * (d * b + j)]}:${keys[2 * (d * b + j) + 1]}`;
    expect(key(0, 0)).toBe(key(1, 0));
    expect(key(0, 2)).toBe(key(1, 2));
    expect(key(0, 1)).not.toBe(key(1, 1));
    // Identical slot values in two different bands still give different keys.
    const same = bandKeys(sig(new Array(K).fill(7)), K, b, r);
    expect(new Set([0, 1, 2].map((j) => `${same[2 * j]}:${same[2 * j + 1]}`)).size).toBe(3);
  });

  it('slots past b·r are ignored', () => {
    const changed = [...base];
    changed[K - 1] ^= 0xff;
    const a = bandKeys(sig(base), K, 2, 5); // uses slots 0..9
    const c = bandKeys(sig(changed), K, 2, 5);
    expect(Array.from(a)).toEqual(Array.from(c));
  });
});
