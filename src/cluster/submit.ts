/**
 * Submitting a planned run to Slurm: the map tasks that are neither done nor queued, as job
 * arrays (split below MaxArraySize), then the reduce, chained with afterok on every map array
 * submitted now and on each map element still queued, and --kill-on-invalid-dep=yes so a
 * failed map task ends the reduce instead of leaving it pending forever. A first submission
 * and `tokenmix retry` are the same operation: submit what is missing.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readLedger, slurmDirOf, writeLedger, type Ledger, type Submission } from './ledger.js';
import type { RunPlan, Stage } from './plan.js';
import { arraySpec, sbatchArgs, splitArrays, taskScript, type SlurmResources } from './scripts.js';
import { DEFAULT_MAX_ARRAY_SIZE, finishedJob, maxArraySize, queuedJobs, sbatch, scancel } from './slurm.js';
import { runStatus, type SchedulerView, type StageReport } from './status.js';

export interface SubmitOptions {
  resources: SlurmResources;
  launcher: string[];
  workingDir: string;
  /** Print the scripts and sbatch commands instead of submitting. */
  dryRun: boolean;
  log: (text: string) => void;
  /** Dry runs print here (stdout in the CLI). */
  out: (text: string) => void;
}

export interface SubmitResult {
  submitted: Submission[];
  /** Reduce jobs cancelled because the map tasks they waited for are resubmitted. */
  cancelled: string[];
  reports: StageReport[];
}

export async function schedulerView(): Promise<SchedulerView> {
  return { queued: await queuedJobs(), finished: finishedJob };
}

export async function submitMissing(outDir: string, plan: RunPlan, options: SubmitOptions): Promise<SubmitResult> {
  const previous = await readLedger(outDir);
  const view = options.dryRun && !previous ? { queued: new Map(), finished: async () => null } : await schedulerView();
  const reports = await runStatus(outDir, plan, previous, view);
  const [map, reduce] = reports;
  const todo = (r: StageReport) => r.tasks.filter((t) => t.state === 'failed' || t.state === 'missing').map((t) => t.task);
  const mapTodo = todo(map);
  const stillQueued = map.tasks.filter((t) => t.state === 'running' || t.state === 'pending').map((t) => t.job!);
  const reduceQueued = reduce.tasks.filter((t) => t.state === 'running' || t.state === 'pending');
  // A queued reduce waits for the old map arrays, whose failed elements it can never outlive.
  const cancel = mapTodo.length > 0 ? reduceQueued.map((t) => t.job!) : [];
  const reduceTodo = mapTodo.length > 0 ? reduce.tasks.filter((t) => t.state !== 'done').map((t) => t.task) : todo(reduce);

  const limit = options.dryRun ? await maxArraySize().catch(() => DEFAULT_MAX_ARRAY_SIZE) : await maxArraySize();
  const ledger: Ledger = { resources: options.resources, launcher: options.launcher, working_dir: options.workingDir, submissions: previous?.submissions ?? [] };
  const submitted: Submission[] = [];
  let sequence = ledger.submissions.length;
  if (!options.dryRun && cancel.length > 0) {
    await scancel(cancel);
    options.log(`tokenmix: cancelled the queued reduce ${cancel.join(', ')}; a new one waits for the resubmitted map tasks`);
  }
  const submitStage = async (stage: Stage, tasks: number[], after: string[]) => {
    const jobs: string[] = [];
    for (const chunk of splitArrays(tasks, limit)) {
      const script = taskScript({ stage, chunk, outDir, launcher: options.launcher, workingDir: options.workingDir, command: plan.request.command, resources: options.resources });
      const args = sbatchArgs(after, options.resources);
      const path = join(slurmDirOf(outDir), `${String(sequence++).padStart(4, '0')}-${stage}.sh`);
      if (options.dryRun) {
        const job = `<${stage}-job-${jobs.length}>`;
        options.out(`# sbatch --parsable ${[...args, path].join(' ')}\n${script}`);
        jobs.push(job);
        continue;
      }
      await mkdir(join(outDir, 'logs'), { recursive: true });
      await mkdir(slurmDirOf(outDir), { recursive: true });
      await writeFile(path, script, { mode: 0o755 });
      const job = await sbatch(args, path);
      const submission: Submission = { job, stage, offset: chunk.offset, indices: chunk.indices, script: path, after };
      submitted.push(submission);
      // Recorded at once: a failure further on must not lose track of a submitted array.
      await writeLedger(outDir, { ...ledger, submissions: [...ledger.submissions, ...submitted] });
      options.log(`tokenmix: submitted ${stage} job ${job} (array ${arraySpec(chunk.indices)}${chunk.offset ? ` + offset ${chunk.offset}` : ''})`);
      jobs.push(job);
    }
    return jobs;
  };
  const mapJobs = await submitStage('map', mapTodo, []);
  if (reduceTodo.length > 0) await submitStage('reduce', reduceTodo, [...mapJobs, ...stillQueued]);
  return { submitted, cancelled: options.dryRun ? [] : cancel, reports };
}
