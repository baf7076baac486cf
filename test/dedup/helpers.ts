/** Shared plumbing of the dedup end-to-end tests: corpora on disk, runs, output snapshots. */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Backend } from '../../src/backend.js';
import { dedup, type DedupOptions, type DedupResult } from '../../src/dedup/index.js';

export const cpu: Backend = { kind: 'cpu', reason: 'test' };

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tokenmix-${prefix}-`));
}

export function writeJsonl(path: string, records: readonly object[]): string {
  writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}

/** Every output file of a run (not run.json, which records backend and timings) by relative path. */
export function snapshot(outDir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (name.startsWith('.tokenmix')) continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (name !== 'run.json') files[relative(outDir, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(outDir);
  return files;
}

export async function runComplete(options: DedupOptions, backend: Backend = cpu, log?: (m: string) => void): Promise<Extract<DedupResult, { status: 'complete' }>> {
  const result = await dedup(options, backend, { log });
  if (result.status !== 'complete') throw new Error(`expected a complete run, got ${JSON.stringify(result)}`);
  return result;
}

export interface ClusterLine {
  id: string;
  cluster: number;
  kept: boolean;
}

export function clusterLines(outDir: string): ClusterLine[] {
  return readFileSync(join(outDir, 'clusters.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ClusterLine);
}

/** Clusters as sorted lists of ids, sorted. */
export function partition(lines: ClusterLine[]): string[][] {
  const groups = new Map<number, string[]>();
  for (const l of lines) (groups.get(l.cluster) ?? groups.set(l.cluster, []).get(l.cluster)!).push(l.id);
  return [...groups.values()].map((g) => g.sort()).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}
