/**
 * The mixture keys of a run config (`tokenmix mix`): `budget_tokens`, `eval_weights`,
 * `schedule` or `baseline`, `optimize`, `sweep`, `materialize`. Validated here with errors
 * that name the key; the mixture math lives in src/mixture/.
 *
 * The split "curation keys vs mixture keys" lives here too (`curationConfig`): what the
 * curated work depends on is the config without its mixture keys, so a mixture-only change
 * reuses it.
 */
import { TokenmixError } from '../errors.js';
import type { Schedule } from '../mixture/weights.js';
import { BASELINE_KINDS } from '../mixture/baselines.js';
import { dict } from '../dict.js';
import type { CurateConfig } from './config.js';

/** The config without its mixture keys: everything curation depends on. */
export function curationConfig(config: CurateConfig): Omit<CurateConfig, 'mixture'> {
  const { mixture: _mixture, ...curation } = config;
  return curation;
}

/** The first curation key (top level) whose value differs between two configs, or null. */
export function curationDifference(a: CurateConfig, b: CurateConfig): string | null {
  const left = curationConfig(a) as unknown as Record<string, unknown>;
  const right = curationConfig(b) as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(left), ...Object.keys(right)])) {
    if (JSON.stringify(left[key]) !== JSON.stringify(right[key])) return key;
  }
  return null;
}

export const MATERIALIZE_FORMATS = ['jsonl', 'parquet', 'megatron', 'tokens'] as const;
export type MaterializeFormat = (typeof MATERIALIZE_FORMATS)[number];

export interface BaselineConfig {
  kind: (typeof BASELINE_KINDS)[number];
  temperature?: number;
  max_epochs?: number;
  weights?: Record<string, number>;
}

export interface MixtureConfig {
  budget_tokens: number;
  eval_weights: Record<string, number> | undefined;
  /** Given, or built from the baseline (default: proportional to retained tokens). */
  schedule: Schedule | null;
  baseline: BaselineConfig | null;
  /** A warning when a source is sampled beyond this many epochs (default 4). */
  epoch_cap: number;
  optimize: {
    objective: 'weighted' | 'minimax' | 'law';
    /** `objective: "law"`: a `tokenmix fit` output (fit.json), as written in the config. */
    law?: string;
    max_epochs?: number;
    min_weights?: Record<string, number>;
    max_weights?: Record<string, number>;
  } | null;
  sweep: { candidates: number; concentration: number; seed: number } | null;
  /** `eod_token`: the end-of-document id of the token formats (default: see mix.ts `eodTokenOf`). */
  materialize: { format: MaterializeFormat; docs_per_shard: number; eod_token?: number } | null;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(key: string, expected: string, got: unknown): never {
  throw new TokenmixError(`config: "${key}" must be ${expected} (got ${JSON.stringify(got)})`);
}

function allowOnly(value: Json, key: string, allowed: string[]): void {
  for (const k of Object.keys(value)) {
    if (!allowed.includes(k)) throw new TokenmixError(`config: unknown key "${key}.${k}" (allowed: ${allowed.join(', ')})`);
  }
}

function positive(value: unknown, key: string, integer = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    fail(key, integer ? 'a positive integer' : 'a positive number', value);
  }
  return value;
}

/** Token budgets above 2^53 are not exact integers (and no training run is that large). */
export const MAX_BUDGET_TOKENS = 2 ** 53;
/** Largest `budget_tokens` that `materialize` writes without `materialize.max_tokens` (a trillion). */
export const DEFAULT_MATERIALIZE_MAX_TOKENS = 1e12;
/** Largest `sweep.candidates`. */
export const MAX_SWEEP_CANDIDATES = 1_000_000;

function atMost(value: number, limit: number, key: string, why: string): number {
  if (value > limit) throw new TokenmixError(`config: "${key}" is ${value}, more than the limit of ${limit}: ${why}`);
  return value;
}

function weightMap(value: unknown, key: string): Record<string, number> {
  if (!isObject(value)) fail(key, 'an object of { name: number }', value);
  const out: Record<string, number> = dict();
  for (const name of Object.keys(value).sort()) {
    const w = value[name];
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) fail(`${key}.${name}`, 'a number >= 0', w);
    out[name] = w;
  }
  return out;
}

