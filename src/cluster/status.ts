/**
 * Where a run stands, per stage and task: done (its completion marker), pending or running
 * (the scheduler's queue), failed (submitted, ended without a marker: cancelled, failed, out
 * of time, node failure) or missing (never submitted, or never started because a task it
 * depended on failed). Failed tasks point at their log file.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { latestElement, type Ledger } from './ledger.js';
import { planId, STAGES, type RunPlan, type Stage } from './plan.js';
import type { JobState } from './slurm.js';
import { readTaskMarker } from './task-markers.js';

export type TaskState = 'done' | 'running' | 'pending' | 'failed' | 'missing';
export const TASK_STATES: readonly TaskState[] = ['done', 'running', 'pending', 'failed', 'missing'];

export interface TaskReport {
  task: number;
  state: TaskState;
  /** The Slurm array element that last ran it (`JOB_INDEX`). */
  job: string | null;
  /** Scheduler state and reason, e.g. `CANCELLED` or `PENDING (BeginTime)`. */
  detail: string | null;
  log: string | null;
}

export interface StageReport {
  stage: Stage;
  tasks: TaskReport[];
  counts: Record<TaskState, number>;
}

/** What the scheduler knows; empty when the run is driven by another engine. */
export interface SchedulerView {
  queued: Map<string, JobState>;
  finished: (element: string) => Promise<JobState | null>;
}

export const NO_SCHEDULER: SchedulerView = { queued: new Map(), finished: async () => null };

const RUNNING = new Set(['RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED', 'STOPPED', 'RESIZING', 'SIGNALING', 'STAGE_OUT']);

export const logPathOf = (outDir: string, element: string) => join(resolve(outDir), 'logs', `${element}.log`);

async function taskReport(outDir: string, id: string, ledger: Ledger | null, view: SchedulerView, stage: Stage, task: number): Promise<TaskReport> {
  const last = latestElement(ledger, stage, task);
  const job = last?.element ?? null;
  const path = job ? logPathOf(outDir, job) : null;
  const log = path && existsSync(path) ? path : null;
  if (await readTaskMarker(outDir, stage, task, id)) return { task, state: 'done', job, detail: null, log };
  // Without a ledger another engine drives the run: only the markers are known.
  if (!job) return { task, state: 'missing', job, detail: ledger ? 'never submitted' : null, log };
  const queued = view.queued.get(job);
  if (queued) {
    const detail = queued.reason && queued.reason !== 'None' ? `${queued.state} (${queued.reason})` : queued.state;
    // A dependent whose dependency failed never starts: it is not waiting for anything.
    if (queued.reason === 'DependencyNeverSatisfied') return { task, state: 'missing', job, detail, log };
    return { task, state: RUNNING.has(queued.state) ? 'running' : 'pending', job, detail, log };
  }
  const ended = await view.finished(job);
  if (ended && ended.reason === 'DependencyNeverSatisfied') return { task, state: 'missing', job, detail: `${ended.state} (a task it waited for failed)`, log };
  if (ended && (ended.state === 'PENDING' || RUNNING.has(ended.state))) return { task, state: ended.state === 'PENDING' ? 'pending' : 'running', job, detail: ended.state, log };
  if (!ended && !log) return { task, state: 'missing', job, detail: 'submitted, never started', log };
  return { task, state: 'failed', job, detail: ended ? ended.state : 'ended without completing', log };
}

export async function runStatus(outDir: string, plan: RunPlan, ledger: Ledger | null, view: SchedulerView): Promise<StageReport[]> {
  const reports: StageReport[] = [];
  const id = planId(plan);
  for (const stage of STAGES) {
    const tasks: TaskReport[] = [];
    for (let task = 0; task < plan.tasks[stage]; task++) tasks.push(await taskReport(outDir, id, ledger, view, stage, task));
    const counts = Object.fromEntries(TASK_STATES.map((s) => [s, tasks.filter((t) => t.state === s).length])) as Record<TaskState, number>;
    reports.push({ stage, tasks, counts });
  }
  return reports;
}

export const isActive = (reports: StageReport[]) => reports.some((r) => r.counts.running + r.counts.pending > 0);
export const isComplete = (reports: StageReport[]) => reports.every((r) => r.counts.done === r.tasks.length);

/** One line per stage: `map     4 tasks: 3 done, 1 running`. */
export function summaryLines(reports: StageReport[]): string[] {
  return reports.map((r) => {
    const parts = TASK_STATES.filter((s) => r.counts[s] > 0).map((s) => `${r.counts[s]} ${s}`);
    return `${r.stage.padEnd(7)} ${r.tasks.length} task${r.tasks.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
  });
}
