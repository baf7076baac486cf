import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateNearPairs, corpusJsonl } from '../../fixtures/dedup/near-pairs.js';
import { dedup } from '../../src/dedup/index.js';
import { TokenmixError } from '../../src/errors.js';
import { runTaskHere } from '../../src/exec/dispatch.js';
import type { Executor, Task, TaskLink } from '../../src/exec/executor.js';
import { cpu, clusterLines, partition, runComplete, snapshot, tempDir, writeJsonl } from './helpers.js';

const root = tempDir('dedup');
afterAll(() => rmSync(root, { recursive: true, force: true }));
let runs = 0;
const out = () => join(root, `out-${runs++}`);

// A small planted corpus (fixtures/dedup/near-pairs.ts): 4 templates × 8 families, hard
// near-threshold negatives from shared boilerplate, with its exact ground truth.
const planted = generateNearPairs({ seed: 3, templates: 4, familiesPerTemplate: 8 });
const plantedPath = join(root, 'planted.jsonl');
writeFileSync(plantedPath, corpusJsonl(planted.docs));

/** The truth's clusters at J >= t: components of the pairs with inter >= t·union. */
function truthPartition(t: number): string[][] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    while (parent.get(x) !== undefined && parent.get(x) !== x) x = parent.get(x)!;
    return x;
  };
  for (const p of planted.truth) {
    if (p.inter < t * p.union - 1e-9) continue;
    for (const id of [p.a, p.b]) if (!parent.has(id)) parent.set(id, id);
    const [ra, rb] = [find(p.a), find(p.b)];
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }
  const groups = new Map<string, string[]>();
  for (const id of parent.keys()) (groups.get(find(id)) ?? groups.set(find(id), []).get(find(id))!).push(id);
  return [...groups.values()].map((g) => g.sort()).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

