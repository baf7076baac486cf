/**
 * The explorer's curation equals `tokenmix curate`'s, near dedup included: the same kept
 * records, the same per-stage counts per source (documents and tokens), the same near-dedup
 * summary and cluster-rule counts, and clusters.jsonl line for line — under both cluster rules
 * and both keep orders, on the fixture corpus and on a seeded corpus with planted near
 * duplicates (mutated copies across the threshold, chains of copies, exact and whitespace
 * copies, texts without words, duplicate ids, tied scores). The CLI's side is its files; the
 * explorer runs the same steps in memory (src/steps), with its own signatures and buckets.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../../src/backend.js';
import { curate, type Manifest } from '../../src/pipeline/curate.js';
import { WordsTokenizer } from '../../src/text/words.js';
import { ExploreCorpus } from '../../src/explore/corpus.js';
import { Curator, type Curation } from '../../src/explore/curate.js';
import { KEPT } from '../../src/dedup/cover.js';
import { mulberry32 } from '../../fixtures/random.js';
import { openTestGpu } from '../helpers/gpu.js';
import { expectSameStages, loadRun } from './helpers.js';

const corpusDir = new URL('../../fixtures/corpus/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'tokenmix-equals-cli-'));
const gpu = await openTestGpu();
afterAll(() => {
  gpu.ctx?.destroy();
  rmSync(work, { recursive: true, force: true });
});
const cpu: Backend = { kind: 'cpu', reason: 'test' };


/**
 * Two JSONL shards of documents with planted near duplicates; returns the config path. With
 * `boilerplate`, half the documents start with the same 12 words, which crowds unrelated
 * documents into shared LSH buckets.
 */
function plantedCorpus(seed: number, boilerplate = false): string {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const vocabulary = Array.from({ length: 400 }, (_, i) => `w${i}`);
  const sources = ['web', 'code', 'math'];
  const docs: { id: string; source: string; text: string; quality: number }[] = [];
  const add = (text: string, source = pick(sources)) => docs.push({ id: `d${docs.length}`, source, text, quality: Math.round(rand() * 10) / 10 });
  const mutate = (words: string[], changes: number) => {
    const copy = [...words];
    for (let c = 0; c < changes; c++) copy[Math.floor(rand() * copy.length)] = pick(vocabulary);
    return copy;
  };
  for (let b = 0; b < 80; b++) {
    const header = boilerplate && rand() < 0.5 ? Array.from({ length: 12 }, (_, i) => `h${i}`) : [];
    const base = [...header, ...Array.from({ length: 30 + Math.floor(rand() * 70) }, () => pick(vocabulary))];
    add(base.join(' '));
    const family = Math.floor(rand() * 4);
    let previous = base;
    for (let f = 0; f < family; f++) {
      // Copies of the base or of the previous copy (chains), a few words to a quarter changed.
      const from = rand() < 0.5 ? base : previous;
      previous = mutate(from, 1 + Math.floor(rand() * from.length * 0.25));
      add(previous.join(' '));
    }
    if (rand() < 0.15) add(`  ${base.join('\n')} `); // the same text after exact-dedup normalization
    if (rand() < 0.1) add(base.join(' ').toUpperCase()); // the same shingles, not the same text
  }
  add('!!! … ???');
  add('!!! … ???'); // no words: never near duplicates, still exact duplicates
  add('— — —');
  docs.push({ ...docs[3], text: `${docs[3].text} again` }); // a duplicate id (quarantined)
  // Shuffle, so duplicates come before and after their originals.
  for (let i = docs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [docs[i], docs[j]] = [docs[j], docs[i]];
  }
  const dir = join(work, `planted-${seed}-${boilerplate}`);
  rmSync(dir, { recursive: true, force: true });
  const half = Math.floor(docs.length / 2);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'a.jsonl'), docs.slice(0, half).map((d) => `${JSON.stringify(d)}\n`).join(''));
  writeFileSync(join(dir, 'b.jsonl'), docs.slice(half).map((d) => `${JSON.stringify(d)}\n`).join(''));
  writeFileSync(join(dir, 'eval.txt'), docs[5].text.split(' ').slice(0, 20).join(' '));
  const config = {
    inputs: [{ path: 'a.jsonl' }, { path: 'b.jsonl' }],
    fields: { quality: 'quality' },
    filters: { quality: { field: 'quality', thresholds: { web: 0.1 } }, heuristics: { min_words: 4 } },
    evals: { general: 'eval.txt' },
    contamination: { ngram: 8, min_overlap: 1, action: 'drop' },
    dedup: { exact: true, keep: 'first', near: { threshold: 0.7 } },
    seed,
    on_error: 'quarantine',
    batch_size: 37,
  };
  const path = join(dir, 'curate.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** The config at `path` with keep order and cluster rule set, written next to it. */
function variant(path: string, keep: string, cluster: string): string {
  const raw = JSON.parse(readFileSync(path, 'utf8'));
  raw.dedup = { ...raw.dedup, keep, near: { ...raw.dedup.near, cluster } };
  raw.budget_tokens = 1000; // the explorer reads configs as `tokenmix mix` does; curate ignores it
  raw.inputs = raw.inputs.map((input: { path: string }) => ({ ...input, path: join(path, '..', input.path) }));
  if (raw.evals) raw.evals = Object.fromEntries(Object.entries(raw.evals as Record<string, string>).map(([name, p]) => [name, join(path, '..', p)]));
  const out = join(work, `${keep}-${cluster}-${Math.abs(hash(path))}.json`);
  writeFileSync(out, JSON.stringify(raw));
  return out;
}
const hash = (s: string) => [...s].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) | 0, 7);

