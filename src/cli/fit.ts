import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenmixError } from '../errors.js';
import { fitMixtureLaws, parseExperimentsCsv, type MixtureLawFit } from '../mixture/fit.js';
import { VERSION } from '../version.js';
import { plural } from './format.js';
import { ExitCode, type CliIo } from './io.js';
import { intOption, parse } from './options.js';
import { dict } from '../dict.js';

/** Largest --restarts (8 is the default; more than this cannot improve the fit, only run longer). */
const MAX_RESTARTS = 1000;

const HELP = [
  'Usage: tokenmix fit --experiments FILE.csv --out DIR [options]',
  '',
  "Fit mixture laws to your own proxy-model runs (SPEC §5) and optimize the fitted law. Per eval",
  'domain j: the exponential law L_j(r) = c_j + k_j·exp(sum_i t_ji r_i) (t_j reported with mean 0)',
  'and a linear baseline L_j(r) = sum_i beta_ji r_i (= a + b·r with the intercept folded in, since',
  'sum r = 1). Prints training and leave-one-out RMSE of both, then the mixture minimizing',
  'sum_j lambda_j L_j(r) under the weight bounds (multi-start projected gradient: the law need not',
  'be convex). Writes DIR/fit.json.',
  '',
  'CSV format: a header row, then one row per run. Columns named w:<source> hold the run\'s mixture',
  'weights (>= 0, renormalized per row); columns named loss:<eval> its measured loss on that eval',
  'domain; other columns (e.g. run) are ignored. Comma-separated; cells may be "quoted". Example:',
  '  run,w:web,w:code,w:math,loss:general,loss:code',
  '  r01,0.6,0.2,0.2,3.412,2.871',
  'At least K + 2 runs for K sources. Bad cells are reported as FILE:LINE:COLUMN.',
  '',
  'Options:',
  '  --experiments FILE.csv  the runs table (format above)',
  '  --out DIR               output directory (created if missing)',
  '  --eval-weights e=x,...  lambda_j per eval domain (default equal; normalized to sum 1)',
  '  --min-weight s=x,...    minimum weight per source for the optimized mixture (default 0)',
  '  --max-weight s=x,...    maximum weight per source (default 1)',
  '  --seed S                seed of the fit restarts and optimizer starts (default 0)',
  '  --restarts N            random starts per fit (default 8, at most 1000)',
].join('\n');

export async function fitCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    experiments: { type: 'string' },
    out: { type: 'string' },
    'eval-weights': { type: 'string' },
    'min-weight': { type: 'string' },
    'max-weight': { type: 'string' },
    seed: { type: 'string' },
    restarts: { type: 'string' },
  });
  if (values.help) {
    io.out(HELP);
    return ExitCode.ok;
  }
  if (!values.experiments) throw new TokenmixError('fit needs --experiments FILE.csv (see tokenmix fit --help)');
  if (!values.out) throw new TokenmixError('fit needs --out DIR (see tokenmix fit --help)');
  const seed = intOption(values.seed, 'seed', 0, 0);
  if (seed > 0xffffffff) throw new TokenmixError(`--seed must be below 2^32 (got ${seed})`);
  const restarts = intOption(values.restarts, 'restarts', 8, 1);
  if (restarts > MAX_RESTARTS) {
    throw new TokenmixError(`--restarts is ${restarts}, more than the limit of ${MAX_RESTARTS}: each restart is a full Levenberg-Marquardt fit per eval domain, and past a few dozen the best fit no longer changes`);
  }
  const options = {
    seed,
    restarts,
    evalWeights: nameValueList(values['eval-weights'], 'eval-weights'),
    minWeights: nameValueList(values['min-weight'], 'min-weight'),
    maxWeights: nameValueList(values['max-weight'], 'max-weight'),
  };
  let text: string;
  try {
    text = readFileSync(values.experiments, 'utf8');
  } catch (error) {
    throw new TokenmixError(`fit: cannot read --experiments ${values.experiments}: ${(error as Error).message}`);
  }
  const table = parseExperimentsCsv(text, values.experiments);
  const fit = fitMixtureLaws(table, options);
  mkdirSync(values.out, { recursive: true });
  const outFile = join(values.out, 'fit.json');
  const report = {
    tool: 'tokenmix fit',
    version: VERSION,
    experiments: { file: values.experiments, sha256: createHash('sha256').update(text).digest('hex'), runs: table.numRuns },
    options: { seed, restarts, evalWeights: options.evalWeights ?? null, minWeights: options.minWeights ?? {}, maxWeights: options.maxWeights ?? {} },
    models: {
      exponential: 'L_j(r) = c_j + k_j * exp(sum_i t_ji r_i), t_j with mean 0; Levenberg-Marquardt (variable projection), best of seeded restarts',
      linear: 'L_j(r) = sum_i beta_ji r_i (Scheffe mixture model: a + b.r with the intercept folded in since sum r = 1); least squares',
      heldOut: 'leave-one-out RMSE (each run predicted by the models refitted without it)',
    },
    ...fit,
  };
  writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
  printSummary(fit, io);
  io.out(`fit: ${outFile}`);
  return ExitCode.ok;
}

