/**
 * One task of a planned run: map task I of T (its share of the work units, balanced by bytes:
 * src/exec/units.ts assignUnits), or the reduce.
 * This is what every engine runs (a Slurm array element, a Kubernetes Indexed Job pod, a
 * shell loop); the plan, not the environment, says what T is.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Backend } from '../backend.js';
import { dedup } from '../dedup/index.js';
import { TokenmixError } from '../errors.js';
import { curate } from '../pipeline/curate.js';
import { mix } from '../pipeline/mix.js';
import { writeReport } from '../report/index.js';
import { VERSION } from '../version.js';
import { checkInputsUnchanged, planId, requirePlan, type RunPlan, type Stage } from './plan.js';
import { readTaskMarker, writeTaskMarker } from './task-markers.js';

export interface TaskOutcome {
  /** Set when the reduce finished: the run's manifest. */
  manifestPath: string | null;
  /** The task had already completed under this plan; nothing was run. */
  alreadyDone: boolean;
}

export function checkTask(plan: RunPlan, stage: Stage, task: number): void {
  const count = plan.tasks[stage];
  if (!Number.isInteger(task) || task < 0 || task >= count) {
    throw new TokenmixError(`--task must be an integer in 0..${count - 1} for stage ${stage} of this run (got ${task})`);
  }
}

/** Map tasks without a completion marker. */
export async function unfinishedMapTasks(outDir: string, plan: RunPlan): Promise<number[]> {
  const id = planId(plan);
  const missing: number[] = [];
  for (let task = 0; task < plan.tasks.map; task++) if (!(await readTaskMarker(outDir, 'map', task, id))) missing.push(task);
  return missing;
}

/**
 * A reduce killed while writing (requeue, preemption, time limit) leaves temporary `.partial`
 * outputs, some named after its process; the scheduler runs one reduce at a time, so the next
 * one removes them and the output directory ends as a local run's.
 */
function removePartialOutputs(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.tokenmix') || entry.name === 'logs') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) removePartialOutputs(path);
    else if (entry.name.endsWith('.partial')) rmSync(path, { force: true });
  }
}

export async function runTask(outDir: string, stage: Stage, task: number, backend: Backend, log: (text: string) => void, job: string | null = null): Promise<TaskOutcome> {
  const plan = await requirePlan(outDir);
  checkTask(plan, stage, task);
  const id = planId(plan);
  if (await readTaskMarker(outDir, stage, task, id)) return { manifestPath: null, alreadyDone: true };
  if (plan.tool.version !== VERSION) {
    throw new TokenmixError(`this is tokenmix ${VERSION} but the run in ${outDir} was planned with ${plan.tool.version}: run every task with the same version`);
  }
  checkInputsUnchanged(plan);
  if (stage === 'reduce') {
    const missing = await unfinishedMapTasks(outDir, plan);
    if (missing.length > 0) {
      throw new TokenmixError(`the reduce needs every map task done; map task(s) ${missing.join(', ')} are not (see tokenmix status ${outDir})`);
    }
    removePartialOutputs(resolve(outDir));
  }
  const rank = stage === 'map' ? task : 0;
  const worldSize = plan.tasks.map;
  const request = plan.request;
  let manifestPath: string | null = null;
  const workers = plan.run.workers ?? undefined;
  const memoryMb = plan.run.memory_mb ?? undefined;
  if (request.command === 'dedup') {
    const result = await dedup({ ...request.options, rank, worldSize, stage, workers, workerMemoryMb: memoryMb }, backend, { log });
    if (result.status === 'complete') manifestPath = result.manifestPath;
  } else {
    const run = request.command === 'mix' ? mix : curate;
    const result = await run({ configPath: request.configPath, outDir: request.outDir, unitBytes: request.unitBytes, backend, rank, worldSize, stage, log, workers, memoryMb });
    if (result.status === 'complete') manifestPath = result.manifestPath;
  }
  if (stage === 'reduce') {
    if (!manifestPath) throw new TokenmixError(`the reduce of ${outDir} did not complete: some input shards have no completion marker (see tokenmix status ${outDir})`);
    if (plan.run.report) await writeReport(outDir);
  }
  await writeTaskMarker(outDir, { stage, task, fingerprint: id, job });
  return { manifestPath, alreadyDone: false };
}
