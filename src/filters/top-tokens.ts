/**
 * Token-weighted quantiles of quality scores (SPEC §2 "Quality thresholding"): the
 * retained-tokens-vs-threshold curve of a source, and the threshold that keeps "the top p%
 * of tokens of source i by score", read off one source's token-weighted histogram row (as
 * produced by the thresholding kernel, src/kernels/threshold.ts, in one pass over the data).
 *
 * Pure CPU code: a row has B bins, `edges` has B + 1 values (`histogramEdges` in
 * src/cpu/threshold.ts gives the exact f32 edges of the kernel's bins: with them,
 * "score >= edges[k]" is exactly "in bin k or above" for k >= 1). Candidate thresholds are
 * the lower edges of the bins, so the answer's resolution is one bin.
 */
import { TokenmixError } from '../errors.js';
import { exactSum } from '../cpu/threshold.js';

export interface RetainedTokensCurve {
  /** Lower edge of each bin: thresholds[k] = edges[k]. */
  thresholds: Float64Array;
  /** Tokens in bins k..B-1, i.e. with score >= thresholds[k] (bin 0 also holds scores below min). */
  retainedTokens: Float64Array;
}

export interface TopTokensChoice {
  /** Keep documents with score >= threshold. */
  threshold: number;
  /** The bin whose lower edge was chosen. */
  bin: number;
  retainedTokens: number;
  totalTokens: number;
}

function checkRow(row: ArrayLike<number>, edges: ArrayLike<number>): void {
  if (row.length < 1 || edges.length !== row.length + 1) {
    throw new TokenmixError(`a histogram row of ${row.length} bins needs ${row.length + 1} edges (got ${edges.length}); pass histogramEdges(spec) for the same spec`);
  }
  for (let k = 0; k < row.length; k++) {
    if (!Number.isSafeInteger(row[k]) || row[k] < 0) {
      throw new TokenmixError(`histogram bin ${k} holds ${row[k]}; bins must be non-negative token counts`);
    }
    if (!(edges[k] <= edges[k + 1])) {
      throw new TokenmixError(`histogram edges must be non-decreasing numbers (edge ${k} is ${edges[k]}, edge ${k + 1} is ${edges[k + 1]})`);
    }
  }
}

/** For each bin lower edge t = edges[k]: the tokens with score >= t (suffix sums of the row). */
export function retainedTokensCurve(row: ArrayLike<number>, edges: ArrayLike<number>): RetainedTokensCurve {
  checkRow(row, edges);
  const bins = row.length;
  const thresholds = Float64Array.from({ length: bins }, (_, k) => edges[k]);
  const retainedTokens = new Float64Array(bins);
  let retained = 0;
  for (let k = bins - 1; k >= 0; k--) {
    retained = exactSum(retained, row[k], 'retained tokens');
    retainedTokens[k] = retained;
  }
  return { thresholds, retainedTokens };
}

/**
 * The highest bin lower edge t with tokens(score >= t) >= p · totalTokens: keeping scores
 * >= t keeps at least the fraction p of the source's scored tokens, and the next higher
 * edge would keep less. Resolution is one bin: the kept fraction can exceed p by up to the
 * mass of the chosen bin (use more bins for a finer cut). p must be in (0, 1]. With no
 * tokens at all every edge qualifies and the highest, edges[B - 1], is returned.
 */
export function topTokensThreshold(row: ArrayLike<number>, edges: ArrayLike<number>, p: number): TopTokensChoice {
  if (!(p > 0 && p <= 1)) {
    throw new TokenmixError(`top-tokens fraction p must be in (0, 1] (got ${p}); e.g. 0.3 keeps the top 30% of tokens`);
  }
  const { retainedTokens } = retainedTokensCurve(row, edges);
  const totalTokens = retainedTokens[0];
  const wanted = p * totalTokens;
  let bin = row.length - 1;
  while (retainedTokens[bin] < wanted) bin--; // terminates: retainedTokens[0] = total >= wanted
  return { threshold: edges[bin], bin, retainedTokens: retainedTokens[bin], totalTokens };
}