async function cli(configPath: string): Promise<{ manifest: Manifest; keptIds: string[]; clusters: string[] }> {
  const outDir = join(work, `out-${Math.abs(hash(configPath))}`);
  const result = await curate({ configPath, outDir, backend: cpu, workers: 1 });
  if (result.status !== 'complete') throw new Error('curate did not complete');
  const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const keptIds = readdirSync(join(outDir, 'keep')).sort().flatMap((f) => lines(join(outDir, 'keep', f)).map((l) => (JSON.parse(l) as { id: string }).id));
  return { manifest: result.manifest, keptIds, clusters: lines(join(outDir, 'clusters.jsonl')) };
}

/** clusters.jsonl as `tokenmix dedup` writes it (src/dedup/clusters.ts), from the explorer's outcome. */
function clusterLines(curation: Curation, ids: string[]): string[] {
  const near = curation.near!;
  const lines: string[] = [];
  near.members.forEach((record, d) => {
    const root = near.components[d];
    if (near.sizes[root] < 2) return;
    const kept = near.of[d] === KEPT;
    const j = near.jaccard[d];
    const removed = kept ? '' : `,"of":${JSON.stringify(ids[near.members[near.of[d]]])},"jaccard":${Number.isNaN(j) ? 'null' : String(Math.round(j * 1e6) / 1e6)}`;
    lines.push(`{"id":${JSON.stringify(ids[record])},"cluster":${root},"kept":${kept}${removed}}`);
  });
  return lines;
}

async function expectExplorerEqualsCli(configPath: string, backend: Backend): Promise<Curation> {
  const run = await loadRun(configPath);
  const corpus = new ExploreCorpus(run.records, run.evals, new WordsTokenizer());
  const curation = await new Curator(corpus, backend).curate(run.config.curate);
  const theirs = await cli(configPath);
  const ids = run.records.map((r) => r.id);
  expect(ids.filter((_, i) => curation.keep[i] === 1)).toEqual(theirs.keptIds);
  expectSameStages(curation, theirs.manifest);
  const near = curation.near!;
  const manifestNear = theirs.manifest.near_dedup!;
  expect({
    clusters: near.clusters, documents_in_clusters: near.documentsInClusters, largest_cluster: near.largestCluster, removed: near.removed,
    lsh: near.plan, cluster_rule: JSON.parse(JSON.stringify(near.rule)),
  }).toEqual({
    clusters: manifestNear.clusters, documents_in_clusters: manifestNear.documents_in_clusters, largest_cluster: manifestNear.largest_cluster,
    removed: manifestNear.removed, lsh: manifestNear.lsh, cluster_rule: JSON.parse(JSON.stringify(manifestNear.cluster_rule)),
  });
  expect(clusterLines(curation, ids)).toEqual(theirs.clusters);
  return curation;
}

const variants = [
  { keep: 'first', cluster: 'cover' },
  { keep: 'best-quality', cluster: 'cover' },
  { keep: 'first', cluster: 'components' },
  { keep: 'best-quality', cluster: 'components' },
];

describe('explorer curation = tokenmix curate, near dedup included (CPU)', () => {
  it.each(variants)('fixture corpus, keep $keep, cluster $cluster', async ({ keep, cluster }) => {
    const curation = await expectExplorerEqualsCli(variant(join(corpusDir, 'curate.json'), keep, cluster), cpu);
    expect(curation.near!.removed).toBeGreaterThan(0);
  });

  it.each(variants)('seeded corpus with planted near duplicates, keep $keep, cluster $cluster', async ({ keep, cluster }) => {
    const curation = await expectExplorerEqualsCli(variant(plantedCorpus(11), keep, cluster), cpu);
    // The corpus exercises what it plants: many clusters, removals at several Jaccard levels,
    // chains that the components rule removes below the threshold (checked for keep first
    // only: under best-quality the member kept depends on the scores), and drops at every stage.
    const near = curation.near!;
    expect(near.clusters).toBeGreaterThan(10);
    expect(Object.keys(near.rule.jaccard_to_kept.components.toJSON()).length).toBeGreaterThan(3);
    if (keep === 'first') expect(near.rule.components_removed_below_threshold).toBeGreaterThan(0);
    for (const stage of curation.stages) expect(stage.docsIn.reduce((a, b) => a + b, 0), stage.stage).toBeGreaterThan(stage.docsOut.reduce((a, b) => a + b, 0));
  });
});

/**
 * One row per band and shared boilerplate: crowded buckets whose members are mostly not near
 * duplicates (where the candidate links matter); exact dedup and heuristics off, so exact-text
 * copies (those without words included) reach near dedup and its exact-text buckets.
 */
function crowded(path: string): string {
  const raw = JSON.parse(readFileSync(path, 'utf8'));
  raw.dedup.exact = false;
  delete raw.filters.heuristics;
  raw.dedup.near = { ...raw.dedup.near, threshold: 0.6, num_hashes: 32, bands: 32, rows: 1 };
  writeFileSync(path, JSON.stringify(raw));
  return path;
}

describe('explorer curation = tokenmix curate with crowded LSH buckets (CPU)', () => {
  it.each(variants)('seeded corpus, 32 bands × 1 row, keep $keep, cluster $cluster', async ({ keep, cluster }) => {
    const curation = await expectExplorerEqualsCli(crowded(variant(plantedCorpus(13, true), keep, cluster)), cpu);
    expect(curation.near!.pairsVerified).toBeGreaterThan(200);
  });
});

describe.skipIf(!gpu.ctx)(`explorer curation on the GPU (${gpu.label}) = tokenmix curate on the CPU`, () => {
  it.each(variants.slice(0, 2))('seeded corpus, keep $keep, cluster $cluster', async ({ keep, cluster }) => {
    await expectExplorerEqualsCli(variant(plantedCorpus(12), keep, cluster), { kind: 'gpu', ctx: gpu.ctx! });
  });
});
