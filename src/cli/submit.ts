/**
 * `--executor slurm` for curate, mix and dedup, and the parts tokenmix retry shares with it:
 * Slurm resources from the flags, the command a task starts tokenmix with, submission and
 * `--wait`.
 */
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TokenmixError } from '../errors.js';
import { parseBackendChoice } from '../backend.js';
import { launch, pinPlan } from '../cluster/launch.js';
import { makePlan, planPath, type PlannedRequest, type RunPlan } from '../cluster/plan.js';
import { NO_RESOURCES, type SlurmResources } from '../cluster/scripts.js';
import { isComplete, summaryLines, type StageReport } from '../cluster/status.js';
import { waitForRun } from '../cluster/wait.js';
import { ExitCode, type CliIo } from './io.js';
import { intOption } from './options.js';

export interface SlurmValues {
  partition?: string;
  time?: string;
  'cpus-per-task'?: string;
  mem?: string;
  gres?: string;
  throttle?: string;
  'sbatch-arg'?: string[];
  'task-setup'?: string;
  'reduce-time'?: string;
  'reduce-cpus-per-task'?: string;
  'reduce-mem'?: string;
  'reduce-gres'?: string;
}

export interface ExecutorValues extends SlurmValues {
  executor?: string;
  tasks?: string;
  wait?: boolean;
  'dry-run'?: boolean;
  backend?: string;
  adapter?: string;
  'no-report'?: boolean;
  workers?: string;
  'memory-mb'?: string;
  rank?: string;
  'world-size'?: string;
}

const SLURM_ONLY = [
  'wait', 'dry-run', 'partition', 'time', 'cpus-per-task', 'mem', 'gres', 'throttle', 'sbatch-arg', 'task-setup',
  'reduce-time', 'reduce-cpus-per-task', 'reduce-mem', 'reduce-gres',
] as const;

export type Executor = 'local' | 'slurm' | 'plan';
const EXECUTORS: readonly Executor[] = ['local', 'slurm', 'plan'];

/** Where the command runs; flags that mean nothing there are refused. */
export function executorOf(values: ExecutorValues): Executor {
  const executor = (values.executor ?? 'local') as Executor;
  if (!EXECUTORS.includes(executor)) throw new TokenmixError(`--executor must be local, slurm or plan (got ${JSON.stringify(executor)})`);
  const slurmOnly = SLURM_ONLY.find((flag) => values[flag] !== undefined);
  if (executor !== 'slurm' && slurmOnly) throw new TokenmixError(`--${slurmOnly} needs --executor slurm`);
  if (executor === 'local') {
    if (values.tasks !== undefined) throw new TokenmixError('--tasks needs --executor slurm or plan');
    return executor;
  }
  if (values.rank !== undefined || values['world-size'] !== undefined) {
    throw new TokenmixError(`--rank/--world-size cannot be combined with --executor ${executor}: the plan numbers the tasks (see --tasks)`);
  }
  return executor;
}

/** Resources from the flags; unset ones keep `base` (a retry keeps what the run was submitted with). */
export function slurmResources(values: SlurmValues, base: SlurmResources = NO_RESOURCES): SlurmResources {
  const cpus = values['cpus-per-task'];
  const throttle = values.throttle;
  const reduceCpus = values['reduce-cpus-per-task'];
  const baseReduce = base.reduce ?? NO_RESOURCES.reduce;
  return {
    partition: values.partition ?? base.partition,
    time: values.time ?? base.time,
    cpusPerTask: cpus === undefined ? base.cpusPerTask : intOption(cpus, 'cpus-per-task', 1, 1),
    mem: values.mem ?? base.mem,
    gres: values.gres ?? base.gres,
    throttle: throttle === undefined ? base.throttle : intOption(throttle, 'throttle', 1, 1),
    extraArgs: values['sbatch-arg'] ?? base.extraArgs,
    setup: values['task-setup'] ?? base.setup,
    reduce: {
      time: values['reduce-time'] ?? baseReduce.time,
      cpusPerTask: reduceCpus === undefined ? baseReduce.cpusPerTask : intOption(reduceCpus, 'reduce-cpus-per-task', 1, 1),
      mem: values['reduce-mem'] ?? baseReduce.mem,
      gres: values['reduce-gres'] ?? baseReduce.gres,
    },
  };
}

/** How a task starts this same tokenmix: node, its flags (e.g. a loader), the entry script. */
export function currentLauncher(): string[] {
  const entry = process.argv[1];
  return [process.execPath, ...process.execArgv, entry ? realpathSync(resolve(entry)) : join(process.cwd(), 'bin', 'tokenmix.js')];
}

/** Plan the run; submit it to Slurm (and with --wait follow it to the end), or only pin the plan. */
export async function submitRun(executor: Exclude<Executor, 'local'>, request: PlannedRequest, values: ExecutorValues, io: CliIo): Promise<number> {
  const tasks = values.tasks === undefined ? null : intOption(values.tasks, 'tasks', 1, 1);
  parseBackendChoice(values.backend ?? 'auto');
  const workers = values.workers === undefined ? null : intOption(values.workers, 'workers', 1, 1);
  const memoryMb = values['memory-mb'] === undefined ? null : intOption(values['memory-mb'], 'memory-mb', 1, 1);
  const run = { backend: values.backend ?? 'auto', adapter: values.adapter ?? null, report: !values['no-report'], workers, memory_mb: memoryMb };
  const plan = await makePlan(request, tasks, run);
  const outDir = request.command === 'dedup' ? request.options.outDir : request.outDir;
  if (executor === 'plan') {
    const pinned = await pinPlan(outDir, plan);
    io.out(`planned ${pinned.tasks.map} map task(s) and 1 reduce in ${planPath(outDir)}; run them with any engine:`);
    io.out(`  tokenmix run-task ${outDir} --stage map --task I      for I in 0..${pinned.tasks.map - 1}, in any order, in parallel`);
    io.out(`  tokenmix run-task ${outDir} --stage reduce --task 0   once every map task is done (tokenmix status ${outDir})`);
    return ExitCode.ok;
  }
  const dryRun = Boolean(values['dry-run']);
  const result = await launch(outDir, plan, {
    resources: slurmResources(values),
    launcher: currentLauncher(),
    workingDir: process.cwd(),
    dryRun,
    log: io.err,
    out: io.out,
  });
  if (dryRun) return ExitCode.ok;
  if (result.submitted.length === 0) io.err(`tokenmix: nothing to submit: ${summaryLines(result.reports).join('; ')}`);
  io.out(`planned ${plan.tasks.map} map task(s) + reduce in ${outDir}; follow with tokenmix status ${outDir}`);
  return values.wait ? follow(outDir, plan, io) : ExitCode.ok;
}

export async function follow(outDir: string, plan: RunPlan, io: CliIo): Promise<number> {
  return finalStatus(outDir, await waitForRun(outDir, plan, io.err), io);
}

export function finalStatus(outDir: string, reports: StageReport[], io: CliIo): number {
  if (isComplete(reports)) {
    io.out(`run complete: manifest ${join(resolve(outDir), 'manifest.json')}`);
    return ExitCode.ok;
  }
  for (const r of reports) for (const t of r.tasks) if (t.state === 'failed') io.err(`tokenmix: ${r.stage} task ${t.task} failed (${t.detail}); log: ${t.log ?? 'none'}`);
  io.err(`tokenmix: the run did not complete; see tokenmix status ${outDir}, then tokenmix retry ${outDir}`);
  return ExitCode.failed;
}
