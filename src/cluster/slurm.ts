/**
 * The Slurm commands tokenmix uses (sbatch, squeue, scontrol, scancel), run as child
 * processes. No slurmdbd is assumed: `squeue` tells what is queued or running and
 * `scontrol show job` the end state of a job that finished in the last few minutes.
 */
import { execFile } from 'node:child_process';
import { TokenmixError } from '../errors.js';

/** Slurm's default MaxArraySize: array indices run from 0 to MaxArraySize − 1. */
export const DEFAULT_MAX_ARRAY_SIZE = 1001;

function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(command, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new TokenmixError(`${command} not found: --executor slurm needs the Slurm client commands on PATH (run on a login node of the cluster)`));
        return;
      }
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

async function checked(command: string, args: string[]): Promise<string> {
  const result = await run(command, args);
  if (result.code !== 0) throw new TokenmixError(`${command} ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim().split('\n')[0] ?? ''}`);
  return result.stdout;
}

/** Submit a batch script; returns the job id. */
export async function sbatch(args: string[], script: string): Promise<string> {
  const out = await checked('sbatch', ['--parsable', ...args, script]);
  // --parsable prints "JOBID" or "JOBID;CLUSTER".
  const id = out.trim().split(';')[0];
  if (!/^\d+$/.test(id)) throw new TokenmixError(`sbatch printed ${JSON.stringify(out.trim())} instead of a job id`);
  return id;
}

export async function maxArraySize(): Promise<number> {
  const out = await checked('scontrol', ['show', 'config']);
  const match = /^MaxArraySize\s*=\s*(\d+)/m.exec(out);
  return match ? Number(match[1]) : DEFAULT_MAX_ARRAY_SIZE;
}

/** A job or array element the scheduler knows: `123` or `123_4`, its state and reason. */
export interface JobState {
  id: string;
  state: string;
  reason: string;
}

/** Every queued or running job (array elements one per line, `JOBID_INDEX`). */
export async function queuedJobs(): Promise<Map<string, JobState>> {
  const out = await checked('squeue', ['-h', '-r', '-o', '%i|%T|%r']);
  const jobs = new Map<string, JobState>();
  for (const line of out.split('\n')) {
    const [id, state, reason] = line.trim().split('|');
    if (id) jobs.set(id, { id, state, reason: reason ?? '' });
  }
  return jobs;
}

/** End state of a recently finished job or array element (`123_4`), or null once forgotten. */
export async function finishedJob(id: string): Promise<JobState | null> {
  const result = await run('scontrol', ['show', 'job', '-o', id]);
  if (result.code !== 0) return null;
  const state = /\bJobState=(\S+)/.exec(result.stdout)?.[1];
  const reason = /\bReason=(\S+)/.exec(result.stdout)?.[1] ?? '';
  return state ? { id, state, reason } : null;
}

export async function scancel(ids: string[]): Promise<void> {
  if (ids.length > 0) await checked('scancel', ids);
}
