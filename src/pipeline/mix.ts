/**
 * `tokenmix mix`: curation (the same config as `curate`, reused when only mixture keys changed,
 * or an existing curated directory with `--from`: mix-source.ts), then the mixture engine on the
 * retained corpus (SPEC §3–§6): effective distribution, diagnostics, optional optimized
 * weights (unigram proxy, minimax, or a law fitted by `tokenmix fit`), and an optional
 * materialized sampling plan. The whole config is validated before any curation starts. The
 * manifest gains `mixture`, `diagnostics` and, when asked, `optimized` and `sampling_plan`.
 *
 * Reported numbers are computed in f64 on the CPU from exact integer histograms, so the
 * manifest is byte-identical whatever the backend; the GPU builds the histograms.
 */
import { createHash } from 'node:crypto';
import { join, dirname, relative, resolve, sep } from 'node:path';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { TokenmixError } from '../errors.js';
import { exclusively } from '../work/exclusive.js';
import { resolveInputs } from '../io/index.js';
import { loadTokenizer } from '../text/load-node.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { prepareMixtureData, type PreparedMixtureData } from '../mixture/data.js';
import { evaluateMixture, type MixtureEvaluation } from '../mixture/evaluate.js';
import { baselineWeights, type BaselineSpec } from '../mixture/baselines.js';
import { constantSchedule, weightRecord, type Schedule } from '../mixture/weights.js';
import { optimizeMixture, reduceProblem } from '../mixture/optimize.js';
import { minimaxMixture } from '../mixture/minimax.js';
import { parseFittedLaw, optimizeFittedLaw, type FittedLaw } from '../mixture/fitted-law.js';
import { loadConfig, type CurateOptions, type Manifest } from './curate.js';
import { parseMixtureConfig, type MixtureConfig } from './mix-config.js';
import { readEvalSets } from './evals.js';
import { corpusEncoder } from './distributions.js';
import { writeOutput } from './outputs.js';
import { materializePlan, type MaterializedPlan } from './materialize.js';
import { certifiedSweep, type SweepReport } from './mix-sweep.js';
import { terminalProgressFactory } from '../work/progress.js';
import { curatedCorpus, type CuratedCorpus } from './mix-source.js';

export type MixManifest = Manifest & {
  mixture: {
    budget_tokens: number;
    source: 'schedule' | 'baseline';
    baseline: MixtureConfig['baseline'];
    schedule: Schedule;
    average_weights: Record<string, number>;
    vocab_size: number;
    eval_weights: Record<string, number>;
  };
  diagnostics: ReturnType<typeof diagnosticsOf>;
  optimized: Record<string, unknown> | null;
  sweep: SweepReport | null;
  sampling_plan: Omit<MaterializedPlan, 'files'> | null;
};

export type MixResult =
  | { status: 'complete'; manifestPath: string; manifest: MixManifest; reused: CuratedCorpus['reused'] }
  | { status: 'partial'; pendingShards: number[] }
  | { status: 'done-elsewhere' };

const round = (x: number) => Number(x.toPrecision(15));
const roundMap = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round(v)]));

/** The manifest's diagnostics block: SPEC §4 at the exact paths the CLI documents. */
function diagnosticsOf(evaluation: MixtureEvaluation, epochCap: number) {
  const bySource = <T>(f: (s: MixtureEvaluation['sources'][number]) => T) =>
    Object.fromEntries(evaluation.sources.map((s) => [s.name, f(s)]));
  return {
    losses: roundMap(evaluation.losses),
    objective: round(evaluation.objective),
    contamination_mass: round(evaluation.contaminationMass),
    repetition_pressure: bySource((s) => round(s.repetition)),
    unique_tokens_seen: bySource((s) => round(s.expectedUniqueTokens)),
    effective_tokens: bySource((s) => round(s.effectiveTokens)),
    sampled_tokens: bySource((s) => round(s.sampledTokens)),
    retained_tokens: bySource((s) => s.retainedTokens),
    retained_docs: bySource((s) => s.retainedDocs),
    leak_tokens: bySource((s) => s.leakTokens),
    epoch_cap: epochCap,
    stages: evaluation.stages.map((st) => ({ name: st.name ?? null, fraction: st.fraction, weights: roundMap(st.weights), losses: roundMap(st.losses), objective: round(st.objective) })),
    top_tokens: [] as { token: string | number; text?: string; probability: number }[],
    warnings: evaluation.warnings.map((w) => w.message),
  };
}

