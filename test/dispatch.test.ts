import { describe, expect, it } from 'vitest';
import { alignBytes, planGrid, planRanges, workgroupsFor } from '../src/gpu/dispatch.js';
import { sizeClass } from '../src/gpu/buffers.js';

describe('planGrid', () => {
  const cases = [
    { name: 'zero', workgroups: 0, max: 65535 },
    { name: 'one', workgroups: 1, max: 65535 },
    { name: 'exactly the limit', workgroups: 65535, max: 65535 },
    { name: 'limit + 1', workgroups: 65536, max: 65535 },
    { name: 'many', workgroups: 10_000_019, max: 65535 },
    { name: 'tiny limit', workgroups: 15, max: 4 },
  ];
  it.each(cases)('$name covers every workgroup within limits', ({ workgroups, max }) => {
    const grid = planGrid(workgroups, max);
    expect(grid.x).toBeLessThanOrEqual(max);
    expect(grid.y).toBeLessThanOrEqual(max);
    expect(grid.x * grid.y).toBeGreaterThanOrEqual(workgroups);
    // No whole spare row: the overshoot is less than one row.
    if (workgroups > 0) expect(grid.x * grid.y - workgroups).toBeLessThan(grid.x);
  });
  it('refuses more than a 2D grid can hold', () => {
    expect(() => planGrid(17, 4)).toThrow();
  });
});

describe('planRanges', () => {
  const bytesOfLengths = (lengths: number[]) => (s: number, e: number) => lengths.slice(s, e).reduce((a, b) => a + b, 0);
  it('returns nothing for zero items', () => {
    expect(planRanges(0, 10, 100, () => 0)).toEqual([]);
  });
  it('splits by item count', () => {
    expect(planRanges(5, 2, 1e9, () => 0)).toEqual([
      { start: 0, end: 2 },
      { start: 2, end: 4 },
      { start: 4, end: 5 },
    ]);
  });
  it('splits by bytes, keeping each range within the limit and covering all items', () => {
    const lengths = [5, 9, 1, 1, 1, 10, 3, 7];
    const ranges = planRanges(lengths.length, 100, 10, bytesOfLengths(lengths));
    expect(ranges[0].start).toBe(0);
    expect(ranges.at(-1)!.end).toBe(lengths.length);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i].start).toBe(ranges[i - 1].end);
    for (const r of ranges) expect(bytesOfLengths(lengths)(r.start, r.end)).toBeLessThanOrEqual(10);
    expect(ranges).toEqual([
      { start: 0, end: 1 },
      { start: 1, end: 3 },
      { start: 3, end: 5 },
      { start: 5, end: 6 },
      { start: 6, end: 8 },
    ]);
  });
  it('rejects a single item over the limit', () => {
    expect(() => planRanges(2, 10, 4, bytesOfLengths([3, 5]))).toThrow(/binding limit/);
  });
});

describe('sizes', () => {
  it('aligns to 4 bytes with a 4-byte minimum', () => {
    expect([0, 1, 4, 5, 8].map((b) => alignBytes(b))).toEqual([4, 4, 4, 8, 8]);
  });
  it('uses power-of-two size classes from 256 bytes', () => {
    expect([1, 256, 257, 5000].map(sizeClass)).toEqual([256, 256, 512, 8192]);
  });
  it('counts workgroups', () => {
    expect([0, 1, 64, 65].map((n) => workgroupsFor(n, 64))).toEqual([0, 1, 1, 2]);
  });
});
