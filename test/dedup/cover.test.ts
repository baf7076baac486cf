import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusJsonl, generateNearPairs, shingleStrings } from '../../fixtures/dedup/near-pairs.js';
import { rng } from '../../fixtures/random.js';
import { decide, decideInBlocks, KEPT, makeJudge, searchKept, type FirstPassQuery, type PairVerdict } from '../../src/dedup/cover.js';
import { jaccardPrefix, KeptIndex } from '../../src/dedup/kept-index.js';
import { clusterLines, runComplete, snapshot, tempDir, writeJsonl } from './helpers.js';

const root = tempDir('dedup-cover');
afterAll(() => rmSync(root, { recursive: true, force: true }));
let runs = 0;
const out = () => join(root, `out-${runs++}`);

interface Removed {
  id: string;
  cluster: number;
  kept: boolean;
  of?: string;
  jaccard?: number;
}
const lines = (dir: string) => readFileSync(join(dir, 'clusters.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Removed);

// A planted chain: document k is the words W[9k .. 9k + 204) of 258 distinct words, so it has
// 200 distinct 5-gram shingles and shares 200 − 9d of them with the document d steps away:
// J(d) = (200 − 9d) / (200 + 9d) → d = 1: 0.914, 2: 0.835, 3: 0.762, 6: 0.575.
const words = Array.from({ length: 258 }, (_, i) => `w${i}x`);
const chainWords = (k: number) => words.slice(9 * k, 9 * k + 204);
const chain = Array.from({ length: 7 }, (_, k) => ({ id: `c${k}`, source: 'web', text: chainWords(k).join(' '), q: k === 3 ? 1 : 0 }));
const chainPath = writeJsonl(join(root, 'chain.jsonl'), chain);
/** J of two chain documents, from their words (independent of the engine's hashing). */
function jaccardOf(a: string, b: string): number {
  const [x, y] = [shingleStrings(chainWords(Number(a.slice(1)))), shingleStrings(chainWords(Number(b.slice(1))))];
  let inter = 0;
  for (const s of x) if (y.has(s)) inter++;
  return inter / (x.size + y.size - inter);
}

describe('cover rule on a planted chain (7 documents, neighbour J 0.914, ends 0.575)', () => {
  it('the expected Jaccards hold (the test is not trivial)', () => {
    expect(jaccardOf('c0', 'c1')).toBeCloseTo(191 / 209, 12);
    expect(jaccardOf('c0', 'c2')).toBeCloseTo(182 / 218, 12);
    expect(jaccardOf('c0', 'c3')).toBeCloseTo(173 / 227, 12);
    expect(jaccardOf('c0', 'c6')).toBeCloseTo(146 / 254, 12);
  });

  it('components (the old rule) chains: one cluster, one kept, c6 removed at J 0.575', async () => {
    const dir = out();
    const { manifest } = await runComplete({ inputs: [{ path: chainPath }], outDir: dir, cluster: 'components' });
    const records = lines(dir);
    expect(records.map((r) => r.cluster)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(records.filter((r) => r.kept).map((r) => r.id)).toEqual(['c0']);
    const c6 = records.find((r) => r.id === 'c6')!;
    expect(c6.of).toBe('c0');
    expect(c6.jaccard).toBeCloseTo(146 / 254, 5);
    // The cover property fails: removed documents without a kept one at J >= 0.8.
    expect(records.filter((r) => !r.kept && jaccardOf(r.id, r.of!) < 0.8).map((r) => r.id)).toEqual(['c3', 'c4', 'c5', 'c6']);
    expect(manifest.cluster_rule).toMatchObject({ rule: 'components', removed_components: 6, removed_cover: 4, components_removed_below_threshold: 4, kept_in_clusters: 1 });
  });

  for (const keep of ['first', 'best-quality'] as const) {
    it(`cover (keep ${keep}): every removed document has a kept one at J >= 0.8, no two kept ones are`, async () => {
      const dir = out();
      const { manifest } = await runComplete({ inputs: [{ path: chainPath }], outDir: dir, keep, ...(keep === 'best-quality' ? { qualityField: 'q' } : {}) });
      const records = lines(dir);
      expect(records.map((r) => r.cluster)).toEqual([0, 0, 0, 0, 0, 0, 0]); // cluster stays the component
      const kept = records.filter((r) => r.kept).map((r) => r.id);
      const removed = records.filter((r) => !r.kept);
      for (const r of removed) {
        expect(kept).toContain(r.of);
        expect(jaccardOf(r.id, r.of!)).toBeGreaterThanOrEqual(0.8);
        expect(r.jaccard).toBeCloseTo(jaccardOf(r.id, r.of!), 5);
      }
      for (const a of kept) for (const b of kept) if (a < b) expect(jaccardOf(a, b)).toBeLessThan(0.8);
      // By hand, walking keep order. first: c0 keeps, c1 c2 go for c0, c3 stays (0.762), c4 c5
      // go for c3, c6 stays. best-quality (c3 scores 1, the rest tie at 0, then by id): c3,
      // then c0 stays (0.762), c1 c2 c4 c5 go for c3, c6 stays (0.762 with c3, 0.575 with c0).
      const expected = keep === 'first' ? { c1: 'c0', c2: 'c0', c4: 'c3', c5: 'c3' } : { c1: 'c3', c2: 'c3', c4: 'c3', c5: 'c3' };
      expect(Object.fromEntries(removed.map((r) => [r.id, r.of]))).toEqual(expected);
      expect(kept).toEqual(['c0', 'c3', 'c6']);
      expect(manifest.cluster_rule).toMatchObject({ rule: 'cover', removed_cover: 4, removed_components: 6, kept_in_clusters: 3 });
      expect(manifest.totals).toMatchObject({ docs_out: 3, removed_near: 4, clusters: 1 });
      const rules = readFileSync(join(dir, 'cluster_rules.jsonl'), 'utf8');
      expect(JSON.parse(rules).kept).toBe(keep === 'first' ? 'c0' : 'c3');
    });
  }

  it('the rule is part of the manifest options; switching it reuses the grouping', async () => {
    const dir = out();
    const a = await runComplete({ inputs: [{ path: chainPath }], outDir: dir, keepWork: true });
    expect(a.manifest.options.cluster).toBe('cover');
    const logs: string[] = [];
    const b = await runComplete({ inputs: [{ path: chainPath }], outDir: dir, cluster: 'components' }, undefined, (m) => logs.push(m));
    expect(b.manifest.options.cluster).toBe('components');
    expect(logs.join('\n')).toMatch(/bucket ranges already grouped/);
    expect(b.manifest.totals.docs_out).toBe(1);
  });
});

describe('cover on the synthetic hard set (planted chains, near-threshold negatives)', () => {
  const corpus = generateNearPairs({ seed: 5, templates: 4, familiesPerTemplate: 8, chainsPerTemplate: 1 });
  const path = join(root, 'synthetic.jsonl');
  writeFileSync(path, corpusJsonl(corpus.docs));
  const truth = new Map<string, number>();
  const near = new Set<string>();
  for (const p of corpus.truth) {
    truth.set(`${p.a}\t${p.b}`, p.inter / p.union);
    if (p.inter >= 0.8 * p.union - 1e-9) near.add(`${p.a}\t${p.b}`);
  }
  const key = (a: string, b: string) => (a < b ? `${a}\t${b}` : `${b}\t${a}`);
  const jaccard = (a: string, b: string) => truth.get(key(a, b)) ?? 0;
  const nearTruth = (a: string, b: string) => near.has(key(a, b));

  it('has chains whose neighbours are near duplicates and whose ends are not', () => {
    const chains = corpus.planted.filter((p) => p.kind === 'chain');
    expect(chains.length).toBe(4 * 6);
    for (const p of chains) expect(p.jaccard).toBeGreaterThanOrEqual(0.8);
    for (let t = 0; t < 4; t++) expect(jaccard(`syn/t00${t}/c00/k0`, `syn/t00${t}/c00/k6`)).toBeLessThan(0.8);
  });

  it('components removes chain ends without a kept near duplicate; cover never does', async () => {
    const components = out();
    await runComplete({ inputs: [{ path, source: 'syn' }], outDir: components, cluster: 'components', margin: 0.3 });
    const byId = (dir: string) => new Map(lines(dir).map((r) => [r.id, r]));
    const keptIds = (dir: string) => lines(dir).filter((r) => r.kept).map((r) => r.id);
    const uncovered = (dir: string) => {
      const records = byId(dir);
      const kept = keptIds(dir);
      return [...records.values()].filter((r) => !r.kept && !kept.some((k) => nearTruth(r.id, k))).length;
    };
    expect(uncovered(components)).toBeGreaterThan(0);
    const cover = out();
    await runComplete({ inputs: [{ path, source: 'syn' }], outDir: cover, margin: 0.3 });
    expect(uncovered(cover)).toBe(0);
    for (const r of byId(cover).values()) if (!r.kept) expect(nearTruth(r.id, r.of!)).toBe(true);
    const kept = keptIds(cover);
    let keptPairs = 0;
    for (const a of kept) for (const b of kept) if (a < b && nearTruth(a, b)) keptPairs++;
    expect(keptPairs).toBe(0);
  });

  it('identical outputs whatever the memory budget (bucket ranges; ranks and resumes: dedup.test.ts)', async () => {
    const one = out();
    await runComplete({ inputs: [{ path, source: 'syn' }], outDir: one });
    const small = out();
    await runComplete({ inputs: [{ path, source: 'syn' }], outDir: small, groupingBytes: 8192 });
    expect(snapshot(small)).toEqual(snapshot(one));
    expect(clusterLines(one).some((r) => !r.kept)).toBe(true);
  });
});

describe('decide() on a hand-made pair table', () => {
  // Documents 0..4 in one component; passing pairs: 0–1, 1–2, 2–3, 3–4, 0–4.
  const passing = new Set(['0-1', '1-2', '2-3', '3-4', '0-4']);
  const judge = (a: number, b: number): PairVerdict => {
    const pass = passing.has(`${Math.min(a, b)}-${Math.max(a, b)}`);
    return { pass, jaccard: pass ? 0.9 : 0.5 };
  };
  const components = new Uint32Array([0, 0, 0, 0, 0, 5]);
  const sizes = new Uint32Array([5, 0, 0, 0, 0, 1]);

  it('input order: 0 keeps, 1 goes (0), 2 stays, 3 goes (2), 4 goes (0)', () => {
    const d = decide({ rule: 'cover', components, sizes, before: null, judge });
    expect([...d.of]).toEqual([KEPT, 0, KEPT, 2, 0, KEPT]);
    expect(d.stats).toMatchObject({ removed_cover: 3, removed_components: 4, components_removed_below_threshold: 2, kept_in_clusters: 2 });
  });

  it('another keep order (4 first): 4 keeps, 3 and 0 go (4), 2 stays, 1 goes (2)', () => {
    const rank = [1, 4, 3, 2, 0, 5];
    const d = decide({ rule: 'cover', components, sizes, before: (a, b) => rank[a] - rank[b], judge });
    expect([...d.of]).toEqual([4, 2, KEPT, 4, KEPT, KEPT]);
  });

  it('components: everything but the first in keep order goes, for it', () => {
    const d = decide({ rule: 'components', components, sizes, before: null, judge });
    expect([...d.of]).toEqual([KEPT, 0, 0, 0, 0, KEPT]);
    expect(d.stats.jaccard_to_kept.components.toJSON()).toEqual({ '0.50-0.55': 2, '0.90-0.95': 2 });
  });
});

describe('prefix filtering (kept-index.ts) changes the cost, never a decision', () => {
  // One component of 400 documents: a 120-element base set with 0–40 elements replaced each,
  // so pairs spread over J ≈ 0.4–1 around the threshold; a few share an exact-text class
  // (one pair with no elements at all), which passes whatever the sets.
  const r = rng(11);
  let fresh = 1_000_000;
  const base = Array.from({ length: 120 }, (_, i) => i * 7919);
  const sets = Array.from({ length: 400 }, (_, d) => {
    if (d === 17 || d === 18) return new Uint32Array(0);
    const set = [...base];
    const replaced = r.int(41);
    for (let i = 0; i < replaced; i++) set[r.int(set.length)] = fresh++;
    return Uint32Array.from(new Set(set)).sort();
  });
  const exactClass = Uint32Array.from(sets, (_, d) => (d === 18 ? 17 : d === 250 ? 40 : d));
  const vectors = { get: (d: number) => sets[d], length: (d: number) => sets[d].length };
  const components = new Uint32Array(400);
  const sizes = new Uint32Array(400);
  sizes[0] = 400;
  const rank = Array.from({ length: 400 }, () => r.int(1000));

  for (const threshold of [0.7, 0.8, 0.9]) {
    for (const order of ['input', 'random'] as const) {
      it(`T = ${threshold}, ${order} keep order`, () => {
        const judge = makeJudge('exact', threshold, vectors, exactClass);
        const before = order === 'input' ? null : (a: number, b: number) => rank[a] - rank[b] || a - b;
        const linear = decide({ rule: 'cover', components, sizes, before, judge });
        const index = new KeptIndex((d) => jaccardPrefix(sets[d], threshold), (d) => exactClass[d]);
        const filtered = decide({ rule: 'cover', components, sizes, before, judge, index });
        expect([...filtered.of]).toEqual([...linear.of]);
        expect([...filtered.jaccard]).toEqual([...linear.jaccard]);
        expect(linear.stats.kept_in_clusters).toBeGreaterThan(5); // several kept: the filter has work
        expect(filtered.checks).toBeLessThan(linear.checks);
        // The bitmap bound on top: the same decisions, no more checks.
        const bounded = new KeptIndex((d) => jaccardPrefix(sets[d], threshold), (d) => exactClass[d], { set: (d) => sets[d], threshold });
        const both = decide({ rule: 'cover', components, sizes, before, judge, index: bounded });
        expect([...both.of]).toEqual([...linear.of]);
        expect([...both.jaccard]).toEqual([...linear.jaccard]);
        expect(both.checks).toBeLessThanOrEqual(filtered.checks);
        // No words, same text: one of 17 and 18 stays, the other goes for it.
        const [of17, of18] = [filtered.of[17], filtered.of[18]];
        expect(of17 === KEPT ? [of18, 17] : [of17, of18]).toEqual(of17 === KEPT ? [17, 17] : [18, KEPT]);
      });
    }
  }

  // decideInBlocks: the same walk with each block's search among the kept members made ahead
  // (here on this thread, with a prefix index built afresh for every block, or none).
  for (const threshold of [0.7, 0.8]) {
    for (const [blockMembers, indexed] of [[1, true], [7, true], [64, false], [64, true], [1000, true]] as const) {
      it(`blocks of ${blockMembers}, T = ${threshold}, ${indexed ? 'prefix index' : 'every kept member'}: decide()'s decisions and checks`, async () => {
        const judge = makeJudge('exact', threshold, vectors, exactClass);
        const before = (a: number, b: number) => rank[a] - rank[b] || a - b;
        const newIndex = () => (indexed ? new KeptIndex((d) => jaccardPrefix(sets[d], threshold), (d) => exactClass[d]) : null);
        const sequential = decide({ rule: 'cover', components, sizes, before, judge, index: newIndex() });
        let searches = 0;
        const search = async (query: FirstPassQuery) => {
          searches++;
          const index = newIndex();
          query.kept.forEach((d, k) => index?.add(d, k));
          return searchKept(query, (a, b) => judge(a, b, false), index);
        };
        const blocked = await decideInBlocks({ rule: 'cover', components, sizes, before, judge, index: newIndex() }, search, blockMembers, 0);
        // One block for the whole component: nothing is kept before it, so nothing is searched.
        if (blockMembers < 400) expect(searches).toBeGreaterThan(0);
        else expect(searches).toBe(0);
        expect([...blocked.of]).toEqual([...sequential.of]);
        expect([...blocked.jaccard]).toEqual([...sequential.jaccard]);
        expect(blocked.checks).toBe(sequential.checks);
        expect(JSON.stringify(blocked.stats)).toBe(JSON.stringify(sequential.stats));
        expect([...blocked.leaders]).toEqual([...sequential.leaders]);
      });
    }
  }

  it('components below minMembers are walked as decide() walks them (no search)', async () => {
    const judge = makeJudge('exact', 0.8, vectors, exactClass);
    const sequential = decide({ rule: 'cover', components, sizes, before: null, judge });
    const blocked = await decideInBlocks({ rule: 'cover', components, sizes, before: null, judge }, async () => {
      throw new Error('no search below minMembers');
    }, 16, 401);
    expect([...blocked.of]).toEqual([...sequential.of]);
    expect(blocked.checks).toBe(sequential.checks);
  });

  it('the prefix is the first |x| − ⌈T·|x|⌉ + 1 elements', () => {
    const set = Uint32Array.from({ length: 10 }, (_, i) => i);
    expect([...jaccardPrefix(set, 0.8)]).toEqual([0, 1, 2]);
    expect([...jaccardPrefix(set, 0.75)]).toEqual([0, 1, 2]); // ⌈7.5⌉ = 8
    expect([...jaccardPrefix(set, 0.7)]).toEqual([0, 1, 2, 3]);
    expect([...jaccardPrefix(set, 1)]).toEqual([0]);
    expect(jaccardPrefix(new Uint32Array(0), 0.8).length).toBe(0);
  });
});