/** Most probable tokens; a BPE id comes with its decoded text (the report shows that). */
function topTokens(q: Float64Array, vocabulary: string[] | null, decode: ((ids: number[]) => string) | undefined, count = 20) {
  const order = Array.from(q.keys()).sort((a, b) => q[b] - q[a] || a - b).slice(0, count);
  return order.map((v) => (vocabulary ? { token: vocabulary[v], probability: round(q[v]) } : { token: v, ...(decode ? { text: decode([v]) } : {}), probability: round(q[v]) }));
}

export interface MixOptions extends CurateOptions {
  /** Re-mix this curated directory instead of curating (`tokenmix mix --from DIR`). */
  from?: string;
}

/** The whole config (mixture keys, eval sets and a fitted law included), checked before any curation. */
export async function checkedMixConfig(configPath: string) {
  const config = await loadConfig(configPath);
  const baseDir = dirname(configPath);
  let mixConfig: MixtureConfig;
  try {
    mixConfig = parseMixtureConfig(config.mixture, config.seed);
  } catch (error) {
    if (error instanceof TokenmixError) throw new TokenmixError(`${configPath}: ${error.message.replace(/^tokenmix: /, '')}`);
    throw error;
  }
  const evals = await readEvalSets(config.evals, baseDir);
  if (evals.length === 0) throw new TokenmixError(`${configPath}: tokenmix mix needs eval sets: add "evals": { name: path } (a text file per eval domain)`);
  for (const name of Object.keys(mixConfig.eval_weights ?? {})) {
    if (!Object.hasOwn(config.evals, name)) throw new TokenmixError(`${configPath}: eval_weights names "${name}", which is not in evals (${Object.keys(config.evals).join(', ')})`);
  }
  let law: { file: string; sha256: string; law: FittedLaw } | null = null;
  if (mixConfig.optimize?.law) {
    const file = resolve(baseDir, mixConfig.optimize.law);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new TokenmixError(`${configPath}: optimize.law: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give the fit.json written by tokenmix fit`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new TokenmixError(`${file}: not valid JSON (${(error as Error).message}); optimize.law takes the fit.json written by tokenmix fit`);
    }
    law = { file: mixConfig.optimize.law, sha256: createHash('sha256').update(text).digest('hex'), law: parseFittedLaw(raw, file) };
  }
  return { config, mixConfig, evals, law, baseDir };
}

/** Spellings of the end-of-document token in tokenizer.json files, most common first. */
const EOD_SPELLINGS = ['<|endoftext|>', '</s>', '<|end_of_text|>', '<eos>'];

/**
 * End-of-document id of the token formats: the configured one; tiktoken's <|endoftext|>; for a
 * tokenizer.json, its added token spelled as in EOD_SPELLINGS (added tokens encode to one id);
 * for `words`, V (the first id past the corpus vocabulary, which has no model attached).
 */
function eodTokenOf(configured: number | undefined, tokenizer: Tokenizer, vocabSize: number): number {
  if (configured !== undefined) return configured;
  if (tokenizer.kind === 'words') return vocabSize;
  if (tokenizer.name === 'cl100k_base') return 100257;
  if (tokenizer.name === 'o200k_base') return 199999;
  for (const spelling of EOD_SPELLINGS) {
    const ids = tokenizer.encode(spelling);
    if (ids.length === 1) return ids[0];
  }
  throw new TokenmixError(`materialize: tokenizer ${tokenizer.name} has none of ${EOD_SPELLINGS.join(', ')} as one token; set "materialize.eod_token" to its end-of-document id`);
}

