/**
 * Shared by the explorer tests: load a run config's records and eval sets into memory with the
 * Node readers (what the page gets from a dropped file), and compare an explorer result with the
 * diagnostics block of the manifest `tokenmix mix` wrote for the same config.
 */
import { expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { readRecords, resolveInputs } from '../../src/io/index.js';
import { fieldMap } from '../../src/pipeline/curate.js';
import { readEvalSets } from '../../src/pipeline/evals.js';
import type { MixManifest } from '../../src/pipeline/mix.js';
import { parseExploreConfig, type ExploreConfig, type ExploreResult } from '../../src/explore/session.js';
import type { ExploreEvalSet, ExploreRecord } from '../../src/explore/corpus.js';
import type { Curation } from '../../src/explore/curate.js';

export interface LoadedRun {
  config: ExploreConfig;
  records: ExploreRecord[];
  evals: ExploreEvalSet[];
}

/** Parse `configPath` and read its inputs (valid records, in input order) and eval sets. */
export async function loadRun(configPath: string): Promise<LoadedRun> {
  const config = parseExploreConfig(JSON.parse(readFileSync(configPath, 'utf8')));
  const baseDir = dirname(resolve(configPath));
  const fields = fieldMap(config.curate);
  const records: ExploreRecord[] = [];
  for (const input of resolveInputs(config.curate.inputs, baseDir)) {
    for await (const batch of readRecords(input, fields)) {
      for (let i = 0; i < batch.length; i++) {
        const scores = Object.fromEntries((fields.quality ?? []).map((name) => [name, batch.scores[name][i]]));
        records.push({ id: batch.ids[i], source: batch.sources[i], text: batch.texts[i], scores });
      }
    }
  }
  const evals = (await readEvalSets(config.curate.evals, baseDir)).map((e) => ({ name: e.name, texts: e.texts }));
  return { config, records, evals };
}

/** The manifest rounds its floats to 15 significant digits (src/pipeline/mix.ts). */
export const round15 = (x: number) => Number(x.toPrecision(15));

/** Every diagnostic the explorer shows equals the manifest's, after the manifest's rounding. */
export function expectSameAsManifest(result: ExploreResult, manifest: MixManifest): void {
  const d = manifest.diagnostics;
  const e = result.evaluation;
  const rounded = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round15(v)]));
  const bySource = <T>(f: (s: (typeof e.sources)[number]) => T) => Object.fromEntries(e.sources.map((s) => [s.name, f(s)]));
  expect(rounded(e.losses)).toEqual(d.losses);
  expect(round15(e.objective)).toBe(d.objective);
  expect(round15(e.contaminationMass)).toBe(d.contamination_mass);
  expect(bySource((s) => round15(s.repetition))).toEqual(d.repetition_pressure);
  expect(bySource((s) => round15(s.expectedUniqueTokens))).toEqual(d.unique_tokens_seen);
  expect(bySource((s) => round15(s.effectiveTokens))).toEqual(d.effective_tokens);
  expect(bySource((s) => s.retainedTokens)).toEqual(d.retained_tokens);
  expect(bySource((s) => s.retainedDocs)).toEqual(d.retained_docs);
  expect(bySource((s) => s.leakTokens)).toEqual(d.leak_tokens);
  expect(e.stages.map((s) => rounded(s.losses))).toEqual(d.stages.map((s) => s.losses));
  expect(result.topTokens.map((t) => ({ token: t.token, probability: round15(t.probability) }))).toEqual(d.top_tokens);
  expect(e.warnings.map((w) => w.message)).toEqual(d.warnings);
  expect(rounded(e.weights)).toEqual(manifest.mixture.average_weights);
  expect(result.retained.vocabSize).toBe(manifest.mixture.vocab_size);
  expectSameStages(result.curation, manifest);
}

/** The funnel: every stage the manifest reports, per source, in documents and tokens. */
export function expectSameStages(curation: Curation, manifest: Pick<MixManifest, 'sources' | 'stages'>): void {
  const sources = manifest.sources;
  for (const stage of manifest.stages) {
    const mine = curation.stages.find((s) => s.stage === stage.name);
    expect(mine, `stage ${stage.name}`).toBeDefined();
    const perSource = Object.fromEntries(
      sources.map((name, i) => [name, { docs_in: mine!.docsIn[i], docs_out: mine!.docsOut[i], tokens_in: mine!.tokensIn[i], tokens_out: mine!.tokensOut[i] }]),
    );
    const theirs = Object.fromEntries(
      Object.entries(stage.per_source).map(([name, s]) => [name, { docs_in: s.docs_in, docs_out: s.docs_out, tokens_in: s.tokens_in, tokens_out: s.tokens_out }]),
    );
    expect(perSource, `stage ${stage.name}`).toEqual(theirs);
  }
}
