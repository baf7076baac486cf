/**
 * A fitted mixing law read back from `tokenmix fit`'s `fit.json` (SPEC §5: "then optimize the
 * fitted law"), as the objective of `tokenmix mix` (`optimize.law`). The file's fields used here
 * are the ones `fit` writes: `tool`, `sourceNames`, `evalNames`, `evalWeights` (lambda_j, sum 1)
 * and per domain `exponential: { c, k, t: { source: t_i } }`.
 *
 * The objective is the fit's own: F(r) = sum_j lambda_j (c_j + k_j exp(t_j·r)), with the lambdas
 * the fit was run with, minimized by the fit's optimizer (`minimizeLawObjective`) under the mix
 * config's bounds (min/max weights, epoch cap). The law's sources must be exactly the active
 * sources of the mix: a law says nothing about a source it was not fitted on.
 */
import { TokenmixError } from '../errors.js';
import { minimizeLawObjective } from './fit.js';
import { predictExponential, type ExponentialLaw } from './mixing-law.js';
import { weightRecord, type Weights } from './weights.js';

export interface FittedLaw {
  sourceNames: string[];
  evalNames: string[];
  lambdas: Float64Array;
  laws: ExponentialLaw[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Validate a parsed fit.json; `where` (the file) prefixes every error, which names the field. */
export function parseFittedLaw(raw: unknown, where: string): FittedLaw {
  const bad = (field: string, expected: string): never => {
    throw new TokenmixError(`${where}: field "${field}" must be ${expected}; pass a fit.json written by tokenmix fit`);
  };
  if (!isObject(raw)) bad('(top level)', 'a JSON object');
  const file = raw as Json;
  if (file.tool !== 'tokenmix fit') bad('tool', '"tokenmix fit"');
  const names = (field: string): string[] => {
    const list = file[field];
    if (!Array.isArray(list) || list.length === 0 || !list.every((n) => typeof n === 'string')) bad(field, 'a non-empty list of names');
    return list as string[];
  };
  const sourceNames = names('sourceNames');
  const evalNames = names('evalNames');
  const evalWeights = file.evalWeights;
  if (!isObject(evalWeights)) bad('evalWeights', 'an object { eval: lambda }');
  const lambdas = Float64Array.from(evalNames, (name) => {
    const value = (evalWeights as Json)[name];
    if (!isNumber(value) || value < 0) bad(`evalWeights.${name}`, 'a number >= 0');
    return value as number;
  });
  const domains = file.domains;
  if (!Array.isArray(domains) || domains.length !== evalNames.length) bad('domains', `a list of ${evalNames.length} fitted domains (one per evalNames entry)`);
  const laws = evalNames.map((name, j): ExponentialLaw => {
    const domain = (domains as unknown[])[j];
    const exponential = isObject(domain) ? domain.exponential : undefined;
    if (!isObject(domain) || domain.name !== name || !isObject(exponential)) bad(`domains[${j}]`, `the fit of domain "${name}" with an "exponential" law`);
    const law = exponential as Json;
    if (!isNumber(law.c)) bad(`domains[${j}].exponential.c`, 'a finite number');
    if (!isNumber(law.k)) bad(`domains[${j}].exponential.k`, 'a finite number');
    if (!isObject(law.t)) bad(`domains[${j}].exponential.t`, 'an object { source: t }');
    const t = Float64Array.from(sourceNames, (source) => {
      const value = (law.t as Json)[source];
      if (!isNumber(value)) bad(`domains[${j}].exponential.t.${source}`, 'a finite number');
      return value as number;
    });
    return { c: law.c as number, k: law.k as number, t };
  });
  return { sourceNames, evalNames, lambdas, laws };
}

export interface LawOptimum {
  weights: Weights;
  predictedLosses: Record<string, number>;
  predictedObjective: number;
  stationarity: number;
}

/**
 * Minimize the law's objective over the capped simplex of `activeSources` (bounds in that
 * order). Throws, naming the sources, when the law's sources are not exactly the active ones.
 */
export function optimizeFittedLaw(law: FittedLaw, activeSources: string[], lower: Float64Array, upper: Float64Array, seed: number, where: string): LawOptimum {
  const missing = activeSources.filter((s) => !law.sourceNames.includes(s));
  const extra = law.sourceNames.filter((s) => !activeSources.includes(s));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      ...(missing.length > 0 ? [`the law has no term for ${missing.map((s) => `"${s}"`).join(', ')}`] : []),
      ...(extra.length > 0 ? [`it was fitted on ${extra.map((s) => `"${s}"`).join(', ')}, which retain no tokens here`] : []),
    ];
    throw new TokenmixError(`${where}: the fitted law's sources (${law.sourceNames.join(', ')}) must be the mixture's active sources (${activeSources.join(', ')}): ${parts.join('; ')}; refit with runs over these sources`);
  }
  const order = activeSources.map((s) => law.sourceNames.indexOf(s));
  const laws = law.laws.map((l) => ({ c: l.c, k: l.k, t: Float64Array.from(order, (i) => l.t[i]) }));
  const optimum = minimizeLawObjective(laws, law.lambdas, lower, upper, { seed });
  return {
    weights: weightRecord(optimum.r, activeSources),
    predictedLosses: weightRecord(laws.map((l) => predictExponential(l, optimum.r)), law.evalNames),
    predictedObjective: optimum.value,
    stationarity: optimum.stationarity,
  };
}