// Banding finds a pair at J = 0.8 with probability 0.986 at the default margin (0.2), so a
// few-hundred-pair corpus can lose one to chance; these tests check the pipeline and the
// verification, so they tune the bands for threshold − 0.3 (P(0.8) = 0.99998). Recall at the
// defaults is measured, not asserted, by bench/dedup-quality.ts.
describe('planted near duplicates', () => {
  it('finds every pair above the threshold and joins none below (clusters = truth components)', async () => {
    const near = planted.truth.filter((p) => p.inter >= 0.8 * p.union);
    const hardNegatives = planted.truth.filter((p) => p.inter >= 0.65 * p.union && p.inter < 0.8 * p.union);
    expect(near.length).toBeGreaterThan(50);
    expect(hardNegatives.length).toBeGreaterThan(50); // the test is not trivial
    const dir = out();
    const { manifest } = await runComplete({ inputs: [{ path: plantedPath, source: 'syn' }], outDir: dir, margin: 0.3 });
    expect(partition(clusterLines(dir))).toEqual(truthPartition(0.8));
    expect([manifest.lsh.bands, manifest.lsh.rows]).toEqual([25, 5]);
  });

  it('at another threshold too (0.7, with its own banding)', async () => {
    const dir = out();
    const { manifest } = await runComplete({ inputs: [{ path: plantedPath, source: 'syn' }], outDir: dir, threshold: 0.7, margin: 0.3 });
    expect(manifest.lsh.aimedAt).toBe(0.4);
    expect(partition(clusterLines(dir))).toEqual(truthPartition(0.7));
  });

  it('reads only the selected rows (curate\'s near dedup): the same clusters as a file of just those rows, drops named by their own lines', async () => {
    const lines = readFileSync(plantedPath, 'utf8').split('\n').filter(Boolean);
    // Every line but each fifth, and a blank line and a broken one that are not selected.
    const withNoise = join(root, 'planted-noise.jsonl');
    writeFileSync(withNoise, [...lines.slice(0, 3), '', '{not json', ...lines.slice(3)].join('\n') + '\n');
    const rows: number[] = [];
    const kept: string[] = [];
    [...lines.slice(0, 3), '', '{not json', ...lines.slice(3)].forEach((line, i) => {
      if (line === '' || line.startsWith('{not') || i % 5 === 4) return;
      rows.push(i + 1);
      kept.push(line);
    });
    const onlyThose = join(root, 'planted-selected.jsonl');
    writeFileSync(onlyThose, kept.join('\n') + '\n');
    const a = out();
    const b = out();
    await runComplete({ inputs: [{ path: onlyThose, source: 'syn' }], outDir: a, margin: 0.3 });
    // Small units: the selection is read across several byte ranges, by two workers.
    const selected = await runComplete({ inputs: [{ path: withNoise, source: 'syn' }], outDir: b, margin: 0.3, selected: [Uint32Array.from(rows)], unitBytes: 4096, workers: 2 });
    expect(selected.manifest.totals.docs_in).toBe(rows.length);
    expect(readFileSync(join(b, 'clusters.jsonl'), 'utf8')).toBe(readFileSync(join(a, 'clusters.jsonl'), 'utf8'));
    expect(readFileSync(join(b, 'cluster_rules.jsonl'), 'utf8')).toBe(readFileSync(join(a, 'cluster_rules.jsonl'), 'utf8'));
    const dropped = (dir: string) => readFileSync(join(dir, 'drops', readdirSync(join(dir, 'drops'))[0]), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { line: number; id: string });
    const fromFile = dropped(a);
    expect(fromFile.length).toBeGreaterThan(10);
    // The same records, named by their lines in the original file.
    expect(dropped(b)).toEqual(fromFile.map((d) => ({ ...d, line: rows[d.line - 1] })));
    await expect(runComplete({ inputs: [{ path: withNoise }], outDir: out(), selected: [Uint32Array.from([5, 3])] })).rejects.toThrow(/rows selected from .* must ascend \(row 3 after 5\)/);
  });

  it('runs on a borrowed pool when given one (curate lends its reduce pool), with the same outputs', async () => {
    const a = out();
    const b = out();
    await runComplete({ inputs: [{ path: plantedPath, source: 'syn' }], outDir: a, workers: 1 });
    // A two-worker "pool" that runs each task here and counts them: the engine must not start its own.
    const kinds: string[] = [];
    const executor: Executor = {
      workers: 2,
      run: async <R>(task: Task, link: TaskLink) => {
        kinds.push(task.kind);
        return (await runTaskHere(task, link)) as R;
      },
      close: async () => {
        throw new Error('a borrowed pool is not the engine\'s to close');
      },
    };
    const result = await dedup({ inputs: [{ path: plantedPath, source: 'syn' }], outDir: b, workers: 2 }, cpu, { executor });
    expect(result.status).toBe('complete');
    expect(snapshot(b)).toEqual(snapshot(a));
    // Every phase ran there: signatures, the id check, the cluster rule, the outputs. (The input's
    // whole SHA-256 is hashed on this thread while the pool maps: it has no more units than workers.)
    expect(kinds).toEqual(expect.arrayContaining(['signature-unit', 'id-hashes', 'id-collisions', 'intersect-pairs', 'cluster-write']));
  });

  it('gives the same outputs whatever the grouping memory (many bucket ranges) and links', async () => {
    const a = out();
    const b = out();
    await runComplete({ inputs: [{ path: plantedPath, source: 'syn' }], outDir: a });
    const many = await runComplete({ inputs: [{ path: plantedPath, source: 'syn' }], outDir: b, groupingBytes: 8192 }, cpu);
    expect(JSON.parse(readFileSync(join(b, 'run.json'), 'utf8')).ranges).toBeGreaterThan(5);
    expect(snapshot(b)).toEqual(snapshot(a));
    expect(many.manifest.totals.docs_in).toBe(planted.docs.length);
  });
});

