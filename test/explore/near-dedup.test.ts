/**
 * The explorer's near-dedup stage (`dedup.near`), on hand-built documents.
 * Hand-built documents with known shingle Jaccard (word 5-grams): a 60-word base text has 56
 * shingles; changing its last word changes one shingle (J = 55/57 ≈ 0.965); replacing words
 * 20..39 changes the 24 shingles touching them (J = 32/80 = 0.4); a copy differing only in case
 * and punctuation has the same shingles (J = 1) but is not an exact duplicate. Expected
 * outcomes follow from those numbers, on both backends (MinHash on the GPU where available).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend.js';
import { WordsTokenizer } from '../../src/text/words.js';
import { ExploreCorpus, type ExploreRecord } from '../../src/explore/corpus.js';
import { ExploreSession, parseExploreConfig } from '../../src/explore/session.js';
import { openTestGpu } from '../helpers/gpu.js';

const gpu = await openTestGpu();
afterAll(() => gpu.ctx?.destroy());

const words = Array.from({ length: 60 }, (_, i) => `w${i}`);
const base = words.join(' ');
const lastChanged = [...words.slice(0, 59), 'other'].join(' ');
const middleReplaced = [...words.slice(0, 20), ...Array.from({ length: 20 }, (_, i) => `x${i}`), ...words.slice(40)].join(' ');
const casePunct = lastChanged.toUpperCase().replace(/ /g, ', ');

const records: ExploreRecord[] = [
  { id: 'a', source: 'web', text: base, scores: { quality: 0.5 } },
  { id: 'b', source: 'web', text: lastChanged, scores: { quality: 0.9 } },
  { id: 'c', source: 'web', text: middleReplaced, scores: { quality: 0.7 } },
  { id: 'd', source: 'code', text: casePunct, scores: { quality: 0.9 } },
];
const evals = [{ name: 'general', texts: ['w1 w2 w3 x1 x2'] }];

function config(near: Record<string, unknown> | null, keep = 'first') {
  return parseExploreConfig({
    inputs: [{ path: 'toy.jsonl' }],
    // best-quality ranks by the first fields.quality score (as the reduce phase does; no filter needed).
    fields: { quality: 'quality' },
    dedup: { exact: true, keep, ...(near ? { near } : {}) },
    evals: { general: 'general.txt' },
    schedule: [{ fraction: 1, weights: { web: 1, code: 1 } }],
    budget_tokens: 100,
  });
}

const cases = [
  { name: 'threshold 0.8, keep first: b and d join a', near: { threshold: 0.8 }, keep: 'first', kept: ['a', 'c'], clusters: 1 },
  { name: 'threshold 0.8, keep best-quality: b wins (0.9; d ties and loses on id)', near: { threshold: 0.8 }, keep: 'best-quality', kept: ['b', 'c'], clusters: 1 },
  { name: 'threshold 0.98: only the J = 1 pair (b, d) is a near duplicate', near: { threshold: 0.98 }, keep: 'first', kept: ['a', 'b', 'c'], clusters: 1 },
  { name: 'threshold 0.3: c (J = 0.4 with a) joins too', near: { threshold: 0.3 }, keep: 'first', kept: ['a'], clusters: 1 },
  { name: 'near dedup off', near: null, keep: 'first', kept: ['a', 'b', 'c', 'd'], clusters: 0 },
];

const backends: [string, Backend | null][] = [
  ['cpu', { kind: 'cpu', reason: 'test' }],
  [gpu.label, gpu.ctx ? { kind: 'gpu', ctx: gpu.ctx } : null],
];

describe.each(backends)('explorer near dedup (%s)', (_label, backend) => {
  it.skipIf(!backend).each(cases)('$name', async ({ near, keep, kept, clusters }) => {
    const session = new ExploreSession(new ExploreCorpus(records, evals, new WordsTokenizer()), backend!);
    const result = await session.run(config(near, keep));
    expect(records.filter((_, i) => result.curation.keep[i] === 1).map((r) => r.id)).toEqual(kept);
    expect(result.curation.near?.clusters ?? 0).toBe(clusters);
    if (near) {
      const stage = result.curation.stages.find((s) => s.stage === 'near_dedup')!;
      expect(stage.docsIn.reduce((a, b) => a + b, 0)).toBe(4);
      expect(stage.docsOut.reduce((a, b) => a + b, 0)).toBe(kept.length);
    }
    const retained = Object.fromEntries(result.evaluation.sources.map((s) => [s.name, s.retainedDocs]));
    expect(retained).toEqual({ code: kept.includes('d') ? 1 : 0, web: kept.filter((id) => id !== 'd').length });
  });
});

// A chain: p, q, r are words 0–63, 6–69 and 12–75 of 76 distinct words (60 shingles each), so
// J(p, q) = J(q, r) = 54/66 ≈ 0.818 and J(p, r) = 48/72 ≈ 0.667. At 0.8 the components rule
// keeps p alone; cover removes q (for p) and keeps r, which has no kept near duplicate.
const chainWords = Array.from({ length: 76 }, (_, i) => `z${i}`);
const chainRecords: ExploreRecord[] = [0, 6, 12].map((from, i) => ({
  id: 'pqr'[i],
  source: 'web',
  text: chainWords.slice(from, from + 64).join(' '),
  scores: { quality: i === 1 ? 1 : 0 },
}));
// An unrelated record, so the schedule's "code" source exists.
chainRecords.push({ id: 's', source: 'code', text: Array.from({ length: 64 }, (_, i) => `y${i}`).join(' '), scores: { quality: 0 } });
const chainCases = [
  { name: 'cover (default), keep first: q goes for p, r stays', near: { threshold: 0.8 }, keep: 'first', kept: ['p', 'r', 's'] },
  { name: 'cover, keep best-quality: q is kept first, p and r go for it', near: { threshold: 0.8, cluster: 'cover' }, keep: 'best-quality', kept: ['q', 's'] },
  { name: 'components, keep first: the chain merges, only p stays', near: { threshold: 0.8, cluster: 'components' }, keep: 'first', kept: ['p', 's'] },
];

describe.each(backends)('explorer near dedup on a chain (%s)', (_label, backend) => {
  it.skipIf(!backend).each(chainCases)('$name', async ({ near, keep, kept }) => {
    const session = new ExploreSession(new ExploreCorpus(chainRecords, evals, new WordsTokenizer()), backend!);
    const result = await session.run(config(near, keep));
    expect(chainRecords.filter((_, i) => result.curation.keep[i] === 1).map((r) => r.id)).toEqual(kept);
    expect(result.curation.near).toMatchObject({ clusters: 1, rule: { removed_components: 2, removed_cover: keep === 'first' ? 1 : 2 } });
  });
});
