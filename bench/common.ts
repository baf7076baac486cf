/**
 * Shared benchmark plumbing: machine and adapter description, seeded repetition with
 * warm-up, and JSON results in bench/results/. Benchmarks measure; they never assert.
 */
import { cpus, totalmem, platform, release, arch } from 'node:os';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../src/backend.js';
import { describeBackend } from '../src/backend.js';
import { VERSION } from '../src/version.js';

export interface MachineInfo {
  tokenmix: string;
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  adapter: string;
}

export function machineInfo(backend: Backend | null): MachineInfo {
  const cpuList = cpus();
  return {
    tokenmix: VERSION,
    node: process.version,
    platform: `${platform()} ${release()} ${arch()}`,
    cpu: cpuList[0]?.model ?? 'unknown',
    cores: cpuList.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    adapter: backend ? describeBackend(backend) : 'none',
  };
}

export function printMachine(info: MachineInfo): void {
  console.log(`machine: ${info.cpu} × ${info.cores} cores, ${info.memoryGiB} GiB, ${info.platform}, node ${info.node}`);
  console.log(`adapter: ${info.adapter}`);
}

/** Median of `repeats` timed runs after `warmup` untimed ones. */
export async function measure<T>(
  work: () => Promise<T> | T,
  { warmup = 1, repeats = 3 }: { warmup?: number; repeats?: number } = {},
): Promise<{ medianMs: number; samplesMs: number[]; result: T }> {
  let result!: T;
  for (let i = 0; i < warmup; i++) result = await work();
  const samplesMs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    result = await work();
    samplesMs.push(performance.now() - start);
  }
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor(sorted.length / 2)], samplesMs, result };
}

/** bench/results of the checkout, found from this file whether it runs from bench/ or dist/bench/. */
function findResultsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'bench', 'results');
}

const resultsDir = findResultsDir();

/** Write `data` as bench/results/<name>-<timestamp>.json and <name>-latest.json. */
export function writeResults(name: string, data: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const text = `${JSON.stringify(data, null, 2)}\n`;
  const file = join(resultsDir, `${name}-${stamp}.json`);
  writeFileSync(file, text);
  writeFileSync(join(resultsDir, `${name}-latest.json`), text);
  return file;
}

export function fmtRate(value: number, unit: string): string {
  if (value >= 1e9) return `${(value / 1e9).toFixed(2)} G${unit}`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M${unit}`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(2)} k${unit}`;
  return `${value.toFixed(2)} ${unit}`;
}