// Exact and near rules composed. Ids are chosen so that id order differs from input order.
const accented = 'café résumé naïve façade déjà vu élan crème brûlée piñata señor über straße';
const longText = (seed: number) => Array.from({ length: 60 }, (_, i) => `word${(i * 7919 + seed * 104729) % 1000}`).join(' ');
const A = longText(1);
const composition = [
  { id: 'z-a0', text: A, q: 0.5 },
  { id: 'y-a1', text: A.replace(/ /g, '\n  '), q: 0.9 }, // same text up to white space: exact
  { id: 'x-a2', text: A.replace('word', 'other'), q: 0.9 }, // one word changed: near
  { id: 'b0', text: `${accented} ${accented}`, q: 0 },
  { id: 'b1', text: `${accented} ${accented}`.normalize('NFD'), q: 1 }, // exact (NFC), shingles differ
  { id: 'c0', text: longText(2), q: 0 },
  { id: 'c1', text: longText(2).toUpperCase().replace(/ /g, ', '), q: 0 }, // J = 1, not the same text
  { id: 'd0', text: '!!! ???', q: 0 }, // no words: exact copies only
  { id: 'd1', text: '!!! ???', q: 0 },
  { id: 'd2', text: '...', q: 0 },
  { id: 'e0', text: longText(3), q: 0 }, // alone
];

