import { releaseBackend } from '../backend.js';
import { TokenmixError } from '../errors.js';
import { requirePlan, STAGES, type Stage } from '../cluster/plan.js';
import { checkTask, runTask } from '../cluster/run-task.js';
import { ExitCode, type CliIo } from './io.js';
import { intOption, openBackend, parse } from './options.js';

const HELP = [
  'Usage: tokenmix run-task DIR --stage map|reduce [--task I]',
  '',
  'Run one task of the run planned in DIR/.tokenmix/plan.json (written by curate, mix or dedup',
  'with --executor slurm, or --dry-run): map task I of the plan\'s T (input shards i with',
  'i mod T == I), or the reduce (once every map task is done). Every engine runs this command:',
  'Slurm job arrays, Kubernetes Indexed Jobs, AWS Batch arrays, a shell loop. A finished task',
  'leaves DIR/.tokenmix/tasks/<stage>-NNNNN.done.json and is not run again; a killed one leaves',
  'nothing a later stage would read, so rerunning it is always safe.',
  '',
  'Options:',
  '  --stage map|reduce      which stage',
  '  --task I                the task index (default: $JOB_COMPLETION_INDEX, set by Kubernetes',
  '                          Indexed Jobs, or $AWS_BATCH_JOB_ARRAY_INDEX); never the scheduler\'s',
  '                          task count: the plan fixes the number of tasks',
  '  --backend, --adapter    override the plan\'s backend for this task',
].join('\n');

function taskIndex(value: string | undefined): number {
  if (value !== undefined) return intOption(value, 'task', 0, 0);
  for (const name of ['JOB_COMPLETION_INDEX', 'AWS_BATCH_JOB_ARRAY_INDEX']) {
    const fromEnv = process.env[name];
    if (fromEnv !== undefined && fromEnv !== '') return intOption(fromEnv, `task (from $${name})`, 0, 0);
  }
  throw new TokenmixError('run-task needs --task I (or $JOB_COMPLETION_INDEX / $AWS_BATCH_JOB_ARRAY_INDEX)');
}

export async function runTaskCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, { stage: { type: 'string' }, task: { type: 'string' }, backend: { type: 'string' }, adapter: { type: 'string' } }, true);
  if (values.help) {
    io.out(HELP);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) throw new TokenmixError('run-task needs one output directory: tokenmix run-task DIR --stage map|reduce --task I');
  const [outDir] = positionals;
  const stage = values.stage as Stage;
  if (!STAGES.includes(stage)) throw new TokenmixError(`--stage must be map or reduce (got ${JSON.stringify(values.stage ?? null)})`);
  const task = taskIndex(values.task);
  const plan = await requirePlan(outDir);
  checkTask(plan, stage, task);
  const job = process.env.SLURM_ARRAY_JOB_ID ? `${process.env.SLURM_ARRAY_JOB_ID}_${process.env.SLURM_ARRAY_TASK_ID}` : (process.env.SLURM_JOB_ID ?? null);
  const backend = await openBackend({ backend: values.backend ?? plan.run.backend, adapter: values.adapter ?? plan.run.adapter ?? undefined }, io);
  try {
    const outcome = await runTask(outDir, stage, task, backend, io.err, job);
    if (outcome.alreadyDone) io.err(`tokenmix: ${stage} task ${task} is already done in this run; nothing to do`);
    else io.err(`tokenmix: ${stage} task ${task} of ${plan.tasks[stage]} done`);
    if (outcome.manifestPath) io.out(`manifest: ${outcome.manifestPath}`);
    return ExitCode.ok;
  } finally {
    releaseBackend(backend);
  }
}
