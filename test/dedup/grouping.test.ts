import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { BucketTable, type BucketLinks } from '../../src/dedup/bucket-table.js';
import { PairCache } from '../../src/dedup/group-phase.js';
import { BandRecordWriter, FINE_BUCKETS, fineBucket, planBucketRanges, readSegmentRange } from '../../src/dedup/partition.js';
import { SharedUnionFind, UnionFind } from '../../src/dedup/union-find.js';
import { Worker } from 'node:worker_threads';

const dir = mkdtempSync(join(tmpdir(), 'tokenmix-grouping-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Components by breadth-first search: the independent oracle (id = smallest member). */
function bfsComponents(size: number, edges: [number, number][]): number[] {
  const adjacency = Array.from({ length: size }, () => [] as number[]);
  for (const [a, b] of edges) {
    adjacency[a].push(b);
    adjacency[b].push(a);
  }
  const id = new Array<number>(size).fill(-1);
  for (let start = 0; start < size; start++) {
    if (id[start] >= 0) continue;
    const queue = [start];
    id[start] = start;
    while (queue.length) for (const next of adjacency[queue.pop()!]) if (id[next] < 0) queue.push(next), (id[next] = start);
  }
  return id;
}

describe('union-find', () => {
  it('component id = smallest index, whatever the order of unions', () => {
    const r = rng(7);
    const size = 2000;
    const edges: [number, number][] = Array.from({ length: 1500 }, () => [r.int(size), r.int(size)]);
    const expected = bfsComponents(size, edges);
    for (let trial = 0; trial < 5; trial++) {
      const uf = new UnionFind(size);
      for (const [a, b] of r.shuffle([...edges])) (trial % 2 ? uf.union(b, a) : uf.union(a, b));
      expect(Array.from(uf.flatten())).toEqual(expected);
    }
  });

  it('reports whether a union merged anything', () => {
    const uf = new UnionFind(3);
    expect(uf.union(2, 1)).toBe(true);
    expect(uf.union(1, 2)).toBe(false);
    expect(uf.connected(0, 2)).toBe(false);
    expect(uf.find(2)).toBe(1);
  });

  it('handles 0 and 1 elements', () => {
    expect(Array.from(new UnionFind(0).flatten())).toEqual([]);
    expect(Array.from(new UnionFind(1).flatten())).toEqual([0]);
  });
});

describe('shared union-find (range tasks on several threads)', () => {
  // Many edges, joined by 1, 3 and 4 threads at once on one shared parent array: the components
  // are the BFS oracle's, whatever the interleaving, and exactly size − components unions merged.
  const r = rng(31);
  const size = 20_000;
  const edges: [number, number][] = Array.from({ length: 30_000 }, () => [r.int(size), r.int(size)]);
  // Long chains too, so that finds race with unions along paths.
  for (let i = 1; i < 3000; i++) edges.push([i * 5, (i - 1) * 5]);
  const oracle = bfsComponents(size, edges);
  const roots = new Set(oracle).size;
  for (const threads of [1, 3, 4]) {
    it(`${threads} thread(s): the oracle's components`, async () => {
      const uf = new UnionFind(size, true);
      const flat = Uint32Array.from(edges.flat());
      const share = Math.ceil(edges.length / threads);
      const merged = await Promise.all(Array.from({ length: threads }, (_, t) => new Promise<number>((resolve, reject) => {
        const worker = new Worker(new URL('../helpers/union-worker.mjs', import.meta.url), {
          workerData: { parent: uf.parent, edges: flat.slice(2 * t * share, 2 * Math.min(edges.length, (t + 1) * share)) },
        });
        worker.once('message', (n: number) => resolve(n));
        worker.once('error', reject);
      })));
      expect(merged.reduce((a, b) => a + b, 0)).toBe(size - roots);
      expect([...uf.flatten()]).toEqual(oracle);
    });
  }
  it('on one thread it is UnionFind', () => {
    const uf = new SharedUnionFind(new UnionFind(size, true).parent);
    for (const [a, b] of edges) uf.union(a, b);
    expect(Array.from({ length: size }, (_, d) => uf.find(d))).toEqual(oracle);
  });
});

describe('bucket table: candidate edges', () => {
  const collect = (links: BucketLinks, records: [number, number, number, boolean][]) => {
    const table = new BucketTable(records.length, links);
    const edges: string[] = [];
    for (const [hi, lo, doc, exact] of records) table.add(hi, lo, doc, exact, (a, b, x) => edges.push(`${a}-${b}${x ? 'x' : ''}`));
    return edges;
  };
  const bucket = (docs: number[], key = 5, exact = false): [number, number, number, boolean][] => docs.map((d) => [key, key * 3, d, exact]);

  const cases: { name: string; links: BucketLinks; records: [number, number, number, boolean][]; expected: string[] }[] = [
    { name: 'chain links consecutive members', links: 'chain', records: bucket([1, 4, 9, 12]), expected: ['1-4', '4-9', '9-12'] },
    { name: 'star links every member to the first', links: 'star', records: bucket([1, 4, 9, 12]), expected: ['1-4', '1-9', '1-12'] },
    { name: 'star-chain does both, once each', links: 'star-chain', records: bucket([1, 4, 9, 12]), expected: ['1-4', '1-9', '4-9', '1-12', '9-12'] },
    { name: 'exact-text buckets always chain', links: 'star', records: bucket([2, 3, 7], 5, true), expected: ['2-3x', '3-7x'] },
    {
      name: 'different keys (and exact vs near) never meet',
      links: 'chain',
      records: [[5, 15, 1, false], [6, 15, 2, false], [5, 16, 3, false], [5, 15, 4, true], [5, 15, 8, false]],
      expected: ['1-8'],
    },
    { name: 'a singleton bucket yields nothing', links: 'star-chain', records: bucket([3]), expected: [] },
  ];
  for (const c of cases) it(c.name, () => expect(collect(c.links, c.records)).toEqual(c.expected));

  it('a bucket of 200,000 members yields O(n) edges (never n²/2)', () => {
    const n = 200_000;
    for (const [links, expected] of [['chain', n - 1], ['star', n - 1], ['star-chain', 2 * n - 3]] as const) {
      const table = new BucketTable(n, links);
      let edges = 0;
      const started = performance.now();
      for (let d = 0; d < n; d++) table.add(0xabcdef01, 0x12345678, d, false, () => edges++);
      expect(edges).toBe(expected);
      expect(performance.now() - started).toBeLessThan(2000);
    }
  });

  it('members of a key must arrive in increasing order', () => {
    const table = new BucketTable(4);
    table.add(1, 1, 5, false, () => {});
    expect(() => table.add(1, 1, 3, false, () => {})).toThrow(/increasing/);
  });

  it('memory is known in advance: 16 bytes per slot, load <= 1/2', () => {
    expect(BucketTable.bytesFor(1000)).toBe(2048 * 16);
  });
});

describe('pair cache', () => {
  it('remembers ordered pairs, ids up to 0xfffffffd, and stops adding at 70 % load', () => {
    const cache = new PairCache({ capacityLog2: 4 }); // 16 slots: 11 pairs fit (70 %)
    cache.add(1, 2);
    cache.add(0xfffffffd, 0x80000000);
    expect(cache.has(1, 2)).toBe(true);
    expect(cache.has(2, 1)).toBe(false);
    expect(cache.has(0xfffffffd, 0x80000000)).toBe(true);
    expect(cache.has(0x7ffffffd, 0x80000000)).toBe(false);
    for (let i = 0; i < 20; i++) cache.add(100 + i, 200);
    expect(cache.has(1, 2)).toBe(true); // never forgotten
    expect(cache.has(108, 200)).toBe(true); // the 11th pair
    expect(cache.has(109, 200)).toBe(false); // full: not added
    expect(PairCache.bytesFor(4)).toBe(16 * 8 + 4);
  });

  it('a view of its buffer sees the same pairs; a slot being written is passed over', () => {
    const cache = new PairCache({ capacityLog2: 6, shared: true });
    expect(cache.buffer).toBeInstanceOf(SharedArrayBuffer);
    const view = new PairCache(cache.buffer);
    cache.add(7, 9);
    expect(view.has(7, 9)).toBe(true);
    // Mark every free slot as being written (WRITING = -2): lookups find nothing more and end.
    const slots = new Int32Array(cache.buffer);
    for (let s = 0; s < 64; s++) if (slots[2 * s] === -1) slots[2 * s] = -2;
    slots[2 * 63] = -1; // one free slot left, so probes end
    expect(view.has(7, 9)).toBe(true);
    expect(view.has(3, 4)).toBe(false);
  });

  it('threads adding at once: every pair found, each in one slot, none invented', async () => {
    const r = rng(41);
    // Four threads, pairs overlapping between them so that the same pair races into a slot.
    const common = Array.from({ length: 4000 }, () => [r.int(50_000), r.int(50_000)] as const);
    const shares = Array.from({ length: 4 }, () => [...common, ...Array.from({ length: 6000 }, () => [r.int(50_000), r.int(50_000)] as const)]);
    const cache = new PairCache({ capacityLog2: 16, shared: true });
    const missing = await Promise.all(shares.map((pairs) => new Promise<number>((resolve, reject) => {
      const worker = new Worker(new URL('../helpers/pair-cache-worker.mjs', import.meta.url), { workerData: { buffer: cache.buffer, pairs: Uint32Array.from(pairs.flat()) } });
      worker.once('message', (n: number) => resolve(n));
      worker.once('error', reject);
    })));
    expect(missing).toEqual([0, 0, 0, 0]);
    const distinct = new Set(shares.flat().map(([a, b]) => `${a},${b}`));
    expect([...distinct].filter((key) => !cache.has(...(key.split(',').map(Number) as [number, number])))).toEqual([]);
    const slots = new Int32Array(cache.buffer);
    let used = 0;
    for (let s = 0; s < 2 ** 16; s++) if (slots[2 * s] !== -1) used++;
    expect(used).toBe(distinct.size);
    expect(slots[slots.length - 1]).toBe(distinct.size);
    expect(Array.from({ length: 2000 }, () => cache.has(50_000 + r.int(1000), r.int(50_000))).filter(Boolean)).toEqual([]);
  });
});

describe('partitioned band files (external group-by)', () => {
  it('records come back per fine-bucket range, in input order within a bucket, across segments', () => {
    const r = rng(11);
    const path = join(dir, 'bands.bin');
    const writer = new BandRecordWriter(path, 1000); // small segments: several of them
    const records: [number, number, number][] = [];
    for (let doc = 0; doc < 2500; doc++) {
      for (let band = 0; band < 3; band++) {
        // Few distinct keys so buckets have many members.
        const key = r.int(50);
        const hi = (Math.imul(key + 1, 0x9e3779b1) >>> 0) ^ (band << 3);
        records.push([hi >>> 0, key, doc]);
        writer.add(hi >>> 0, key, doc);
      }
    }
    const summary = writer.close();
    expect(summary.segments.length).toBe(8);
    expect(summary.records).toBe(records.length);
    expect(summary.bucketCounts.reduce((a, b) => a + b, 0)).toBe(records.length);
    const ranges = planBucketRanges(summary.bucketCounts, 1200);
    expect(ranges[0].start).toBe(0);
    expect(ranges.at(-1)!.end).toBe(FINE_BUCKETS);
    const fd = openSync(path, 'r');
    const seen: [number, number, number][] = [];
    for (const range of ranges) {
      for (const offset of summary.segments) {
        const slice = readSegmentRange(fd, offset, range.start, range.end);
        for (let i = 0; i < slice.length; i += 3) {
          const bucket = fineBucket(slice[i]);
          expect(bucket >= range.start && bucket < range.end).toBe(true);
          seen.push([slice[i], slice[i + 1], slice[i + 2]]);
        }
      }
    }
    closeSync(fd);
    expect(seen.length).toBe(records.length);
    // Per key, documents in input order (what the bucket table needs).
    const byKey = (list: [number, number, number][]) => {
      const m = new Map<string, number[]>();
      for (const [hi, lo, doc] of list) (m.get(`${hi}:${lo}`) ?? m.set(`${hi}:${lo}`, []).get(`${hi}:${lo}`)!).push(doc);
      return m;
    };
    const expected = byKey(records);
    const actual = byKey(seen);
    expect(actual.size).toBe(expected.size);
    for (const [key, docs] of expected) expect(actual.get(key)).toEqual(docs);
  });

  const plans = [
    { name: 'everything fits', counts: [3, 0, 4, 1], max: 100, expected: [[0, 4, 8]] },
    { name: 'cut before overflow', counts: [3, 0, 4, 1], max: 4, expected: [[0, 2, 3], [2, 3, 4], [3, 4, 1]] },
    { name: 'an oversized bucket stands alone', counts: [1, 9, 1], max: 4, expected: [[0, 1, 1], [1, 2, 9], [2, 3, 1]] },
    { name: 'no records', counts: [0, 0], max: 4, expected: [[0, 2, 0]] },
  ];
  for (const p of plans) {
    it(`plans ranges: ${p.name}`, () => {
      expect(planBucketRanges(p.counts, p.max).map((r) => [r.start, r.end, r.records])).toEqual(p.expected);
    });
  }
});