describe('exact and near composition, keep rules', () => {
  const path = writeJsonl(join(root, 'composition.jsonl'), composition.map((r) => ({ ...r, source: r.id.startsWith('c') ? 'code' : 'web' })));
  const rules = (dir: string) => readFileSync(join(dir, 'cluster_rules.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

  it('clusters record which rule matched; keep first keeps input order', async () => {
    const dir = out();
    const { manifest } = await runComplete({ inputs: [{ path }], outDir: dir });
    expect(partition(clusterLines(dir))).toEqual([['b0', 'b1'], ['c0', 'c1'], ['d0', 'd1'], ['x-a2', 'y-a1', 'z-a0']]);
    expect(rules(dir)).toEqual([
      { cluster: 0, size: 3, rule: 'near', kept: 'z-a0' },
      { cluster: 3, size: 2, rule: 'exact', kept: 'b0' },
      { cluster: 5, size: 2, rule: 'near', kept: 'c0' },
      { cluster: 7, size: 2, rule: 'exact', kept: 'd0' },
    ]);
    const lines = readFileSync(join(dir, 'clusters.jsonl'), 'utf8').split('\n').filter(Boolean);
    expect(lines[0]).toBe('{"id":"z-a0","cluster":0,"kept":true}');
    for (const line of lines) {
      const record = JSON.parse(line);
      expect(Object.keys(record)).toEqual(record.kept ? ['id', 'cluster', 'kept'] : ['id', 'cluster', 'kept', 'of', 'jaccard']);
    }
    // Under cover a removed record's rule is its relation to the kept record it duplicates:
    // y-a1 has z-a0's text (exact) although its cluster also holds x-a2 (near).
    expect(manifest.totals).toMatchObject({ docs_in: 11, docs_out: 6, clusters: 4, clusters_exact: 2, clusters_near: 2, removed_exact: 3, removed_near: 2, without_words: 3 });
    const removed = Object.fromEntries(lines.map((l) => JSON.parse(l)).filter((r) => !r.kept).map((r) => [r.id, [r.of, r.jaccard]]));
    expect(removed).toMatchObject({ 'y-a1': ['z-a0', 1], 'b1': ['b0', expect.any(Number)], 'c1': ['c0', 1], 'd1': ['d0', 1] });
    expect(removed['x-a2'][0]).toBe('z-a0');
    expect(removed['x-a2'][1]).toBeGreaterThanOrEqual(0.8);
    expect(removed['x-a2'][1]).toBeLessThan(1);
    expect(manifest.sources.code).toMatchObject({ docs_in: 2, docs_out: 1, doc_acceptance: 0.5 });
    // Keep and drop lists account for every record.
    const keep = readFileSync(join(dir, 'keep', '00000-composition.jsonl'), 'utf8').split('\n').filter(Boolean);
    const drops = readFileSync(join(dir, 'drops', '00000-composition.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(keep.length + drops.length).toBe(11);
    expect(drops.find((d) => d.id === 'b1')).toEqual({ line: 5, id: 'b1', cluster: 3, rule: 'exact' });
  });

  it('keep best-quality: highest score, ties by smaller id', async () => {
    const dir = out();
    await runComplete({ inputs: [{ path }], outDir: dir, keep: 'best-quality', qualityField: 'q' });
    const kept = clusterLines(dir).filter((l) => l.kept).map((l) => l.id).sort();
    // a: 0.9 tie between y-a1 and x-a2 → x-a2; b: b1 (1 > 0); c, d: tie at 0 → c0, d0.
    expect(kept).toEqual(['b1', 'c0', 'd0', 'x-a2']);
  });

  it('near dedup without verification, or by signature, still composes with exact', async () => {
    for (const verify of ['none', 'signature'] as const) {
      const dir = out();
      await runComplete({ inputs: [{ path }], outDir: dir, verify });
      const groups = partition(clusterLines(dir));
      expect(groups).toContainEqual(['b0', 'b1']);
      expect(groups).toContainEqual(['d0', 'd1']);
    }
  });
});

describe('resume, ranks and errors', () => {
  const shards = [0, 1, 2].map((s) => writeJsonl(join(root, `shard-${s}.jsonl`), planted.docs.filter((_, i) => i % 3 === s)));
  const inputs = shards.map((path) => ({ path, source: 'syn' }));

  it('a run killed after its first shard resumes from it, with identical outputs', async () => {
    const fresh = out();
    await runComplete({ inputs, outDir: fresh });
    const dir = out();
    await expect(
      dedup({ inputs, outDir: dir, workers: 1 }, cpu, { onShardDone: () => { throw new Error('killed'); } }),
    ).rejects.toThrow('killed');
    expect(existsSync(join(dir, '.tokenmix-dedup', 'shards', '00000.done.json'))).toBe(true);
    expect(existsSync(join(dir, '.tokenmix-dedup', 'shards', '00001.done.json'))).toBe(false);
    const logs: string[] = [];
    await runComplete({ inputs, outDir: dir }, cpu, (m) => logs.push(m));
    expect(logs.join('\n')).toMatch(/1 of 3 work units already have signatures/);
    expect(snapshot(dir)).toEqual(snapshot(fresh));
  });

  it('a shard killed midway leaves only .partial files, which a rerun replaces', async () => {
    const fresh = out();
    await runComplete({ inputs, outDir: fresh, batchSize: 4 });
    const dir = out();
    const controller = new AbortController();
    let batches = 0;
    const advance = () => {
      if (++batches === 3) controller.abort(new Error('killed midway'));
    };
    await expect(dedup({ inputs, outDir: dir, batchSize: 4, workers: 1 }, cpu, { signal: controller.signal, advance })).rejects.toThrow('killed midway');
    const left = readdirSync(join(dir, '.tokenmix-dedup', 'shards'));
    expect(left.every((f) => f.endsWith('.partial'))).toBe(true);
    await runComplete({ inputs, outDir: dir, batchSize: 4 });
    expect(snapshot(dir)).toEqual(snapshot(fresh));
  });

  it('the grouping phase resumes from completed bucket ranges, with identical outputs', async () => {
    const dir = out();
    await runComplete({ inputs, outDir: dir, keepWork: true, groupingBytes: 8192 });
    const first = snapshot(dir);
    const ranges = join(dir, '.tokenmix-dedup', 'ranges');
    const markers = readdirSync(ranges).filter((f) => f.endsWith('.done.json')).sort();
    expect(markers.length).toBeGreaterThan(3);
    for (const marker of markers.slice(2)) rmSync(join(ranges, marker)); // as if killed after range 1
    const logs: string[] = [];
    await runComplete({ inputs, outDir: dir, keepWork: true, groupingBytes: 8192 }, cpu, (m) => logs.push(m));
    expect(logs.join('\n')).toMatch(/3 of 3 work units already have signatures/);
    expect(logs.join('\n')).toMatch(new RegExp(`2 of ${markers.length} bucket ranges already grouped`));
    expect(snapshot(dir)).toEqual(first);
  });

  it('--rank/--world-size split the signature phase; the last rank writes identical outputs', async () => {
    const fresh = out();
    await runComplete({ inputs, outDir: fresh });
    const dir = out();
    const first = await dedup({ inputs, outDir: dir, rank: 0, worldSize: 2 }, cpu);
    // Units go to ranks balanced by bytes (src/exec/units.ts assignUnits): rank 0 finishes some inputs.
    expect(first.status).toBe('partial');
    if (first.status !== 'partial') return;
    expect(first.pendingShards.length).toBeGreaterThan(0);
    expect(first.pendingShards.length + first.completedShards).toBe(3);
    const second = await dedup({ inputs, outDir: dir, rank: 1, worldSize: 2 }, cpu);
    expect(second.status).toBe('complete');
    expect(snapshot(dir)).toEqual(snapshot(fresh));
  });

  it('refuses intermediates of a run with other options', async () => {
    const dir = out();
    await runComplete({ inputs, outDir: dir, keepWork: true });
    await expect(dedup({ inputs, outDir: dir, ngram: 4 }, cpu)).rejects.toThrow(/different inputs, options or tool version/);
  });

  const errors = [
    { name: 'no inputs', options: { inputs: [] }, message: /at least one --input/ },
    { name: 'a missing file', options: { inputs: [{ path: join(root, 'nope.jsonl') }] }, message: /matches no file/ },
    { name: 'best-quality without a field', options: { keep: 'best-quality' as const }, message: /--quality-field/ },
    { name: 'a bad threshold', options: { threshold: 1.2 }, message: /--threshold/ },
    { name: 'bands without rows', options: { bands: 8 }, message: /go together/ },
    { name: 'too many bands', options: { bands: 20, rows: 7 }, message: /bands × rows/ },
    { name: 'an unknown verify mode', options: { verify: 'maybe' as never }, message: /--verify must be one of/ },
    { name: 'rank outside the world', options: { rank: 2, worldSize: 2 }, message: /--rank/ },
  ];
  for (const e of errors) {
    it(`clear error: ${e.name}`, async () => {
      const run = dedup({ inputs, outDir: out(), ...e.options }, cpu);
      await expect(run).rejects.toThrow(TokenmixError);
      await expect(run).rejects.toThrow(e.message);
    });
  }

  it('bad records fail with file:line and field, or are quarantined and counted', async () => {
    const path = join(root, 'bad.jsonl');
    writeFileSync(path, `${JSON.stringify({ id: 'a', text: 'one two three' })}\n{"id": "b", "text": \n${JSON.stringify({ id: 'c', text: 'one two three' })}\n`);
    await expect(dedup({ inputs: [{ path, source: 's' }], outDir: out() }, cpu)).rejects.toThrow(/bad\.jsonl:2.*--on-error quarantine/);
    const dir = out();
    const { manifest } = await runComplete({ inputs: [{ path, source: 's' }], outDir: dir, onError: 'quarantine' });
    expect(manifest.totals).toMatchObject({ docs_in: 2, docs_out: 1, quarantined: 1 });
    expect(manifest.quarantine).toEqual({ 'malformed-json': 1 });
    expect(JSON.parse(readFileSync(join(dir, 'quarantine.jsonl'), 'utf8'))).toMatchObject({ line: 2, reason: 'malformed-json' });
  });
});
