/**
 * The run configuration (`tokenmix curate --config FILE`): parsing, defaults and
 * validation. Every error names the offending key and says what is expected.
 * Keys are the ones documented in README.md ("Configuration"), exactly as written.
 */
import type { HeuristicFilterConfig } from '../filters/heuristics.js';
import { OPH_MAX_HASHES } from '../cpu/oph.js';
import { DEFAULT_SKETCH, SKETCHES, type SketchKind } from '../dedup/options.js';
import { TokenmixError } from '../errors.js';
import type { InputFormat, InputSpec } from '../io/types.js';
import { parseMixtureConfig } from './mix-config.js';
import { parseOutput, type OutputConfig } from './output-config.js';
import { dict } from '../dict.js';

export type OnError = 'fail' | 'quarantine';
export type KeepRule = 'first' | 'best-quality';

export interface FieldsConfig {
  id: string;
  source?: string;
  text: string;
  /** Score fields to read (the quality filter's field is always included). */
  quality: string[];
}

export interface QualityFilterConfig {
  field: string;
  /** Keep a document of source s when score >= thresholds[s]; sources not listed are not filtered. */
  thresholds: Record<string, number>;
  /** Keep the top p (0..1] of each listed source's tokens by score (one histogram bin resolution). */
  top_fraction: Record<string, number>;
  /** Histogram range and bins for score histograms and top-fraction thresholds. */
  histogram: { min: number; max: number; bins: number };
}

/** Gopher-style heuristic rules (Rae et al. 2021); a null bound is not checked. */
export type { HeuristicFilterConfig };

export interface NearDedupConfig {
  threshold: number;
  ngram: number;
  num_hashes: number;
  bands?: number;
  rows?: number;
  /** Which members of a cluster go (src/dedup/cover.ts): `cover` (default) or `components`. */
  cluster: 'cover' | 'components';
  /** Signature sketch (src/dedup/options.ts): `oph` (default) or `minhash`. */
  sketch: SketchKind;
}

export interface DedupConfig {
  exact: boolean;
  keep: KeepRule;
  near: NearDedupConfig | null;
}

export interface ContaminationConfig {
  ngram: number;
  min_overlap: number;
  action: 'keep' | 'drop';
}

export interface CurateConfig {
  inputs: InputSpec[];
  fields: FieldsConfig;
  tokenizer: string;
  filters: { quality: QualityFilterConfig | null; heuristics: HeuristicFilterConfig | null };
  dedup: DedupConfig;
  evals: Record<string, string>;
  contamination: ContaminationConfig | null;
  seed: number;
  on_error: OnError;
  audit: { per_reason: number; excerpt_chars: number };
  batch_size: number;
  /** Curated data under DIR/data/ (null: keep and drop lists only). */
  output: OutputConfig | null;
  /** Mixture keys (used by `tokenmix mix`), kept verbatim for the manifest. */
  mixture: Record<string, unknown>;
}

export const TOP_LEVEL_KEYS = [
  'inputs', 'fields', 'tokenizer', 'filters', 'dedup', 'evals', 'contamination', 'seed', 'on_error', 'audit', 'batch_size', 'output',
  // mixture keys (tokenmix mix)
  'eval_weights', 'schedule', 'budget_tokens', 'baseline', 'optimize', 'sweep', 'materialize', 'epoch_cap',
];
const MIXTURE_KEYS = ['eval_weights', 'schedule', 'budget_tokens', 'baseline', 'optimize', 'sweep', 'materialize', 'epoch_cap'];

type Json = Record<string, unknown>;

function fail(key: string, expected: string, got: unknown): never {
  throw new TokenmixError(`config: "${key}" must be ${expected} (got ${JSON.stringify(got)})`);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectAt(value: unknown, key: string, allowed: string[]): Json {
  if (!isObject(value)) fail(key, 'an object', value);
  for (const k of Object.keys(value)) {
    if (!allowed.includes(k)) {
      // Top-level keys are named as written ("filtres"), nested ones with their path ("dedup.kep").
      const name = key === 'config' ? k : `${key}.${k}`;
      throw new TokenmixError(`config: unknown key "${name}" (allowed: ${allowed.join(', ')})`);
    }
  }
  return value;
}

function stringAt(value: unknown, key: string): string {
  if (typeof value !== 'string' || value.length === 0) fail(key, 'a non-empty string', value);
  return value;
}

function numberAt(value: unknown, key: string, { min = -Infinity, max = Infinity, integer = false } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    const range = `${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` <= ${max}` : ''}`;
    fail(key, range, value);
  }
  return value;
}