export async function mix(options: MixOptions): Promise<MixResult> {
  const configPath = resolve(options.configPath);
  const checked = await checkedMixConfig(configPath);
  const outDir = resolve(options.outDir);
  // A map task only curates its units (curate's map phase needs no lease).
  if (options.stage === 'map') return mixHere(options, checked, outDir, configPath);
  // One process at a time mixes into a directory (work/lease.ts); a duplicate of the same run
  // (same config, source and rank) that waited for it finds it done.
  const workDir = join(outDir, '.tokenmix');
  await mkdir(workDir, { recursive: true });
  const key = createHash('sha256')
    .update(JSON.stringify({ config: checked.config, from: options.from ?? null, rank: options.rank ?? null, world: options.worldSize ?? null, stage: options.stage ?? 'all' }))
    .digest('hex');
  const onWait = () => options.log?.(`tokenmix: another process is mixing into ${options.outDir}; waiting for it`);
  const outcome = await exclusively(workDir, 'mix', key, () => mixHere(options, checked, outDir, configPath), { onWait });
  return outcome.status === 'done' ? outcome.value : outcome;
}

async function mixHere(options: MixOptions, checked: Awaited<ReturnType<typeof checkedMixConfig>>, outDir: string, configPath: string): Promise<MixResult> {
  const { config, mixConfig, evals, law, baseDir } = checked;
  const inputs = await resolveInputs(config.inputs, baseDir);
  const tokenizer = await loadTokenizer(config.tokenizer, { baseDir });
  const phases = options.progress ? terminalProgressFactory(options.log ?? (() => {})) : undefined;
  const source = await curatedCorpus({ run: options, config, ...(options.from ? { from: options.from } : {}), inputs, tokenizer, evals, ...(phases ? { progress: phases } : {}) });
  if ('status' in source) return { status: 'partial', pendingShards: source.pendingShards };
  const { corpus, manifest } = source;
  const workDir = join(outDir, '.tokenmix');
  await mkdir(workDir, { recursive: true });
  const prepared: PreparedMixtureData = prepareMixtureData({
    sources: manifest.sources.map((name, i) => ({ name, retainedDocs: corpus.retainedDocs[i], leakTokens: corpus.leakTokens[i] })),
    counts: corpus.counts,
    vocabSize: corpus.vocabSize,
    evals: evals.map((e) => ({ name: e.name, tokenCounts: corpus.evalCounts.get(e.name)! })),
  });
  const budgetTokens = mixConfig.budget_tokens;
  const baseline: BaselineSpec | null = mixConfig.schedule
    ? null
    : toBaselineSpec(mixConfig.baseline ?? { kind: 'proportional' }, budgetTokens, mixConfig.epoch_cap);
  const schedule: Schedule = mixConfig.schedule ?? constantSchedule(baselineWeights(baseline!, prepared));
  const diagnosticOptions = { budgetTokens, evalWeights: mixConfig.eval_weights, maxEpochs: mixConfig.epoch_cap };
  const evaluation = evaluateMixture(prepared, schedule, diagnosticOptions);
  const diagnostics = diagnosticsOf(evaluation, mixConfig.epoch_cap);
  diagnostics.top_tokens = topTokens(evaluation.effectiveDistribution, corpus.vocabulary, tokenizer.decode?.bind(tokenizer));
  const diagnosticsAt = (weights: Record<string, number>) => ({ ...diagnosticsOf(evaluateMixture(prepared, constantSchedule(weights), diagnosticOptions), mixConfig.epoch_cap), top_tokens: undefined });

  let optimized: MixManifest['optimized'] = null;
  if (mixConfig.optimize) {
    const o = mixConfig.optimize;
    const constraints = { budgetTokens, maxEpochs: o.max_epochs, minWeights: o.min_weights, maxWeights: o.max_weights };
    if (o.objective === 'weighted') {
      const result = optimizeMixture(prepared, { ...constraints, evalWeights: mixConfig.eval_weights });
      optimized = { objective: 'weighted', weights: roundMap(result.weights), duality_gap: result.gap, converged: result.converged, diagnostics: diagnosticsAt(result.weights) };
    } else if (o.objective === 'law') {
      const problem = reduceProblem(prepared, constraints);
      const result = optimizeFittedLaw(law!.law, problem.activeSources, problem.lower, problem.upper, config.seed, `${configPath}: optimize.law ${law!.file}`);
      optimized = {
        objective: 'law',
        law: { file: law!.file, sha256: law!.sha256, eval_weights: roundMap(weightRecord(law!.law.lambdas, law!.law.evalNames)) },
        weights: roundMap(result.weights),
        predicted_losses: roundMap(result.predictedLosses),
        predicted_objective: round(result.predictedObjective),
        stationarity: result.stationarity,
        diagnostics: diagnosticsAt(result.weights),
      };
    } else {
      const result = minimaxMixture(prepared, { ...constraints, reference: evaluation.weights });
      optimized = {
        objective: 'minimax',
        reference: 'the configured mixture',
        weights: roundMap(result.weights),
        worst_excess_loss: round(result.worstExcess),
        gap: result.gap,
        converged: result.converged,
        domain_weights: roundMap(result.domainWeights),
        diagnostics: diagnosticsAt(result.weights),
      };
    }
  }

  const sweep = mixConfig.sweep
    ? await certifiedSweep(prepared, mixConfig.sweep, { budgetTokens, evalWeights: mixConfig.eval_weights, epochCap: mixConfig.epoch_cap, backend: options.backend })
    : null;

  const m = mixConfig.materialize;
  const tokenFormat = m?.format === 'megatron' || m?.format === 'tokens';
  const samplingPlan = m
    ? await materializePlan({
        corpus,
        schedule,
        budgetTokens,
        seed: config.seed,
        format: m.format,
        docsPerShard: m.docs_per_shard,
        outDir,
        workDir,
        keptStore: source.keptStore,
        corpusKey: source.corpusKey,
        log: options.log,
        ...(phases ? { progress: phases } : {}),
        ...(tokenFormat
          ? {
              encoding: {
                encode: corpusEncoder(tokenizer, corpus.vocabulary),
                eodToken: eodTokenOf(m.eod_token, tokenizer, corpus.vocabSize),
                vocabSize: corpus.vocabSize,
                tokenizer: tokenizer.name,
                vocabulary: corpus.vocabulary,
              },
            }
          : {}),
      })
    : null;
  if (!m) {
    // A mixture without materialize leaves no plan of an earlier mixture behind.
    for (const stale of ['mixed', 'sampling_plan.jsonl', join('.tokenmix', 'materialize')]) await rm(join(outDir, stale), { recursive: true, force: true });
  }

  // Curated outputs live in the curated directory: named from the output directory when they differ.
  const curatedPrefix = relative(outDir, source.curatedDir).split(sep).join('/');
  const curatedOutputs = manifest.outputs.map((o) => (curatedPrefix === '' ? o : { ...o, path: `${curatedPrefix}/${o.path}` }));
  const result: MixManifest = {
    ...manifest,
    outputs: [...curatedOutputs, ...(samplingPlan?.files ?? [])].sort((a, b) => (a.path < b.path ? -1 : 1)),
    mixture: {
      budget_tokens: budgetTokens,
      source: mixConfig.schedule ? 'schedule' : 'baseline',
      baseline: mixConfig.schedule ? null : (mixConfig.baseline ?? { kind: 'proportional' }),
      schedule: schedule.map((s) => ({ ...s, weights: roundMap(s.weights) })),
      average_weights: roundMap(evaluation.weights),
      vocab_size: corpus.vocabSize,
      eval_weights: roundMap(evaluation.evalWeights),
    },
    diagnostics,
    optimized,
    sweep,
    sampling_plan: samplingPlan ? (({ files: _files, ...rest }) => rest)(samplingPlan) : null,
  };
  const manifestPath = join(outDir, 'manifest.json');
  await writeOutput(outDir, manifestPath, `${JSON.stringify(result, null, 2)}\n`);
  return { status: 'complete', manifestPath, manifest: result, reused: source.reused };
}

function toBaselineSpec(b: NonNullable<MixtureConfig['baseline']>, budgetTokens: number, epochCap: number): BaselineSpec {
  switch (b.kind) {
    case 'temperature':
      return { kind: 'temperature', temperature: b.temperature! };
    case 'unimax':
      return { kind: 'unimax', budgetTokens, maxEpochs: b.max_epochs ?? epochCap };
    case 'hand-tuned':
      return { kind: 'hand-tuned', weights: b.weights! };
    default:
      return { kind: b.kind };
  }
}
