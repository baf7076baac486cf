import { releaseBackend } from '../backend.js';
import { TokenmixError } from '../errors.js';
import { mix } from '../pipeline/mix.js';
import { writeReport } from '../report/index.js';
import { ExitCode, type CliIo } from './io.js';
import { BACKEND_HELP, BACKEND_OPTIONS, intOption, openBackend, parse } from './options.js';

const HELP = [
  'Usage: tokenmix mix --config FILE --out DIR [options]',
  '',
  'Curate (as tokenmix curate) and then evaluate the mixture a training run will see: per-source',
  'token histograms of the retained documents, smoothed source distributions, the schedule\'s',
  'time-averaged weights, eval losses, objective, repetition pressure, unique tokens seen,',
  'contamination mass; optionally optimized weights and a materialized sampling plan.',
  'Mixture keys of the config: budget_tokens (required), evals, eval_weights, schedule or',
  'baseline, epoch_cap, optimize, sweep, materialize (see README "Configuration").',
  '',
  'Options:',
  '  --config FILE           the run configuration (JSON)',
  '  --out DIR               output directory (manifest.json gains mixture and diagnostics)',
  '  --rank R --world-size W split the curation map phase over ranks (as in curate)',
  '  --no-report             do not write DIR/report.html (tokenmix report DIR writes it later)',
  ...BACKEND_HELP,
].join('\n');

export async function mixCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    config: { type: 'string' },
    out: { type: 'string' },
    rank: { type: 'string' },
    'world-size': { type: 'string' },
    'no-report': { type: 'boolean' },
    ...BACKEND_OPTIONS,
  });
  if (values.help) {
    io.out(HELP);
    return ExitCode.ok;
  }
  if (!values.config) throw new TokenmixError('mix needs --config FILE (see tokenmix mix --help)');
  if (!values.out) throw new TokenmixError('mix needs --out DIR (see tokenmix mix --help)');
  const backend = await openBackend(values, io);
  try {
    const result = await mix({
      configPath: values.config,
      outDir: values.out,
      backend,
      rank: intOption(values.rank, 'rank', 0, 0),
      worldSize: intOption(values['world-size'], 'world-size', 1, 1),
      log: io.err,
      progress: io.interactive,
    });
    if (result.status === 'partial') {
      io.err(`tokenmix: ${result.pendingShards.length} shard(s) still pending on other ranks; the mixture runs once all are curated`);
      return ExitCode.ok;
    }
    const m = result.manifest;
    const d = m.diagnostics;
    const fmt = (x: number) => (Math.abs(x) >= 1e5 ? x.toExponential(3) : Number(x.toPrecision(6)).toString());
    io.out(`mixture (${m.mixture.source}${m.mixture.baseline ? ` ${m.mixture.baseline.kind}` : ''}) over ${m.sources.length} sources, budget ${fmt(m.mixture.budget_tokens)} tokens, V = ${m.mixture.vocab_size}`);
    io.out(`  source        weight    retained tokens  repetition  unique seen`);
    for (const s of m.sources) {
      io.out(`  ${s.padEnd(12)} ${fmt(m.mixture.average_weights[s] ?? 0).padStart(8)}  ${String(d.retained_tokens[s]).padStart(15)}  ${fmt(d.repetition_pressure[s]).padStart(10)}  ${fmt(d.unique_tokens_seen[s]).padStart(11)}`);
    }
    io.out(`  losses: ${Object.entries(d.losses).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}; objective ${fmt(d.objective)}; contamination mass ${fmt(d.contamination_mass)}`);
    for (const w of d.warnings) io.out(`  warning: ${w}`);
    if (m.optimized) io.out(`  optimized (${m.optimized.objective}): ${Object.entries(m.optimized.weights as Record<string, number>).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
    if (m.sampling_plan) io.out(`  sampling plan: ${m.sampling_plan.entries} documents, ${m.sampling_plan.tokens} tokens in ${m.sampling_plan.shards.length} ${m.sampling_plan.format} shard(s)`);
    io.out(`manifest: ${result.manifestPath}`);
    if (!values['no-report']) io.out(`report: ${await writeReport(values.out)}`);
    return ExitCode.ok;
  } finally {
    releaseBackend(backend);
  }
}
