/**
 * The retained corpus as the mixture engine needs it (SPEC §3), from an in-memory curation:
 * per-source token histograms C_i(v) of the kept documents (histogram kernel on the chosen
 * backend, exact integer counts), retained documents, leak tokens of kept eval-like documents,
 * and the eval sets' token counts — over the vocabulary `tokenmix mix` uses
 * (src/pipeline/distributions.ts): for `words`, the distinct tokens of the kept documents and
 * the eval sets in code-point order, which is the sorted global vocabulary with the columns
 * nobody uses left out; for a BPE tokenizer, its own ids.
 */
import type { Backend } from '../backend.js';
import { invariant } from '../errors.js';
import { createHistogramAccumulator } from '../kernels/histogram.js';
import { prepareMixtureData, type PreparedMixtureData } from '../mixture/data.js';
import type { ExploreCorpus } from './corpus.js';
import type { Curation } from './curate.js';

export interface RetainedData {
  prepared: PreparedMixtureData;
  /** `words`: token of each column of the run's vocabulary; null for BPE. */
  vocabulary: string[] | null;
  vocabSize: number;
  /** Distinct tokens of the kept documents (SPEC §4 diversity; eval-only tokens excluded). */
  distinctRetainedTokens: number;
  retainedDocs: number[];
  leakTokens: number[];
}

export async function retainedData(corpus: ExploreCorpus, curation: Curation, backend: Backend): Promise<RetainedData> {
  const k = corpus.sources.length;
  const globalV = Math.max(1, corpus.vocabSize);
  const accumulator = createHistogramAccumulator(backend, { numSources: k, vocabSize: globalV });
  let counts: Float64Array;
  let histogramMass: Float64Array;
  try {
    await accumulator.add({ offsets: corpus.tokens.offsets, ids: corpus.tokens.ids, sources: corpus.sourceOf, keep: curation.keep });
    counts = await accumulator.read();
    histogramMass = accumulator.tokensPerSource;
  } finally {
    accumulator.destroy();
  }
  const retainedDocs = new Array<number>(k).fill(0);
  const leakTokens = new Array<number>(k).fill(0);
  const tokensOfKept = new Array<number>(k).fill(0);
  for (let r = 0; r < corpus.size; r++) {
    if (curation.keep[r] === 0) continue;
    const s = corpus.sourceOf[r];
    const length = corpus.tokens.offsets[r + 1] - corpus.tokens.offsets[r];
    retainedDocs[s]++;
    tokensOfKept[s] += length;
    if (curation.evalLike[r] === 1) leakTokens[s] += length;
  }
  const evalCounts = corpus.evalTokens.map((ids) => {
    const row = new Float64Array(globalV);
    for (const id of ids) row[id]++;
    return row;
  });

  // Columns of the run's vocabulary: used by a kept document or an eval text (words only).
  let columns: Uint32Array | null = null;
  let distinctRetainedTokens = 0;
  for (let v = 0; v < corpus.vocabSize; v++) {
    let kept = false;
    for (let s = 0; s < k && !kept; s++) kept = counts[s * globalV + v] > 0;
    if (kept) distinctRetainedTokens++;
  }
  if (corpus.vocabulary !== null) {
    const used: number[] = [];
    for (let v = 0; v < corpus.vocabSize; v++) {
      let any = evalCounts.some((row) => row[v] > 0);
      for (let s = 0; s < k && !any; s++) any = counts[s * globalV + v] > 0;
      if (any) used.push(v);
    }
    columns = Uint32Array.from(used);
  }
  const vocabSize = columns ? Math.max(1, columns.length) : globalV;
  const select = (row: Float64Array) => {
    if (!columns) return row;
    const out = new Float64Array(vocabSize);
    columns.forEach((v, c) => (out[c] = row[v]));
    return out;
  };
  const localCounts = new Float64Array(k * vocabSize);
  for (let s = 0; s < k; s++) localCounts.set(select(counts.subarray(s * globalV, (s + 1) * globalV)), s * vocabSize);
  for (let s = 0; s < k; s++) {
    invariant(histogramMass[s] === tokensOfKept[s], `source ${corpus.sources[s]}: histogram mass ${histogramMass[s]} != document tokens ${tokensOfKept[s]}`);
  }

  const prepared = prepareMixtureData({
    sources: corpus.sources.map((name, i) => ({ name, retainedDocs: retainedDocs[i], leakTokens: leakTokens[i] })),
    counts: localCounts,
    vocabSize,
    evals: corpus.evals.map((set, j) => ({ name: set.name, tokenCounts: select(evalCounts[j]) })),
  });
  const vocabulary = columns && corpus.vocabulary ? Array.from(columns, (v) => corpus.vocabulary![v]) : null;
  return { prepared, vocabulary, vocabSize, distinctRetainedTokens, retainedDocs, leakTokens };
}