/** `a=1,b=0.5` → { a: 1, b: 0.5 }; undefined when the option is absent. */
export function nameValueList(value: string | undefined, option: string): Record<string, number> | undefined {
  if (value === undefined) return undefined;
  const result: Record<string, number> = dict();
  for (const item of value.split(',')) {
    const match = /^\s*([^=\s][^=]*?)\s*=\s*([^=]+?)\s*$/.exec(item);
    const number = match ? Number(match[2]) : NaN;
    if (!match || match[2] === '' || !Number.isFinite(number)) {
      throw new TokenmixError(`--${option}: "${item}" is not name=number (expected e.g. --${option} web=0.5,code=0.2)`);
    }
    if (match[1] in result) throw new TokenmixError(`--${option}: "${match[1]}" is given twice`);
    result[match[1]] = number;
  }
  return result;
}

function printSummary(fit: MixtureLawFit, io: CliIo): void {
  const f = (x: number) => x.toFixed(4);
  io.out(`fitted ${plural(fit.evalNames.length, 'domain')} on ${plural(fit.numRuns, 'run')} over ${plural(fit.sourceNames.length, 'source')}`);
  io.out('  RMSE of the exponential law (exp) and the linear baseline (lin), on the training runs and leave-one-out (LOO):');
  io.out(`  ${'domain'.padEnd(14)} ${'exp train'.padStart(10)} ${'exp LOO'.padStart(10)} ${'lin train'.padStart(10)} ${'lin LOO'.padStart(10)}`);
  for (const d of fit.domains) {
    io.out(
      `  ${d.name.padEnd(14)} ${f(d.exponential.trainRmse).padStart(10)} ${f(d.exponential.looRmse).padStart(10)} ${f(d.linear.trainRmse).padStart(10)} ${f(d.linear.looRmse).padStart(10)}`,
    );
  }
  for (const d of fit.domains) {
    const t = fit.sourceNames.map((s) => `${s} ${d.exponential.t[s].toFixed(3)}`).join(', ');
    io.out(`  ${d.name}: L = ${d.exponential.c.toFixed(4)} + ${d.exponential.k.toFixed(4)}·exp(t·r), t: ${t}`);
  }
  const weights = (w: Record<string, number>) => fit.sourceNames.map((s) => `${s} ${w[s].toFixed(3)}`).join(', ');
  const { optimum, bestObservedRun: run } = fit;
  io.out(`optimized mixture (exponential law): ${weights(optimum.weights)}`);
  io.out(`  predicted: ${fit.evalNames.map((e) => `${e} ${f(optimum.predictedLosses[e])}`).join(', ')}; objective ${f(optimum.predictedObjective)}`);
  io.out(`best observed run (line ${run.line}): objective measured ${f(run.measuredObjective)}, predicted ${f(run.predictedObjective)}`);
  io.out(`linear baseline optimum: ${weights(fit.linearOptimum.weights)} (objective ${f(fit.linearOptimum.predictedObjective)})`);
  for (const warning of fit.warnings) io.err(`tokenmix: warning: ${warning}`);
}
