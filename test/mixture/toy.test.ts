/**
 * The seed's toy (seeds/002, section 03 Code) reproduced end to end from the fixture files:
 * fixtures/toy/corpus.jsonl + evals/*.txt → minimal curation (threshold, then exact dedup of
 * identical texts; contamination by shared 8-grams with eval texts) → `words` counts (trivial
 * whitespace split here) → mixture engine. Goldens: fixtures/toy/expected.json, written by running
 * the seed's own Python (fixtures/toy/toy.py).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  constantSchedule,
  evaluateCandidates,
  evaluateMixture,
  prepareMixtureData,
  weightVector,
  type Schedule,
} from '../../src/mixture/index.js';

const dir = new URL('../../fixtures/toy/', import.meta.url);
const golden = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8'));
const corpus: { id: string; source: string; quality: number; text: string }[] = readFileSync(new URL('corpus.jsonl', dir), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line));
const evalNames = ['general', 'math', 'code'];
const evalTexts = Object.fromEntries(evalNames.map((name) => [name, readFileSync(new URL(`evals/${name}.txt`, dir), 'utf8')]));

const words = (text: string) => text.toLowerCase().split(/\s+/).filter((w) => w !== '');
const CONTAMINATION_NGRAM = 8;
const ngrams = (tokens: string[], n: number) => new Set(tokens.slice(0, Math.max(0, tokens.length - n + 1)).map((_, i) => tokens.slice(i, i + n).join(' ')));
const evalNgrams = new Set(Object.values(evalTexts).flatMap((text) => [...ngrams(words(text), CONTAMINATION_NGRAM)]));
const isEvalLike = (text: string) => [...ngrams(words(text), CONTAMINATION_NGRAM)].some((gram) => evalNgrams.has(gram));

// Vocabulary of `words` (SPEC §3): distinct tokens of corpus and eval sets together.
const vocab = [...new Set([...corpus.flatMap((r) => words(r.text)), ...Object.values(evalTexts).flatMap(words)])].sort();
const tokenIndex = new Map(vocab.map((token, v) => [token, v]));
const sourceNames = [...new Set(corpus.map((r) => r.source))];

/** The seed's curate(): threshold per source, then (optionally) keep the first of identical texts. */
function curate(thresholds: Record<string, number>, dedup: boolean) {
  const seen = new Set<string>();
  return corpus.filter((record) => {
    if (record.quality < (thresholds[record.source] ?? 0)) return false;
    if (dedup && seen.has(record.text)) return false;
    seen.add(record.text);
    return true;
  });
}

function scenario(name: 'baseline' | 'curated_late') {
  const config = golden.scenarios[name].config;
  const kept = curate(config.thresholds, config.dedup);
  const counts = new Float64Array(sourceNames.length * vocab.length);
  const docs = new Array(sourceNames.length).fill(0);
  const leak = new Array(sourceNames.length).fill(0);
  for (const record of kept) {
    const i = sourceNames.indexOf(record.source);
    const tokens = words(record.text);
    docs[i]++;
    if (isEvalLike(record.text)) leak[i] += tokens.length;
    for (const token of tokens) counts[i * vocab.length + tokenIndex.get(token)!]++;
  }
  const evalCounts = (text: string) => {
    const row = new Float64Array(vocab.length);
    for (const token of words(text)) row[tokenIndex.get(token)!]++;
    return row;
  };
  const data = prepareMixtureData({
    sources: sourceNames.map((source, i) => ({ name: source, retainedDocs: docs[i], leakTokens: leak[i] })),
    counts,
    vocabSize: vocab.length,
    evals: evalNames.map((evalName) => ({ name: evalName, tokenCounts: evalCounts(evalTexts[evalName]) })),
  });
  const schedule: Schedule = config.late_mix
    ? [
        { fraction: 1 - config.late_fraction, weights: config.early_mix },
        { fraction: config.late_fraction, weights: config.late_mix, name: 'late' },
      ]
    : constantSchedule(config.early_mix);
  return { kept, data, schedule, evaluation: evaluateMixture(data, schedule, { budgetTokens: golden.budget_tokens }) };
}

