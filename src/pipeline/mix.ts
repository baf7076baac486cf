/**
 * `tokenmix mix`: curation (the same config as `curate`), then the mixture engine on the
 * retained corpus (SPEC §3–§6): effective distribution, diagnostics, optional optimized
 * weights, and an optional materialized sampling plan. The manifest gains `mixture`,
 * `diagnostics` and, when asked, `optimized` and `sampling_plan`.
 *
 * Reported numbers are computed in f64 on the CPU from exact integer histograms, so the
 * manifest is byte-identical whatever the backend; the GPU builds the histograms.
 */
import { join, dirname, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { TokenmixError, invariant } from '../errors.js';
import { resolveInputs } from '../io/index.js';
import { loadTokenizer } from '../text/load-node.js';
import { prepareMixtureData, type PreparedMixtureData } from '../mixture/data.js';
import { evaluateMixture, type MixtureEvaluation } from '../mixture/evaluate.js';
import { baselineWeights, type BaselineSpec } from '../mixture/baselines.js';
import { constantSchedule, type Schedule } from '../mixture/weights.js';
import { optimizeMixture } from '../mixture/optimize.js';
import { minimaxMixture } from '../mixture/minimax.js';
import { curate, fieldMap, type CurateOptions, type Manifest } from './curate.js';
import { parseMixtureConfig, type MixtureConfig } from './mix-config.js';
import { readEvalSets } from './evals.js';
import { retainedCorpus } from './distributions.js';
import { writeOutput } from './outputs.js';
import { materializePlan, type MaterializedPlan } from './materialize.js';
import { certifiedSweep, type SweepReport } from './mix-sweep.js';

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

type MixComplete = { status: 'complete'; manifestPath: string; manifest: MixManifest };
export type MixResult = MixComplete | { status: 'partial'; pendingShards: number[] } | { status: 'done-elsewhere' };

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
    top_tokens: [] as { token: string | number; probability: number }[],
    warnings: evaluation.warnings.map((w) => w.message),
  };
}

function topTokens(q: Float64Array, vocabulary: string[] | null, count = 20) {
  const order = Array.from(q.keys()).sort((a, b) => q[b] - q[a] || a - b).slice(0, count);
  return order.map((v) => ({ token: vocabulary ? vocabulary[v] : v, probability: round(q[v]) }));
}

export async function mix(options: CurateOptions): Promise<MixResult> {
  // The mixture runs under curation's reduce lease, and writes the only manifest, last.
  const mixed: { result?: MixComplete } = {};
  const curated = await curate({ ...options, finish: { command: 'mix', run: async (manifest) => void (mixed.result = await mixture(manifest, options)) } });
  if (curated.status === 'partial') return { status: 'partial', pendingShards: curated.pendingShards };
  if (curated.status === 'done-elsewhere') return curated;
  invariant(mixed.result, 'mix: curation completed without running the mixture');
  return mixed.result;
}

async function mixture(manifest: Manifest, options: CurateOptions): Promise<MixComplete> {
  const log = options.log ?? (() => {});
  const config = manifest.config;
  const mixConfig = parseMixtureConfig(config.mixture, config.seed);
  const configPath = resolve(options.configPath);
  const baseDir = dirname(configPath);
  const outDir = resolve(options.outDir);
  const evals = await readEvalSets(config.evals, baseDir);
  if (evals.length === 0) throw new TokenmixError(`${configPath}: tokenmix mix needs eval sets: add "evals": { name: path } (a text file per eval domain)`);
  if (mixConfig.eval_weights) {
    for (const name of Object.keys(mixConfig.eval_weights)) {
      if (!config.evals[name]) throw new TokenmixError(`config: eval_weights names "${name}", which is not in evals (${Object.keys(config.evals).join(', ')})`);
    }
  }
  const inputs = await resolveInputs(config.inputs, baseDir);
  const tokenizer = await loadTokenizer(config.tokenizer, { baseDir });
  const workDir = join(outDir, '.tokenmix');
  await mkdir(workDir, { recursive: true });
  log('tokenmix: building per-source token histograms of the retained documents');
  const corpus = await retainedCorpus({
    inputs,
    fields: fieldMap(config),
    outDir,
    sources: manifest.sources,
    tokenizer,
    evals,
    backend: options.backend,
    batchSize: config.batch_size,
    ...(mixConfig.materialize ? { keptStore: join(workDir, 'kept.jsonl') } : {}),
  });
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
  diagnostics.top_tokens = topTokens(evaluation.effectiveDistribution, corpus.vocabulary);

  let optimized: MixManifest['optimized'] = null;
  if (mixConfig.optimize) {
    const o = mixConfig.optimize;
    const constraints = { budgetTokens, maxEpochs: o.max_epochs, minWeights: o.min_weights, maxWeights: o.max_weights };
    if (o.objective === 'weighted') {
      const result = optimizeMixture(prepared, { ...constraints, evalWeights: mixConfig.eval_weights });
      const at = diagnosticsOf(evaluateMixture(prepared, constantSchedule(result.weights), diagnosticOptions), mixConfig.epoch_cap);
      optimized = { objective: 'weighted', weights: roundMap(result.weights), duality_gap: result.gap, converged: result.converged, diagnostics: { ...at, top_tokens: undefined } };
    } else {
      const result = minimaxMixture(prepared, { ...constraints, reference: evaluation.weights });
      const at = diagnosticsOf(evaluateMixture(prepared, constantSchedule(result.weights), diagnosticOptions), mixConfig.epoch_cap);
      optimized = {
        objective: 'minimax',
        reference: 'the configured mixture',
        weights: roundMap(result.weights),
        worst_excess_loss: round(result.worstExcess),
        gap: result.gap,
        converged: result.converged,
        domain_weights: roundMap(result.domainWeights),
        diagnostics: { ...at, top_tokens: undefined },
      };
    }
  }

  const sweep = mixConfig.sweep
    ? await certifiedSweep(prepared, mixConfig.sweep, { budgetTokens, evalWeights: mixConfig.eval_weights, epochCap: mixConfig.epoch_cap, backend: options.backend })
    : null;

  const samplingPlan = mixConfig.materialize
    ? await materializePlan({ corpus, schedule, budgetTokens, seed: config.seed, format: mixConfig.materialize.format, docsPerShard: mixConfig.materialize.docs_per_shard, outDir, keptStore: join(workDir, 'kept.jsonl') })
    : null;

  const result: MixManifest = {
    ...manifest,
    outputs: [...manifest.outputs, ...(samplingPlan?.files ?? [])].sort((a, b) => (a.path < b.path ? -1 : 1)),
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
  return { status: 'complete', manifestPath, manifest: result };
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
