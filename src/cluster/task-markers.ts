/**
 * A task's completion marker, `DIR/.tokenmix/tasks/<stage>-NNNNN.done.json`, written by
 * run-task after the stage returned, atomically and last: a task killed at any point (scancel,
 * requeue, node failure, time limit) leaves none, so status, retry and the reduce see it as
 * not done. The shards it wrote are reused or redone by the stage's own shard markers.
 */
import { readFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeShardMarker } from '../work/markers.js';
import { workDirOf, type Stage } from './plan.js';

export interface TaskMarker {
  stage: Stage;
  task: number;
  /** The plan's config hash: a marker of another plan never counts. */
  fingerprint: string;
  /** Scheduler facts for status (job id, restarts); never read by the pipeline. */
  job: string | null;
}

export function taskMarkerPath(outDir: string, stage: Stage, task: number): string {
  return join(workDirOf(outDir), 'tasks', `${stage}-${String(task).padStart(5, '0')}.done.json`);
}

export async function readTaskMarker(outDir: string, stage: Stage, task: number, fingerprint: string): Promise<TaskMarker | null> {
  try {
    const marker = JSON.parse(await readFile(taskMarkerPath(outDir, stage, task), 'utf8')) as TaskMarker;
    return marker.fingerprint === fingerprint ? marker : null;
  } catch {
    return null;
  }
}

export async function writeTaskMarker(outDir: string, marker: TaskMarker): Promise<void> {
  mkdirSync(join(workDirOf(outDir), 'tasks'), { recursive: true });
  await writeShardMarker(taskMarkerPath(outDir, marker.stage, marker.task), marker);
}