describe('toy fixture encodes the seed', () => {
  it('has the seed vocabulary, per-document counts and eval distributions', () => {
    expect(vocab).toEqual([...golden.vocab].sort());
    for (const doc of golden.docs) {
      const record = corpus.find((r) => r.id === doc.id)!;
      expect({ source: record.source, quality: record.quality }).toEqual({ source: doc.source, quality: doc.quality });
      const counts: Record<string, number> = {};
      for (const token of words(record.text)) counts[token] = (counts[token] ?? 0) + 1;
      expect(counts).toEqual(doc.counts);
    }
    for (const name of evalNames) {
      const tokens = words(evalTexts[name]);
      const distribution: Record<string, number> = {};
      for (const token of tokens) distribution[token] = (distribution[token] ?? 0) + 1;
      for (const token of Object.keys(distribution)) distribution[token] /= tokens.length;
      expect(distribution).toEqual(golden.evals[name]); // exact: 9/20 === 0.45
    }
  });

  it('exact dedup of identical texts reproduces the seed groups, and 8-gram contamination flags exactly the leaked doc', () => {
    for (const doc of golden.docs) {
      const sameGroup = golden.docs.filter((other: { seed_group: string }) => other.seed_group === doc.seed_group).map((o: { id: string }) => o.id);
      const sameText = corpus.filter((r) => r.text === corpus.find((x) => x.id === doc.id)!.text).map((r) => r.id);
      expect(sameText).toEqual(sameGroup);
      expect(isEvalLike(corpus.find((r) => r.id === doc.id)!.text)).toBe(doc.seed_leak);
    }
  });
});

describe('toy scenarios match the seed to 1e-9', () => {
  for (const name of ['baseline', 'curated_late'] as const) {
    it(name, () => {
      const expected = golden.scenarios[name];
      const { kept, evaluation } = scenario(name);
      expect(kept.map((r) => r.id)).toEqual(expected.kept_docs);
      for (const evalName of evalNames) expect(evaluation.losses[evalName]).toBeCloseTo(expected.losses[evalName], 9);
      expect(evaluation.contaminationMass).toBeCloseTo(expected.contamination_mass, 9);
      for (const source of sourceNames) {
        const diagnostics = evaluation.sources.find((s) => s.name === source)!;
        expect(diagnostics.repetition).toBeCloseTo(expected.repetition_pressure[source], 9);
        expect(diagnostics.retainedTokens).toBe(expected.retained_tokens[source]);
        expect(diagnostics.leakTokens).toBe(expected.leak_tokens[source]);
      }
      for (const [evalName, loss] of Object.entries(evaluation.losses)) {
        expect(Math.abs(loss - expected.losses[evalName])).toBeLessThan(1e-9);
      }
    });
  }

  it("the seed's four asserted inequalities hold", () => {
    const baseline = scenario('baseline').evaluation;
    const curated = scenario('curated_late').evaluation;
    expect(curated.losses.math).toBeLessThan(baseline.losses.math);
    expect(curated.losses.code).toBeLessThan(baseline.losses.code);
    expect(curated.losses.general).toBeGreaterThan(baseline.losses.general);
    expect(curated.contaminationMass).toBeLessThan(baseline.contaminationMass);
  });

  it('the batched candidate path gives the same losses as evaluateMixture for wbar', async () => {
    for (const name of ['baseline', 'curated_late'] as const) {
      const { data, evaluation } = scenario(name);
      const batch = await evaluateCandidates(data, weightVector(evaluation.weights, data.sourceNames), { budgetTokens: golden.budget_tokens });
      evalNames.forEach((evalName, j) => expect(batch.losses[j]).toBeCloseTo(golden.scenarios[name].losses[evalName], 12));
      expect(batch.contaminationMass[0]).toBeCloseTo(golden.scenarios[name].contamination_mass, 12);
      expect(batch.objective[0]).toBeCloseTo(evaluation.objective, 12);
    }
  });

  it('the curated schedule upsamples past the default 4-epoch cap and says so', () => {
    const { evaluation } = scenario('curated_late');
    // rho: web 5.64, edu 3.74, code 4.25 (expected.json) against the default cap of 4 epochs.
    expect(evaluation.warnings.map((w) => [w.kind, w.source])).toEqual([['epoch-cap', 'web'], ['epoch-cap', 'code']]);
    expect(evaluation.stages.map((s) => s.fraction)).toEqual([0.8, 0.2]);
  });
});