function optionalNumber(value: unknown, key: string, options?: Parameters<typeof numberAt>[2]): number | null {
  return value === undefined || value === null ? null : numberAt(value, key, options);
}

function numberMap(value: unknown, key: string, options?: Parameters<typeof numberAt>[2]): Record<string, number> {
  if (value === undefined) return dict();
  if (!isObject(value)) fail(key, 'an object of { source: number }', value);
  const out: Record<string, number> = dict();
  for (const name of Object.keys(value).sort()) out[name] = numberAt(value[name], `${key}.${name}`, options);
  return out;
}

function parseInputs(value: unknown): InputSpec[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) fail('inputs', 'a non-empty list of { "path": ... }', value);
  return list.map((entry, i) => {
    const key = `inputs[${i}]`;
    const spec = typeof entry === 'string' ? { path: entry } : objectAt(entry, key, ['path', 'format', 'source']);
    const format = spec.format === undefined ? undefined : stringAt(spec.format, `${key}.format`);
    if (format !== undefined && !['jsonl', 'parquet', 'arrow'].includes(format)) fail(`${key}.format`, 'one of jsonl, parquet, arrow', format);
    return {
      path: stringAt(spec.path, `${key}.path`),
      ...(format ? { format: format as InputFormat } : {}),
      ...(spec.source !== undefined ? { source: stringAt(spec.source, `${key}.source`) } : {}),
    };
  });
}

function parseFields(value: unknown, qualityField: string | undefined): FieldsConfig {
  const fields = value === undefined ? {} : objectAt(value, 'fields', ['id', 'source', 'text', 'quality']);
  const quality = fields.quality === undefined ? [] : Array.isArray(fields.quality) ? fields.quality : [fields.quality];
  const names = quality.map((q, i) => stringAt(q, `fields.quality[${i}]`));
  if (qualityField && !names.includes(qualityField)) names.push(qualityField);
  return {
    id: fields.id === undefined ? 'id' : stringAt(fields.id, 'fields.id'),
    ...(fields.source === null ? {} : { source: fields.source === undefined ? 'source' : stringAt(fields.source, 'fields.source') }),
    text: fields.text === undefined ? 'text' : stringAt(fields.text, 'fields.text'),
    quality: names,
  };
}

function parseQuality(value: unknown): QualityFilterConfig | null {
  if (value === undefined || value === null) return null;
  const q = objectAt(value, 'filters.quality', ['field', 'thresholds', 'top_fraction', 'histogram']);
  const histogram = q.histogram === undefined ? {} : objectAt(q.histogram, 'filters.quality.histogram', ['min', 'max', 'bins']);
  const min = histogram.min === undefined ? 0 : numberAt(histogram.min, 'filters.quality.histogram.min');
  const max = histogram.max === undefined ? 1 : numberAt(histogram.max, 'filters.quality.histogram.max');
  if (!(max > min)) fail('filters.quality.histogram.max', `a number > histogram.min (${min})`, max);
  return {
    field: stringAt(q.field, 'filters.quality.field'),
    thresholds: numberMap(q.thresholds, 'filters.quality.thresholds'),
    top_fraction: numberMap(q.top_fraction, 'filters.quality.top_fraction', { min: Number.MIN_VALUE, max: 1 }),
    histogram: {
      min,
      max,
      bins: histogram.bins === undefined ? 100 : numberAt(histogram.bins, 'filters.quality.histogram.bins', { min: 1, max: 65536, integer: true }),
    },
  };
}

export const DEFAULT_HEURISTICS: HeuristicFilterConfig = {
  min_words: 50,
  max_words: 100_000,
  min_mean_word_length: 3,
  max_mean_word_length: 10,
  max_symbol_ratio: 0.1,
  max_duplicate_line_fraction: 0.3,
};

