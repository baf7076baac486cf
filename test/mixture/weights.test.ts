/** SPEC §3 weights and schedules: renormalization over active sources, schedules, wbar. */
import { describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { TokenmixError } from '../../src/errors.js';
import { averageWeights, normalizeWeights, stageWeights, validateSchedule, type Schedule, type Weights } from '../../src/mixture/index.js';

describe('normalizeWeights', () => {
  it('renormalizes over active sources only (property, seeded)', () => {
    const random = rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const names = Array.from({ length: 1 + random.int(8) }, (_, i) => `s${i}`);
      const weights: Weights = Object.fromEntries(names.map((n) => [n, random.next() < 0.2 ? 0 : random.next() * 10]));
      const active = names.filter(() => random.next() < 0.7);
      if (active.length === 0) continue;
      const normalized = normalizeWeights(weights, active);
      expect(Object.keys(normalized)).toEqual(active);
      const activeSum = active.reduce((sum, n) => sum + weights[n], 0);
      const total = Object.values(normalized).reduce((a, b) => a + b, 0);
      expect(total).toBeCloseTo(1, 12);
      for (const name of active) {
        expect(normalized[name]).toBeCloseTo(activeSum > 0 ? weights[name] / activeSum : 1 / active.length, 12);
      }
    }
  });

  it('all-zero (or missing) active weights give the uniform mixture over active sources', () => {
    expect(normalizeWeights({ a: 0, b: 0, c: 5 }, ['a', 'b'])).toEqual({ a: 0.5, b: 0.5 });
    expect(normalizeWeights({}, ['x', 'y', 'z', 'w'])).toEqual({ x: 0.25, y: 0.25, z: 0.25, w: 0.25 });
  });

  it('no active source is an error, not a number', () => {
    expect(() => normalizeWeights({ a: 1 }, [])).toThrow(TokenmixError);
    expect(() => normalizeWeights({ a: 1 }, [])).toThrow(/mixture undefined: no source has retained tokens/);
  });

  it('negative, NaN or non-number weights are errors naming the source', () => {
    expect(() => normalizeWeights({ a: -0.1, b: 1 }, ['a', 'b'])).toThrow(/source "a"/);
    expect(() => normalizeWeights({ a: NaN }, ['a'])).toThrow(/source "a"/);
    expect(() => normalizeWeights({ a: Infinity }, ['a'])).toThrow(/finite/);
    expect(() => normalizeWeights({ a: '1' as unknown as number }, ['a'])).toThrow(TokenmixError);
  });
});

describe('schedules', () => {
  it('fractions must sum to 1 within 1e-9, with a clear error', () => {
    expect(() => validateSchedule([{ fraction: 0.8, weights: {} }, { fraction: 0.2, weights: {} }])).not.toThrow();
    expect(() => validateSchedule([{ fraction: 0.7, weights: {} }, { fraction: 0.2, weights: {} }])).toThrow(
      /schedule fractions must sum to 1 but 0.7 \+ 0.2 = 0.8999/,
    );
    expect(() => validateSchedule([{ fraction: 1 + 2e-9, weights: {} }])).toThrow(/sum to 1/);
    expect(() => validateSchedule([{ fraction: 1 + 5e-10, weights: {} }])).not.toThrow();
  });

  it('rejects empty schedules, negative fractions and bad stage weights', () => {
    expect(() => validateSchedule([])).toThrow(/non-empty/);
    expect(() => validateSchedule([{ fraction: -0.5, weights: {} }, { fraction: 1.5, weights: {} }])).toThrow(/stage 0: fraction/);
    expect(() => validateSchedule([{ fraction: 1, weights: { web: -1 }, name: 'anneal' }])).toThrow(/stage 0 \("anneal"\) weights/);
  });

  it('wbar = sum_s f_s w^(s) with each stage renormalized over active sources', () => {
    const schedule: Schedule = [
      { fraction: 0.75, weights: { web: 3, code: 1, gone: 5 } },
      { fraction: 0.25, weights: { web: 0, code: 0 } }, // all zero → uniform over active
    ];
    expect(stageWeights(schedule, ['web', 'code'])).toEqual([{ web: 0.75, code: 0.25 }, { web: 0.5, code: 0.5 }]);
    const average = averageWeights(schedule, ['web', 'code']);
    expect(average.web).toBeCloseTo(0.75 * 0.75 + 0.25 * 0.5, 15);
    expect(average.code).toBeCloseTo(0.75 * 0.25 + 0.25 * 0.5, 15);
  });
});
