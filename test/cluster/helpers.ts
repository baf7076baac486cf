/**
 * Shared by the cluster tests: the real CLI spawned from the TypeScript sources (so the
 * Slurm jobs it submits run the same sources: the plan's launcher is this node + tsx +
 * cli-entry.ts), byte snapshots of a run's outputs, and polling.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = join(root, 'test', 'pipeline', 'cli-entry.ts');

export interface CliOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[]): Promise<CliOutcome> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolvePromise) => child.on('close', (code) => resolvePromise({ code, stdout, stderr })));
}

/** What a run wrote for users: everything but run.json, work directories, dedup's reduce lease and done record, and Slurm logs. */
export function outputs(outDir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const skip = new Set(['run.json', '.tokenmix', '.tokenmix-dedup', 'logs']);
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      const rel = relative(outDir, path).split(sep).join('/');
      if (skip.has(rel) || rel.startsWith('.tokenmix-dedup-reduce.')) continue;
      if (entry.isDirectory()) walk(path);
      else files[rel] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(outDir);
  return files;
}

export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Starts the one-node cluster if needed (scripts/slurm-up.sh, idempotent). In CI, or as root
 * (who can start it), a cluster that cannot start is an error, never a skip.
 */
export function slurmUp(): { ok: true } | { ok: false; why: string } {
  const result = spawnSync('bash', [join(root, 'scripts', 'slurm-up.sh')], { encoding: 'utf8' });
  if (result.status === 0) return { ok: true };
  const why = `scripts/slurm-up.sh failed (exit ${result.status}): ${result.stderr.trim()}`;
  if (process.env.CI || process.getuid?.() === 0) throw new Error(why);
  return { ok: false, why };
}

/** Scheduler state of an array element (`JOB_INDEX`), from squeue; null once it left the queue. */
export function queueState(element: string): string | null {
  const result = spawnSync('squeue', ['-h', '-r', '-o', '%i %T'], { encoding: 'utf8' });
  for (const line of result.stdout.split('\n')) {
    const [id, state] = line.trim().split(' ');
    if (id === element) return state;
  }
  return null;
}

export function slurm(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}