function parseHeuristics(value: unknown): HeuristicFilterConfig | null {
  if (value === undefined || value === null || value === false) return null;
  if (value === true) return { ...DEFAULT_HEURISTICS };
  const h = objectAt(value, 'filters.heuristics', Object.keys(DEFAULT_HEURISTICS));
  const out = { ...DEFAULT_HEURISTICS };
  for (const key of Object.keys(DEFAULT_HEURISTICS) as (keyof HeuristicFilterConfig)[]) {
    if (key in h) out[key] = optionalNumber(h[key], `filters.heuristics.${key}`, { min: 0 });
  }
  return out;
}

function parseDedup(value: unknown): DedupConfig {
  if (value === undefined || value === null) return { exact: false, keep: 'first', near: null };
  const d = objectAt(value, 'dedup', ['exact', 'keep', 'near']);
  if (d.exact !== undefined && typeof d.exact !== 'boolean') fail('dedup.exact', 'true or false', d.exact);
  const keep = d.keep === undefined ? 'first' : d.keep;
  if (keep !== 'first' && keep !== 'best-quality') fail('dedup.keep', '"first" or "best-quality"', keep);
  let near: NearDedupConfig | null = null;
  if (d.near !== undefined && d.near !== null && d.near !== false) {
    const n = d.near === true ? {} : objectAt(d.near, 'dedup.near', ['threshold', 'ngram', 'num_hashes', 'bands', 'rows', 'cluster', 'sketch']);
    if (n.cluster !== undefined && n.cluster !== 'cover' && n.cluster !== 'components') fail('dedup.near.cluster', '"cover" or "components"', n.cluster);
    near = {
      threshold: n.threshold === undefined ? 0.8 : numberAt(n.threshold, 'dedup.near.threshold', { min: 0, max: 1 }),
      ngram: n.ngram === undefined ? 5 : numberAt(n.ngram, 'dedup.near.ngram', { min: 1, max: 64, integer: true }),
      num_hashes: n.num_hashes === undefined ? 128 : numberAt(n.num_hashes, 'dedup.near.num_hashes', { min: 1, max: 4096, integer: true }),
      ...(n.bands !== undefined ? { bands: numberAt(n.bands, 'dedup.near.bands', { min: 1, integer: true }) } : {}),
      ...(n.rows !== undefined ? { rows: numberAt(n.rows, 'dedup.near.rows', { min: 1, integer: true }) } : {}),
      cluster: n.cluster === undefined ? 'cover' : (n.cluster as 'cover' | 'components'),
      sketch: n.sketch === undefined ? DEFAULT_SKETCH : (n.sketch as SketchKind),
    };
    if (!(SKETCHES as readonly unknown[]).includes(near.sketch)) fail('dedup.near.sketch', `one of ${SKETCHES.join(', ')}`, near.sketch);
    if (near.sketch === 'oph' && near.num_hashes > OPH_MAX_HASHES) {
      throw new TokenmixError(`config: "dedup.near.num_hashes" ${near.num_hashes} is above ${OPH_MAX_HASHES}, the most one-permutation MinHash takes; lower it or set "dedup.near.sketch": "minhash"`);
    }
    // Checked here with config key names (the dedup engine would name its CLI flags).
    if (near.threshold <= 0) fail('dedup.near.threshold', 'a number in (0, 1]', near.threshold);
    if ((near.bands === undefined) !== (near.rows === undefined)) {
      throw new TokenmixError('config: "dedup.near.bands" and "dedup.near.rows" go together: give both, or neither (then "dedup.near.threshold" picks them)');
    }
    if (near.bands !== undefined && near.rows !== undefined && near.bands * near.rows > near.num_hashes) {
      throw new TokenmixError(`config: "dedup.near.bands" × "dedup.near.rows" (${near.bands} × ${near.rows}) must be at most "dedup.near.num_hashes" (${near.num_hashes})`);
    }
  }
  return { exact: d.exact === true, keep, near };
}

function parseContamination(value: unknown): ContaminationConfig | null {
  if (value === undefined || value === null) return null;
  const c = objectAt(value, 'contamination', ['ngram', 'min_overlap', 'action']);
  const action = c.action === undefined ? 'keep' : c.action;
  if (action !== 'keep' && action !== 'drop') fail('contamination.action', '"keep" or "drop"', action);
  return {
    ngram: c.ngram === undefined ? 13 : numberAt(c.ngram, 'contamination.ngram', { min: 1, max: 64, integer: true }),
    min_overlap: c.min_overlap === undefined ? 1 : numberAt(c.min_overlap, 'contamination.min_overlap', { min: 1, integer: true }),
    action,
  };
}

