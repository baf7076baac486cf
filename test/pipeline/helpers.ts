/**
 * Shared helpers for the pipeline tests: temp dirs, configs, running `curate()` at library
 * level, and byte snapshots of an output directory for "byte-identical" comparisons.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import type { Backend } from '../../src/backend.js';
import { curate, type CurateResult, type Manifest } from '../../src/pipeline/curate.js';

export const CPU: Backend = { kind: 'cpu', reason: 'test' };

export function tempDir(prefix = 'tokenmix-pipeline-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `config` as JSON to `dir/name` and returns its path. */
export function writeConfig(dir: string, config: unknown, name = 'curate.json'): string {
  const path = join(dir, name);
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

export interface RunOptions {
  backend?: Backend;
  rank?: number;
  worldSize?: number;
}

/** `curate()` with a CPU backend by default; asserts nothing. */
export function run(configPath: string, outDir: string, options: RunOptions = {}): Promise<CurateResult> {
  return curate({ configPath, outDir, backend: options.backend ?? CPU, rank: options.rank, worldSize: options.worldSize });
}

/** Runs to completion and returns the manifest (throws if the run stayed partial). */
export async function runComplete(configPath: string, outDir: string, options: RunOptions = {}): Promise<Manifest> {
  const result = await run(configPath, outDir, options);
  if (result.status !== 'complete') throw new Error(`expected a complete run, got ${JSON.stringify(result)}`);
  return result.manifest;
}

/**
 * Every file under `outDir` except run.json (backend and timing, by design not reproducible)
 * and the .tokenmix/ work directory, as relative path → sha256. Left-over `.partial` files
 * would show up here, so comparing snapshots also checks that none remain.
 */
export function snapshot(outDir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      const rel = relative(outDir, path).split(sep).join('/');
      if (rel === 'run.json' || rel === '.tokenmix') continue;
      if (entry.isDirectory()) walk(path);
      else files[rel] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(outDir);
  return files;
}

export function readJsonl<T = Record<string, unknown>>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as T);
}

export function readManifest(outDir: string): Manifest {
  return JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as Manifest;
}

export const sum = (values: Iterable<number>): number => {
  let total = 0;
  for (const v of values) total += v;
  return total;
};

/** Ids listed in every keep/ file of a run, in file then line order. */
export function keptIds(outDir: string): string[] {
  const dir = join(outDir, 'keep');
  return readdirSync(dir)
    .sort()
    .flatMap((name) => readJsonl<{ id: string }>(join(dir, name)).map((r) => r.id));
}

/** Drop lines of every drops/ file of a run. */
export function dropLines(outDir: string): { id: string; stage: string; reason: string; line?: number; row?: number }[] {
  const dir = join(outDir, 'drops');
  return readdirSync(dir)
    .sort()
    .flatMap((name) => readJsonl<{ id: string; stage: string; reason: string }>(join(dir, name)));
}
