/**
 * Slurm batch scripts of a planned run, as pure functions of the plan's tasks and the
 * resources asked for: one job array per stage (and per MaxArraySize-sized chunk of tasks),
 * each element running `tokenmix run-task DIR --stage S --task OFFSET+SLURM_ARRAY_TASK_ID`.
 */
import type { Stage } from './plan.js';

export interface SlurmResources {
  partition: string | null;
  time: string | null;
  cpusPerTask: number | null;
  mem: string | null;
  gres: string | null;
  /** At most this many elements of an array run at once (sbatch --array=...%N). */
  throttle: number | null;
  /** Passed to sbatch as they are (e.g. --account=..., --qos=...). */
  extraArgs: string[];
  /** A shell line run before each task (e.g. `module load nodejs`). */
  setup: string | null;
  /** The reduce's own needs where they differ (it holds every distinct document's facts). */
  reduce: ReduceResources;
}

export interface ReduceResources {
  time: string | null;
  cpusPerTask: number | null;
  mem: string | null;
  gres: string | null;
}

export const NO_RESOURCES: SlurmResources = {
  partition: null, time: null, cpusPerTask: null, mem: null, gres: null, throttle: null, extraArgs: [], setup: null,
  reduce: { time: null, cpusPerTask: null, mem: null, gres: null },
};

/** The resources of one stage's tasks: the reduce's overrides apply to the reduce only. */
function stageResources(stage: Stage, resources: SlurmResources): Pick<SlurmResources, 'time' | 'cpusPerTask' | 'mem' | 'gres'> {
  const own = stage === 'reduce' ? resources.reduce : { time: null, cpusPerTask: null, mem: null, gres: null };
  return {
    time: own.time ?? resources.time,
    cpusPerTask: own.cpusPerTask ?? resources.cpusPerTask,
    mem: own.mem ?? resources.mem,
    gres: own.gres ?? resources.gres,
  };
}

/** One sbatch submission: array indices index + offset are the stage's tasks. */
export interface ArrayChunk {
  offset: number;
  indices: number[];
}

/**
 * Split tasks into arrays whose indices stay below MaxArraySize. Chunk k holds tasks
 * [k·max, (k+1)·max) as indices task − k·max, so a retry of any subset reuses the same mapping.
 */
export function splitArrays(tasks: number[], maxArraySize: number): ArrayChunk[] {
  const chunks = new Map<number, number[]>();
  for (const task of [...tasks].sort((a, b) => a - b)) {
    const offset = Math.floor(task / maxArraySize) * maxArraySize;
    if (!chunks.has(offset)) chunks.set(offset, []);
    chunks.get(offset)!.push(task - offset);
  }
  return [...chunks].map(([offset, indices]) => ({ offset, indices }));
}

/** `0-3,5,7-9`: sorted indices as sbatch --array ranges. */
export function arraySpec(indices: number[]): string {
  const parts: string[] = [];
  let start = indices[0];
  let previous = start;
  for (const index of [...indices.slice(1), Number.NaN]) {
    if (index === previous + 1) {
      previous = index;
      continue;
    }
    parts.push(start === previous ? `${start}` : `${start}-${previous}`);
    start = previous = index;
  }
  return parts.join(',');
}

const quote = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

export interface ScriptRequest {
  stage: Stage;
  chunk: ArrayChunk;
  /** Absolute output directory of the run. */
  outDir: string;
  /** The command that starts tokenmix: node, its flags, the entry script. */
  launcher: string[];
  /** Working directory of the tasks (where the run was submitted). */
  workingDir: string;
  command: string;
  resources: SlurmResources;
}

export function taskScript(request: ScriptRequest): string {
  const { stage, chunk, outDir, resources } = request;
  const throttle = resources.throttle ? `%${resources.throttle}` : '';
  const needs = stageResources(stage, resources);
  const directives = [
    `--job-name=tokenmix-${request.command}-${stage}`,
    `--array=${arraySpec(chunk.indices)}${throttle}`,
    // One log per element; appended to when a requeued element runs again.
    `--output=${outDir}/logs/%A_%a.log`,
    '--open-mode=append',
    '--requeue',
    `--chdir=${request.workingDir}`,
    ...(resources.partition ? [`--partition=${resources.partition}`] : []),
    ...(needs.time ? [`--time=${needs.time}`] : []),
    ...(needs.cpusPerTask ? [`--cpus-per-task=${needs.cpusPerTask}`] : []),
    ...(needs.mem ? [`--mem=${needs.mem}`] : []),
    ...(needs.gres ? [`--gres=${needs.gres}`] : []),
  ];
  const run = [...request.launcher, 'run-task', outDir, '--stage', stage, '--task', `$((${chunk.offset} + SLURM_ARRAY_TASK_ID))`];
  return [
    '#!/bin/bash',
    `# tokenmix ${request.command}: ${stage} task(s) ${arraySpec(chunk.indices.map((i) => i + chunk.offset))} of ${outDir}`,
    ...directives.map((d) => `#SBATCH ${quote(d)}`),
    'set -euo pipefail',
    `echo "tokenmix: ${stage} task $((${chunk.offset} + SLURM_ARRAY_TASK_ID)) on $(hostname), job \${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}, restart \${SLURM_RESTART_COUNT:-0}" >&2`,
    // Map-phase workers: the CPUs Slurm gave the task, not every core of the node.
    'if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then export TOKENMIX_WORKERS="${TOKENMIX_WORKERS:-$SLURM_CPUS_PER_TASK}"; fi',
    ...(resources.setup ? [resources.setup] : []),
    `exec ${run.map((w) => (w.startsWith('$((') ? `"${w}"` : quote(w))).join(' ')}`,
    '',
  ].join('\n');
}

/** sbatch arguments beside the script: the dependency on earlier stages, and extra arguments. */
export function sbatchArgs(after: string[], resources: SlurmResources): string[] {
  const dependency = after.length > 0 ? [`--dependency=afterok:${after.join(':')}`, '--kill-on-invalid-dep=yes'] : [];
  return [...dependency, ...resources.extraArgs];
}