/**
 * The score field records carry into the reduce phase: the quality filter's field, else the
 * first of `fields.quality` (so `dedup.keep: "best-quality"` works without a filter).
 */
export function scoreField(config: Pick<CurateConfig, 'filters' | 'fields'>): string | undefined {
  return config.filters.quality?.field ?? config.fields.quality[0];
}

/** The quality filter may only name sources the input records have (catches typos). */
export function checkQualitySources(quality: QualityFilterConfig | null, sources: readonly string[], quarantinedSources: readonly string[] = []): void {
  if (!quality) return;
  for (const [key, map] of [['thresholds', quality.thresholds], ['top_fraction', quality.top_fraction]] as const) {
    for (const name of Object.keys(map)) {
      // A source whose every record was quarantined exists: its records are counted there.
      if (!sources.includes(name) && !quarantinedSources.includes(name)) {
        throw new TokenmixError(
          `config: filters.quality.${key} names source "${name}", which no input record has (sources: ${sources.join(', ') || 'none'}); fix the name or remove it`,
        );
      }
    }
  }
}

/** Validate a parsed JSON config and fill in defaults. Paths stay as written (relative to the config file). */
export function parseConfig(raw: unknown): CurateConfig {
  const c = objectAt(raw, 'config', TOP_LEVEL_KEYS);
  const filters = c.filters === undefined ? {} : objectAt(c.filters, 'filters', ['quality', 'heuristics']);
  const quality = parseQuality(filters.quality);
  const evals: Record<string, string> = dict();
  if (c.evals !== undefined) {
    const e = objectAt(c.evals, 'evals', Object.keys(isObject(c.evals) ? c.evals : {}));
    for (const name of Object.keys(e).sort()) evals[name] = stringAt(e[name], `evals.${name}`);
  }
  const onError = c.on_error === undefined ? 'fail' : c.on_error;
  if (onError !== 'fail' && onError !== 'quarantine') fail('on_error', '"fail" or "quarantine"', onError);
  const audit = c.audit === undefined ? {} : objectAt(c.audit, 'audit', ['per_reason', 'excerpt_chars']);
  const mixture: Record<string, unknown> = dict();
  for (const key of MIXTURE_KEYS) if (c[key] !== undefined) mixture[key] = c[key];
  // Mixture keys are checked whatever the command, so a typo fails before any curation.
  if (Object.keys(mixture).length > 0) parseMixtureConfig(mixture, c.seed === undefined ? 0 : numberAt(c.seed, 'seed', { min: 0, max: 2 ** 32 - 1, integer: true }));
  const fields = parseFields(c.fields, quality?.field);
  const dedup = parseDedup(c.dedup);
  if (dedup.keep === 'best-quality' && !quality && fields.quality.length === 0) {
    throw new TokenmixError('config: "dedup.keep": "best-quality" needs a score: set "fields.quality" (or "filters.quality.field") to the score field to rank duplicates by');
  }
  return {
    inputs: parseInputs(c.inputs),
    fields,
    tokenizer: c.tokenizer === undefined ? 'words' : stringAt(c.tokenizer, 'tokenizer'),
    filters: { quality, heuristics: parseHeuristics(filters.heuristics) },
    dedup,
    evals,
    contamination: parseContamination(c.contamination),
    seed: c.seed === undefined ? 0 : numberAt(c.seed, 'seed', { min: 0, max: 2 ** 32 - 1, integer: true }),
    on_error: onError,
    audit: {
      per_reason: audit.per_reason === undefined ? 20 : numberAt(audit.per_reason, 'audit.per_reason', { min: 0, max: 10_000, integer: true }),
      excerpt_chars: audit.excerpt_chars === undefined ? 500 : numberAt(audit.excerpt_chars, 'audit.excerpt_chars', { min: 0, integer: true }),
    },
    batch_size: c.batch_size === undefined ? 8192 : numberAt(c.batch_size, 'batch_size', { min: 1, max: 1 << 22, integer: true }),
    output: parseOutput(c.output),
    mixture,
  };
}
