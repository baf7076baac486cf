/**
 * The run plan: `DIR/.tokenmix/plan.json` pins what every task of a run must agree on (the
 * command and its request, the config's hash, the inputs and their fingerprints, the number
 * of map tasks, the tool version). Every engine runs `tokenmix run-task DIR --stage S --task I`
 * against it, so the world size never comes from the scheduler's environment (a Slurm retry
 * of one array element sees SLURM_ARRAY_TASK_COUNT=1).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { writeAtomic } from '../work/temp.js';
import { dirname, join, resolve } from 'node:path';
import { TokenmixError } from '../errors.js';
import { resolveInputs } from '../io/index.js';
import type { InputSpec } from '../io/types.js';
import type { DedupOptions } from '../dedup/options.js';
import { loadConfig } from '../pipeline/curate.js';
import { VERSION } from '../version.js';

export type PlannedCommand = 'curate' | 'mix' | 'dedup';
export type Stage = 'map' | 'reduce';
export const STAGES: readonly Stage[] = ['map', 'reduce'];

/** What run-task hands to the command's library entry (absolute paths only). */
export type PlannedRequest =
  | { command: 'curate' | 'mix'; configPath: string; outDir: string; unitBytes?: number }
  | { command: 'dedup'; options: Omit<DedupOptions, 'rank' | 'worldSize' | 'stage' | 'workers' | 'workerMemoryMb'> & { baseDir: string; outDir: string } };

export interface InputFingerprint {
  path: string;
  bytes: number;
  mtime_ms: number;
}

export interface RunPlan {
  format: 1;
  tool: { name: 'tokenmix'; version: string };
  request: PlannedRequest;
  /** SHA-256 of the config file's bytes (curate, mix) or of the dedup options. */
  config_sha256: string;
  inputs: InputFingerprint[];
  tasks: Record<Stage, number>;
  /** How tasks run; not part of the plan's identity (outputs are the same on every backend and worker count). */
  run: { backend: string; adapter: string | null; report: boolean; workers: number | null; memory_mb: number | null };
}

/**
 * Default map tasks: one per 256 MiB of input, at most one per input file (uncompressed JSONL and
 * Parquet split into work units that tasks share by bytes, but gzip/zstd files and Arrow files do
 * not: more tasks than files could leave some idle). Pass --tasks for more.
 */
export const TARGET_TASK_BYTES = 256 * 2 ** 20;

export function defaultTaskCount(inputs: InputFingerprint[]): number {
  const bytes = inputs.reduce((sum, input) => sum + input.bytes, 0);
  return Math.max(1, Math.min(inputs.length, Math.ceil(bytes / TARGET_TASK_BYTES)));
}

export const workDirOf = (outDir: string) => join(resolve(outDir), '.tokenmix');
export const planPath = (outDir: string) => join(workDirOf(outDir), 'plan.json');

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

export function fingerprintInputs(paths: string[]): InputFingerprint[] {
  return paths.map((path) => {
    const stat = statSync(path);
    return { path, bytes: stat.size, mtime_ms: stat.mtimeMs };
  });
}

/** The inputs a request reads and the hash of its configuration. */
export async function describeRequest(request: PlannedRequest): Promise<{ inputs: InputFingerprint[]; configSha256: string }> {
  if (request.command === 'dedup') {
    const inputs = resolveInputs(request.options.inputs as InputSpec[], request.options.baseDir);
    if (inputs.length === 0) throw new TokenmixError(`no input file matches ${request.options.inputs.map((i) => JSON.stringify(i.path)).join(', ')}`);
    return { inputs: fingerprintInputs(inputs.map((i) => i.path)), configSha256: sha256(JSON.stringify(request.options)) };
  }
  const config = await loadConfig(request.configPath);
  const inputs = resolveInputs(config.inputs, dirname(request.configPath));
  if (inputs.length === 0) throw new TokenmixError(`${request.configPath}: no input file matches the config's inputs`);
  return { inputs: fingerprintInputs(inputs.map((i) => i.path)), configSha256: sha256(readFileSync(request.configPath)) };
}

export async function makePlan(request: PlannedRequest, tasks: number | null, run: RunPlan['run']): Promise<RunPlan> {
  const { inputs, configSha256 } = await describeRequest(request);
  const map = tasks ?? defaultTaskCount(inputs);
  if (!Number.isInteger(map) || map < 1) throw new TokenmixError(`--tasks must be a positive integer (got ${tasks})`);
  return { format: 1, tool: { name: 'tokenmix', version: VERSION }, request, config_sha256: configSha256, inputs, tasks: { map, reduce: 1 }, run };
}

/** Everything that must match for two plans to be the same run (not how tasks run). */
function identity(plan: RunPlan): string {
  const { run: _run, ...rest } = plan;
  return JSON.stringify(rest);
}

/** Short id of a plan's identity: task markers carry it, so another plan's markers never count. */
export function planId(plan: RunPlan): string {
  return sha256(identity(plan)).slice(0, 16);
}

export function samePlan(a: RunPlan, b: RunPlan): boolean {
  return identity(a) === identity(b);
}

/** What differs between two plans, for the refusal message. */
export function planDifferences(old: RunPlan, next: RunPlan): string[] {
  const out: string[] = [];
  if (old.tool.version !== next.tool.version) out.push(`tool version ${old.tool.version} → ${next.tool.version}`);
  if (JSON.stringify(old.request) !== JSON.stringify(next.request)) out.push('command or options');
  if (old.config_sha256 !== next.config_sha256) out.push('config');
  if (JSON.stringify(old.inputs) !== JSON.stringify(next.inputs)) out.push('inputs (paths, sizes or modification times)');
  if (old.tasks.map !== next.tasks.map) out.push(`map tasks ${old.tasks.map} → ${next.tasks.map}`);
  return out;
}

export async function readPlan(outDir: string): Promise<RunPlan | null> {
  let text: string;
  try {
    text = await readFile(planPath(outDir), 'utf8');
  } catch {
    return null;
  }
  const plan = JSON.parse(text) as RunPlan;
  if (plan.format !== 1) throw new TokenmixError(`${planPath(outDir)}: unknown plan format ${JSON.stringify(plan.format)} (written by another tokenmix version)`);
  return plan;
}

export async function requirePlan(outDir: string): Promise<RunPlan> {
  const plan = await readPlan(outDir);
  if (!plan) {
    throw new TokenmixError(
      `${resolve(outDir)} has no run plan (${planPath(outDir)}); plan one with tokenmix curate|mix|dedup ... --out ${outDir} --executor slurm|plan`,
    );
  }
  return plan;
}

export async function writePlan(outDir: string, plan: RunPlan): Promise<void> {
  const path = planPath(outDir);
  await mkdir(dirname(path), { recursive: true });
  await writeAtomic(path, `${JSON.stringify(plan, null, 2)}\n`);
}

/** A task must read exactly the inputs the run was planned over. */
export function checkInputsUnchanged(plan: RunPlan): void {
  for (const input of plan.inputs) {
    let now: InputFingerprint;
    try {
      [now] = fingerprintInputs([input.path]);
    } catch {
      throw new TokenmixError(`input ${input.path} of the planned run is gone; restore it, or plan a new run in a new output directory`);
    }
    if (now.bytes !== input.bytes || now.mtime_ms !== input.mtime_ms) {
      throw new TokenmixError(`input ${input.path} changed since the run was planned (size or modification time); plan a new run in a new output directory`);
    }
  }
}
