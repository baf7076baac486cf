/**
 * An explorer session: one in-memory corpus, one backend, and `run(config)` giving what
 * `tokenmix mix` reports for the same config (SPEC §3–§4): the same curation decisions
 * (curate.ts), the same retained histograms and vocabulary (retained.ts), and the same f64
 * mixture evaluation (src/mixture/evaluate.ts) — so the numbers are equal, not merely close.
 *
 * Curation and histograms are cached by the part of the config that decides them, so moving a
 * weight, the anneal or the budget only re-runs the (cheap) mixture evaluation.
 */
import type { Backend } from '../backend.js';
import { TokenmixError } from '../errors.js';
import { parseConfig, type CurateConfig } from '../pipeline/config.js';
import { parseMixtureConfig, type MixtureConfig } from '../pipeline/mix-config.js';
import { evaluateMixture, type MixtureEvaluation } from '../mixture/evaluate.js';
import type { ExploreCorpus } from './corpus.js';
import { Curator, curationKey, type Curation } from './curate.js';
import { retainedData, type RetainedData } from './retained.js';

export interface ExploreConfig {
  curate: CurateConfig;
  mixture: MixtureConfig;
}

/** Parse a run config (the JSON `tokenmix mix --config` takes) with the CLI's own parsers. */
export function parseExploreConfig(raw: unknown): ExploreConfig {
  const curate = parseConfig(raw);
  return { curate, mixture: parseMixtureConfig(curate.mixture, curate.seed) };
}

export interface TopToken {
  token: string | number;
  probability: number;
}

export interface ExploreResult {
  config: ExploreConfig;
  curation: Curation;
  retained: RetainedData;
  evaluation: MixtureEvaluation;
  /** The effective distribution's most probable tokens (ties by id, as the manifest's top_tokens). */
  topTokens: TopToken[];
  /** exp(entropy of q): how many equally likely tokens q is worth (a diversity view, SPEC §4). */
  effectiveVocabulary: number;
  /** What each phase took, in milliseconds (curation and histograms are 0 when cached). */
  timings: { curateMs: number; histogramMs: number; evaluateMs: number };
}

export class ExploreSession {
  private readonly curator: Curator;
  private cached: { key: string; curation: Curation; retained: RetainedData } | null = null;

  constructor(readonly corpus: ExploreCorpus, readonly backend: Backend) {
    if (corpus.size === 0) throw new TokenmixError('explorer: the corpus has no valid records; check the field mapping');
    this.curator = new Curator(corpus, backend);
  }

  async run(config: ExploreConfig, topCount = 20): Promise<ExploreResult> {
    const { curate, mixture } = config;
    if (curate.tokenizer !== this.corpus.tokenizer.name) {
      throw new TokenmixError(`explorer: the config asks for tokenizer "${curate.tokenizer}" but the corpus was tokenized with "${this.corpus.tokenizer.name}"`);
    }
    if (this.corpus.evals.length === 0) throw new TokenmixError('explorer: mixture diagnostics need eval sets: pick yours with "Eval sets…" (.txt, .md or .jsonl; one domain per file)');
    const evalNames = this.corpus.evals.map((e) => e.name);
    for (const name of Object.keys(mixture.eval_weights ?? {})) {
      if (!evalNames.includes(name)) throw new TokenmixError(`config: eval_weights names "${name}", which is not in evals (${evalNames.join(', ')})`);
    }
    if (!mixture.schedule) throw new TokenmixError('explorer: the config needs a "schedule" (baselines are computed by tokenmix mix only)');

    const timings = { curateMs: 0, histogramMs: 0, evaluateMs: 0 };
    const key = curationKey(curate);
    if (this.cached?.key !== key) {
      let t = performance.now();
      const curation = await this.curator.curate(curate);
      timings.curateMs = performance.now() - t;
      t = performance.now();
      const retained = await retainedData(this.corpus, curation, this.backend);
      timings.histogramMs = performance.now() - t;
      this.cached = { key, curation, retained };
    }
    const { curation, retained } = this.cached!;
    const t = performance.now();
    const evaluation = evaluateMixture(retained.prepared, mixture.schedule, {
      budgetTokens: mixture.budget_tokens,
      evalWeights: mixture.eval_weights,
      maxEpochs: mixture.epoch_cap,
    });
    timings.evaluateMs = performance.now() - t;
    const q = evaluation.effectiveDistribution;
    const order = Array.from(q.keys()).sort((a, b) => q[b] - q[a] || a - b).slice(0, topCount);
    const topTokens = order.map((v) => ({ token: retained.vocabulary ? retained.vocabulary[v] : v, probability: q[v] }));
    let entropy = 0;
    for (const p of q) if (p > 0) entropy -= p * Math.log(p);
    return { config, curation, retained, evaluation, topTokens, effectiveVocabulary: Math.exp(entropy), timings };
  }
}
