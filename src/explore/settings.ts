/**
 * The explorer's controls as a plain object, and the run config they stand for: the JSON that
 * `tokenmix mix --config` takes, so the page can show (and the tests can run) the exact CLI
 * equivalent of what is on screen. The page never evaluates settings directly: it builds this
 * config and parses it with the CLI's parsers (session.ts), so both read the same thing.
 */
import { TokenmixError } from '../errors.js';
import type { ContaminationConfig } from '../pipeline/config.js';
import type { ExploreConfig } from './session.js';
import { dict, own } from '../dict.js';

export interface ExploreFields {
  id: string;
  text: string;
  /** Unset when records take their source from the input (a dropped file's name). */
  source?: string;
  /** Quality score field; unset when the data has none (no thresholds then). */
  quality?: string;
}

export interface ExploreSettings {
  fields: ExploreFields;
  /** File name written as the config's input path (and the source of records that carry none). */
  inputName: string;
  inputSource?: string;
  /** Eval set names, written as `evals/<name>.txt` unless `evalFiles` names the file. */
  evalNames: string[];
  /** The file each eval set came from (`evals/<file>` in the config), e.g. a .jsonl the user picked. */
  evalFiles?: Record<string, string>;
  /** Tokenizer name (`words`, `cl100k_base`, `o200k_base`); `words` when unset. */
  tokenizer?: string;
  /** Main-stage mixture weights by source (renormalized over active sources, SPEC §3). */
  weights: Record<string, number>;
  /** Quality threshold by source; null = that source is not filtered. */
  thresholds: Record<string, number | null>;
  exactDedup: boolean;
  near: { enabled: boolean; threshold: number; ngram: number; numHashes: number; cluster?: 'cover' | 'components' };
  /** Late stage (SPEC §3 schedule): its share of the budget (0 = none) and its weights. */
  anneal: { fraction: number; weights: Record<string, number> };
  budgetTokens: number;
  contamination: ContaminationConfig | null;
  seed: number;
  /** Set records that fail validation aside (on_error: quarantine) instead of failing the run. */
  quarantine: boolean;
}

const ANNEAL_NAME = 'late';

/** The raw run config for `settings` (keys as documented for `tokenmix mix`). */
export function configFromSettings(settings: ExploreSettings): Record<string, unknown> {
  const { fields } = settings;
  const thresholds: Record<string, number> = dict();
  for (const name of Object.keys(settings.thresholds).sort()) {
    const t = settings.thresholds[name];
    if (t !== null && t !== undefined) thresholds[name] = t;
  }
  const filtered = fields.quality !== undefined && Object.keys(thresholds).length > 0;
  const late = settings.anneal.fraction;
  if (!(late >= 0 && late < 1)) throw new TokenmixError(`explorer: the late stage's fraction must be in [0, 1) (got ${late})`);
  const schedule =
    late > 0
      ? [
          { fraction: 1 - late, weights: { ...settings.weights } },
          { fraction: late, weights: { ...settings.anneal.weights }, name: ANNEAL_NAME },
        ]
      : [{ fraction: 1, weights: { ...settings.weights } }];
  const dedup =
    settings.exactDedup || settings.near.enabled
      ? {
          exact: settings.exactDedup,
          keep: 'first',
          ...(settings.near.enabled
            ? { near: { threshold: settings.near.threshold, ngram: settings.near.ngram, num_hashes: settings.near.numHashes, cluster: settings.near.cluster ?? 'cover' } }
            : {}),
        }
      : undefined;
  return {
    inputs: [{ path: settings.inputName, ...(settings.inputSource !== undefined ? { source: settings.inputSource } : {}) }],
    fields: {
      id: fields.id,
      source: fields.source ?? null,
      text: fields.text,
      ...(fields.quality !== undefined ? { quality: fields.quality } : {}),
    },
    tokenizer: settings.tokenizer ?? 'words',
    ...(filtered ? { filters: { quality: { field: fields.quality, thresholds } } } : {}),
    ...(dedup ? { dedup } : {}),
    evals: Object.fromEntries(settings.evalNames.map((name) => [name, `evals/${settings.evalFiles?.[name] ?? `${name}.txt`}`])),
    ...(settings.contamination ? { contamination: { ...settings.contamination } } : {}),
    schedule,
    budget_tokens: settings.budgetTokens,
    seed: settings.seed,
    ...(settings.quarantine ? { on_error: 'quarantine' } : {}),
  };
}

/** Controls showing `config` (a one- or two-stage schedule) for a corpus with `sources`. */
export function settingsFromConfig(config: ExploreConfig, sources: readonly string[], input: { name: string; source?: string }): ExploreSettings {
  const { curate, mixture } = config;
  const schedule = mixture.schedule;
  if (!schedule || schedule.length > 2) {
    throw new TokenmixError('explorer: the controls show a schedule of one stage, or two (main + late); this config has ' + (schedule ? `${schedule.length} stages` : 'none'));
  }
  const fill = (weights: Record<string, number>) => Object.fromEntries(sources.map((s) => [s, own(weights, s) ?? 0]));
  const quality = curate.filters.quality;
  const qualityField = quality?.field ?? curate.fields.quality[0];
  return {
    fields: {
      id: curate.fields.id,
      text: curate.fields.text,
      ...(curate.fields.source !== undefined ? { source: curate.fields.source } : {}),
      ...(qualityField !== undefined ? { quality: qualityField } : {}),
    },
    inputName: input.name,
    ...(input.source !== undefined ? { inputSource: input.source } : {}),
    evalNames: Object.keys(curate.evals),
    ...(typeof curate.tokenizer === 'string' && curate.tokenizer !== 'words' ? { tokenizer: curate.tokenizer } : {}),
    weights: fill(schedule[0].weights),
    thresholds: Object.fromEntries(sources.map((s) => [s, (quality ? own(quality.thresholds, s) : undefined) ?? null])),
    exactDedup: curate.dedup.exact,
    near: curate.dedup.near
      ? { enabled: true, threshold: curate.dedup.near.threshold, ngram: curate.dedup.near.ngram, numHashes: curate.dedup.near.num_hashes, cluster: curate.dedup.near.cluster }
      : { enabled: false, threshold: 0.8, ngram: 5, numHashes: 128 },
    anneal: schedule.length === 2 ? { fraction: schedule[1].fraction, weights: fill(schedule[1].weights) } : { fraction: 0, weights: fill(schedule[0].weights) },
    budgetTokens: mixture.budget_tokens,
    contamination: curate.contamination ? { ...curate.contamination } : null,
    seed: curate.seed,
    quarantine: curate.on_error === 'quarantine',
  };
}
