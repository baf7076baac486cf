/**
 * The curated facts a mixture is evaluated on (SPEC §3): per-source token histograms C_i(v) of
 * the retained documents, per-source retained documents / leak tokens, and eval distributions.
 * `prepareMixtureData` validates them once and computes the smoothed P_i(v).
 */
import { smoothedDistributions, DEFAULT_EPS } from '../cpu/mixing.js';
import { TokenmixError } from '../errors.js';
import { evalDistribution } from './diagnostics.js';

/** Retention facts of one source after curation. */
export interface SourceStats {
  name: string;
  /** Documents retained by curation. */
  retainedDocs: number;
  /** Retained tokens M_i; when given it must equal the row sum of the histogram (a consistency check). */
  retainedTokens?: number;
  /** Retained tokens of this source in documents flagged as eval-like (SPEC §4 contamination). */
  leakTokens: number;
}

/** One evaluation domain j: a name and either token counts or a distribution p_j over the vocabulary. */
export interface EvalSet {
  name: string;
  /** Length V; normalized to sum 1 (token counts from the eval texts are fine). */
  tokenCounts: ArrayLike<number>;
}

export interface MixtureData {
  sources: SourceStats[];
  /** C: K×V row-major token counts of retained documents (K = sources.length). */
  counts: Float64Array;
  vocabSize: number;
  evals: EvalSet[];
  /** SPEC §3 smoothing; default 1e-9. */
  eps?: number;
}

/** Validated data with everything that does not depend on the mixture precomputed. */
export interface PreparedMixtureData {
  sourceNames: string[];
  /** Names of sources with M_i > 0, in source order. */
  activeSources: string[];
  /** M_i by source index. */
  retainedTokens: Float64Array;
  retainedDocs: Float64Array;
  leakTokens: Float64Array;
  /** P: K×V smoothed source distributions (SPEC §3). */
  distributions: Float64Array;
  evalNames: string[];
  /** p: E×V eval distributions (rows sum to 1). */
  evalDistributions: Float64Array;
  numSources: number;
  vocabSize: number;
  eps: number;
}

export function prepareMixtureData(data: MixtureData): PreparedMixtureData {
  const { sources, counts, vocabSize, evals } = data;
  const eps = data.eps ?? DEFAULT_EPS;
  const numSources = sources.length;
  if (numSources === 0) throw new TokenmixError('mixture: no sources given');
  if (!Number.isInteger(vocabSize) || vocabSize <= 0) {
    throw new TokenmixError(`mixture: vocabSize must be a positive integer (got ${vocabSize})`);
  }
  if (counts.length !== numSources * vocabSize) {
    throw new TokenmixError(
      `mixture: counts has ${counts.length} values but sources × vocabSize = ${numSources} × ${vocabSize}; pass the K×V histogram row-major`,
    );
  }
  const sourceNames = sources.map((source) => source.name);
  checkUniqueNames(sourceNames, 'source');
  const retainedTokens = new Float64Array(numSources);
  for (let i = 0; i < numSources; i++) {
    let mass = 0;
    for (let v = 0; v < vocabSize; v++) {
      const count = counts[i * vocabSize + v];
      if (!(count >= 0) || !Number.isFinite(count)) {
        throw new TokenmixError(`mixture: source "${sourceNames[i]}" has an invalid token count ${count} at token ${v}`);
      }
      mass += count;
    }
    retainedTokens[i] = mass;
    const stated = sources[i].retainedTokens;
    if (stated !== undefined && Math.abs(stated - mass) > 1e-9 * Math.max(1, mass)) {
      throw new TokenmixError(
        `mixture: source "${sourceNames[i]}" says ${stated} retained tokens but its histogram sums to ${mass}; both must come from the same curated documents`,
      );
    }
  }
  const retainedDocs = Float64Array.from(sources, (source) => checkCount(source.retainedDocs, source.name, 'retainedDocs'));
  const leakTokens = Float64Array.from(sources, (source) => checkCount(source.leakTokens, source.name, 'leakTokens'));
  sources.forEach((source, i) => {
    if (leakTokens[i] > retainedTokens[i]) {
      throw new TokenmixError(
        `mixture: source "${source.name}" has ${leakTokens[i]} leak tokens but only ${retainedTokens[i]} retained tokens`,
      );
    }
  });

  const evalNames = evals.map((set) => set.name);
  checkUniqueNames(evalNames, 'eval set');
  const evalDistributions = new Float64Array(evals.length * vocabSize);
  evals.forEach((set, j) => {
    if (set.tokenCounts.length !== vocabSize) {
      throw new TokenmixError(`mixture: eval set "${set.name}" has ${set.tokenCounts.length} token counts, expected vocabSize = ${vocabSize}`);
    }
    evalDistributions.set(evalDistribution(set.tokenCounts, `eval set "${set.name}"`), j * vocabSize);
  });

  return {
    sourceNames,
    activeSources: sourceNames.filter((_, i) => retainedTokens[i] > 0),
    retainedTokens,
    retainedDocs,
    leakTokens,
    distributions: smoothedDistributions(counts, numSources, vocabSize, eps),
    evalNames,
    evalDistributions,
    numSources,
    vocabSize,
    eps,
  };
}

function checkCount(value: number, source: string, field: string): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw new TokenmixError(`mixture: source "${source}" ${field} must be a finite number >= 0 (got ${JSON.stringify(value)})`);
  }
  return value;
}

function checkUniqueNames(names: string[], what: string): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== 'string' || name.length === 0) throw new TokenmixError(`mixture: every ${what} needs a non-empty name`);
    if (seen.has(name)) throw new TokenmixError(`mixture: ${what} "${name}" appears twice; names must be unique`);
    seen.add(name);
  }
}