export function parseMixtureConfig(raw: Record<string, unknown>, seed: number): MixtureConfig {
  if (raw.budget_tokens === undefined) {
    throw new TokenmixError('config: "budget_tokens" is required for tokenmix mix (the total training budget in tokens, e.g. 1e12)');
  }
  const budget = positive(raw.budget_tokens, 'budget_tokens');
  if (budget > MAX_BUDGET_TOKENS) {
    throw new TokenmixError(`config: "budget_tokens" is ${budget}, more than ${MAX_BUDGET_TOKENS} (2^53, where token counts stop being exact integers); a typo? e.g. 1e12 is a trillion tokens`);
  }
  let schedule: Schedule | null = null;
  if (raw.schedule !== undefined) {
    if (!Array.isArray(raw.schedule) || raw.schedule.length === 0) fail('schedule', 'a non-empty list of { "fraction", "weights" }', raw.schedule);
    schedule = raw.schedule.map((stage, i) => {
      if (!isObject(stage)) fail(`schedule[${i}]`, 'an object { "fraction", "weights", "name"? }', stage);
      allowOnly(stage, `schedule[${i}]`, ['fraction', 'weights', 'name']);
      const fraction = stage.fraction;
      if (typeof fraction !== 'number' || !Number.isFinite(fraction) || fraction < 0 || fraction > 1) fail(`schedule[${i}].fraction`, 'a number in [0, 1]', fraction);
      return {
        fraction,
        weights: weightMap(stage.weights, `schedule[${i}].weights`),
        ...(typeof stage.name === 'string' ? { name: stage.name } : {}),
      };
    });
  }
  let baseline: BaselineConfig | null = null;
  if (raw.baseline !== undefined) {
    const b = raw.baseline;
    if (!isObject(b)) fail('baseline', 'an object { "kind", ... }', b);
    allowOnly(b, 'baseline', ['kind', 'temperature', 'max_epochs', 'weights']);
    if (!(BASELINE_KINDS as readonly unknown[]).includes(b.kind)) fail('baseline.kind', `one of ${BASELINE_KINDS.join(', ')}`, b.kind);
    baseline = { kind: b.kind as BaselineConfig['kind'] };
    if (b.temperature !== undefined) baseline.temperature = positive(b.temperature, 'baseline.temperature');
    if (b.max_epochs !== undefined) baseline.max_epochs = positive(b.max_epochs, 'baseline.max_epochs');
    if (b.weights !== undefined) baseline.weights = weightMap(b.weights, 'baseline.weights');
    if (baseline.kind === 'temperature' && baseline.temperature === undefined) fail('baseline.temperature', 'a positive number for kind "temperature"', undefined);
    if (baseline.kind === 'hand-tuned' && baseline.weights === undefined) fail('baseline.weights', 'an object of weights for kind "hand-tuned"', undefined);
  }
  if (schedule && baseline) throw new TokenmixError('config: give either "schedule" or "baseline", not both (the baseline is used when no schedule is given)');

  let optimize: MixtureConfig['optimize'] = null;
  if (raw.optimize !== undefined && raw.optimize !== false) {
    const o = raw.optimize === true ? {} : raw.optimize;
    if (!isObject(o)) fail('optimize', 'true or an object { "objective"?, "law"?, "max_epochs"?, "min_weights"?, "max_weights"? }', o);
    allowOnly(o, 'optimize', ['objective', 'law', 'max_epochs', 'min_weights', 'max_weights']);
    if (o.law !== undefined && (typeof o.law !== 'string' || o.law === '')) fail('optimize.law', 'the path of a fit.json written by tokenmix fit', o.law);
    const objective = o.objective ?? (o.law !== undefined ? 'law' : 'weighted');
    if (objective !== 'weighted' && objective !== 'minimax' && objective !== 'law') fail('optimize.objective', '"weighted", "minimax" or "law"', objective);
    if (objective === 'law' && o.law === undefined) fail('optimize.law', 'the path of a fit.json written by tokenmix fit (objective "law")', o.law);
    if (objective !== 'law' && o.law !== undefined) fail('optimize.objective', '"law" (or absent) when optimize.law is given', objective);
    optimize = {
      objective,
      ...(o.law !== undefined ? { law: o.law as string } : {}),
      ...(o.max_epochs !== undefined ? { max_epochs: positive(o.max_epochs, 'optimize.max_epochs') } : {}),
      ...(o.min_weights !== undefined ? { min_weights: weightMap(o.min_weights, 'optimize.min_weights') } : {}),
      ...(o.max_weights !== undefined ? { max_weights: weightMap(o.max_weights, 'optimize.max_weights') } : {}),
    };
  }
  let sweep: MixtureConfig['sweep'] = null;
  if (raw.sweep !== undefined && raw.sweep !== false) {
    const s = raw.sweep === true ? {} : raw.sweep;
    if (!isObject(s)) fail('sweep', 'true or an object { "candidates"?, "concentration"?, "seed"? }', s);
    allowOnly(s, 'sweep', ['candidates', 'concentration', 'seed']);
    sweep = {
      candidates: s.candidates === undefined ? 256 : atMost(positive(s.candidates, 'sweep.candidates', true), MAX_SWEEP_CANDIDATES, 'sweep.candidates',
        'each candidate is a full evaluation over sources × vocabulary, so more would not finish in a run; sweep in several runs with different "sweep.seed"'),
      concentration: s.concentration === undefined ? 1 : positive(s.concentration, 'sweep.concentration'),
      seed: s.seed === undefined ? seed : positive(s.seed, 'sweep.seed', true),
    };
  }
  let materialize: MixtureConfig['materialize'] = null;
  if (raw.materialize !== undefined && raw.materialize !== false) {
    const m = raw.materialize === true ? {} : raw.materialize;
    if (!isObject(m)) fail('materialize', 'true or an object { "format"?, "docs_per_shard"?, "eod_token"?, "max_tokens"? }', m);
    allowOnly(m, 'materialize', ['format', 'docs_per_shard', 'eod_token', 'max_tokens']);
    const format = m.format ?? 'jsonl';
    if (!(MATERIALIZE_FORMATS as readonly unknown[]).includes(format)) fail('materialize.format', MATERIALIZE_FORMATS.map((f) => `"${f}"`).join(', '), format);
    if (m.eod_token !== undefined) {
      if (format !== 'megatron' && format !== 'tokens') fail('materialize.eod_token', 'given only with format "megatron" or "tokens"', m.eod_token);
      if (typeof m.eod_token !== 'number' || !Number.isInteger(m.eod_token) || m.eod_token < 0 || m.eod_token > 0x7fffffff) fail('materialize.eod_token', 'an integer token id >= 0', m.eod_token);
    }
    materialize = {
      format: format as MaterializeFormat,
      docs_per_shard: m.docs_per_shard === undefined ? 100_000 : positive(m.docs_per_shard, 'materialize.docs_per_shard', true),
      ...(m.eod_token !== undefined ? { eod_token: m.eod_token as number } : {}),
    };
    // The plan writes one line per sampled document until the budget is reached: a budget
    // typo (1e30) would fill the disk, so a large one must be asked for explicitly.
    const maxTokens = m.max_tokens === undefined ? DEFAULT_MATERIALIZE_MAX_TOKENS : positive(m.max_tokens, 'materialize.max_tokens');
    if (budget > maxTokens) {
      throw new TokenmixError(
        `config: "materialize" would write a plan of budget_tokens = ${budget} tokens, more than "materialize.max_tokens" = ${maxTokens} ` +
          `(the plan and mixed shards grow with the budget); check budget_tokens, or set "materialize.max_tokens" to at least ${budget} if you mean it`,
      );
    }
  }
  const epochCap = raw.epoch_cap === undefined ? 4 : positive(raw.epoch_cap, 'epoch_cap');
  return {
    budget_tokens: budget,
    eval_weights: raw.eval_weights === undefined ? undefined : weightMap(raw.eval_weights, 'eval_weights'),
    schedule,
    baseline,
    epoch_cap: epochCap,
    optimize,
    sweep,
    materialize,
  };
}
