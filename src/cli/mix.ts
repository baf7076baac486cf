import { releaseBackend } from '../backend.js';
import { TokenmixError } from '../errors.js';
import { checkedMixConfig, mix } from '../pipeline/mix.js';
import { resolve } from 'node:path';
import { writeReport } from '../report/index.js';
import { formatNumber, plural } from './format.js';
import { ExitCode, type CliIo } from './io.js';
import { executorOf, submitRun } from './submit.js';
import { RUN_HELP, RUN_OPTIONS, openBackend, parse, checkedRunArgs } from './options.js';

const HELP = [
  'Usage: tokenmix mix --config FILE --out DIR [options]',
  '       tokenmix mix --config FILE --from CURATED [--out DIR] [options]',
  '',
  'Curate (as tokenmix curate) and then evaluate the mixture a training run will see: per-source',
  'token histograms of the retained documents, smoothed source distributions, the schedule\'s',
  'time-averaged weights, eval losses, objective, repetition pressure, unique tokens seen,',
  'contamination mass; optionally optimized weights and a materialized sampling plan.',
  'Mixture keys of the config: budget_tokens (required), evals, eval_weights, schedule or',
  'baseline, epoch_cap, optimize, sweep, materialize (see README "Configuration"). The whole',
  'config is checked before curation starts.',
  '',
  'Iterating on a mixture: when the output directory already holds a curation with the same',
  'curation keys over the same inputs, only the mixture runs again (seconds); --from DIR re-mixes',
  'an existing curated directory (a curate or mix output) with this config\'s mixture keys.',
  '',
  'Options:',
  ...RUN_HELP,
  '  --from DIR              re-mix the curated directory DIR (its curation keys must equal the',
  '                          config\'s); --out defaults to DIR',
].join('\n');

export async function mixCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { ...RUN_OPTIONS, from: { type: 'string' } });
  if (values.help) {
    io.out(HELP);
    return ExitCode.ok;
  }
  const run = await checkedRunArgs('mix', { ...values, out: values.out ?? values.from });
  if (values.from && (values.rank !== undefined || values['world-size'] !== undefined)) {
    throw new TokenmixError('mix --from re-mixes a curated directory: --rank/--world-size do not apply (they split curation)');
  }
  // Mixture keys, eval sets and a fitted law are checked before the GPU is opened.
  await checkedMixConfig(resolve(run.configPath));
  const executor = executorOf(values);
  if (executor !== 'local') {
    if (values.from) throw new TokenmixError(`mix --from re-mixes a curated directory here: --executor ${executor} does not apply (it splits curation)`);
    return submitRun(executor, { command: 'mix', configPath: resolve(run.configPath), outDir: resolve(run.outDir), unitBytes: run.unitBytes }, values, io);
  }
  const backend = await openBackend(values, io);
  try {
    const result = await mix({
      ...run,
      ...(values.from ? { from: values.from } : {}),
      backend,
      log: io.err,
      progress: io.interactive,
    });
    if (result.status === 'partial') {
      io.err(`tokenmix: ${result.pendingShards.length} shard(s) still pending on other ranks; the mixture runs once all are curated`);
      return ExitCode.ok;
    }
    if (result.status === 'done-elsewhere') {
      io.err(`tokenmix: another process completed this run in ${run.outDir} while this one waited; nothing left to do`);
      return ExitCode.ok;
    }
    const m = result.manifest;
    const d = m.diagnostics;
    const fmt = formatNumber;
    io.out(`mixture (${m.mixture.source}${m.mixture.baseline ? ` ${m.mixture.baseline.kind}` : ''}) over ${plural(m.sources.length, 'source')}, budget ${fmt(m.mixture.budget_tokens)} tokens, V = ${m.mixture.vocab_size}`);
    io.out(`  source        weight    retained tokens  repetition  unique seen`);
    for (const s of m.sources) {
      io.out(`  ${s.padEnd(12)} ${fmt(m.mixture.average_weights[s] ?? 0).padStart(8)}  ${String(d.retained_tokens[s]).padStart(15)}  ${fmt(d.repetition_pressure[s]).padStart(10)}  ${fmt(d.unique_tokens_seen[s]).padStart(11)}`);
    }
    io.out(`  losses: ${Object.entries(d.losses).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}; objective ${fmt(d.objective)}; contamination mass ${fmt(d.contamination_mass)}`);
    for (const w of d.warnings) io.out(`  warning: ${w}`);
    if (m.optimized) io.out(`  optimized (${m.optimized.objective}): ${Object.entries(m.optimized.weights as Record<string, number>).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
    if (m.sampling_plan) io.out(`  sampling plan: ${m.sampling_plan.entries} documents, ${m.sampling_plan.tokens} tokens in ${m.sampling_plan.shards.length} ${m.sampling_plan.format} shard(s)`);
    io.out(`manifest: ${result.manifestPath}`);
    if (!values['no-report']) io.out(`report: ${await writeReport(run.outDir)}`);
    return ExitCode.ok;
  } finally {
    releaseBackend(backend);
  }
}
