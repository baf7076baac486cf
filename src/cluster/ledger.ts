/**
 * What was submitted to Slurm for a run: `DIR/.tokenmix/slurm/jobs.json` lists every sbatch
 * (job id, stage, which tasks, its script), with the resources and launcher the run uses, so
 * status can ask the scheduler about exactly those jobs and retry can resubmit alike.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { writeAtomic } from '../work/temp.js';
import { join } from 'node:path';
import { workDirOf, type Stage } from './plan.js';
import type { SlurmResources } from './scripts.js';

export interface Submission {
  job: string;
  stage: Stage;
  offset: number;
  indices: number[];
  script: string;
  /** The jobs (or array elements) it waits for with afterok. */
  after: string[];
}

export interface Ledger {
  resources: SlurmResources;
  launcher: string[];
  working_dir: string;
  submissions: Submission[];
}

export const slurmDirOf = (outDir: string) => join(workDirOf(outDir), 'slurm');
const ledgerPath = (outDir: string) => join(slurmDirOf(outDir), 'jobs.json');

export async function readLedger(outDir: string): Promise<Ledger | null> {
  try {
    return JSON.parse(await readFile(ledgerPath(outDir), 'utf8')) as Ledger;
  } catch {
    return null;
  }
}

export async function writeLedger(outDir: string, ledger: Ledger): Promise<void> {
  await mkdir(slurmDirOf(outDir), { recursive: true });
  const path = ledgerPath(outDir);
  await writeAtomic(path, `${JSON.stringify(ledger, null, 2)}\n`);
}

/** The latest submission that ran `task` of `stage`, and the array element id it had there. */
export function latestElement(ledger: Ledger | null, stage: Stage, task: number): { submission: Submission; element: string } | null {
  const submissions = ledger?.submissions ?? [];
  for (let i = submissions.length - 1; i >= 0; i--) {
    const s = submissions[i];
    if (s.stage === stage && s.indices.includes(task - s.offset)) return { submission: s, element: `${s.job}_${task - s.offset}` };
  }
  return null;
}
