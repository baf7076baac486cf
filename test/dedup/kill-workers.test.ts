/**
 * Issue 9 "byte-identical after kill -9 and resume" for dedup's reduce on worker threads: the
 * real CLI (from the sources, test/pipeline/cli-entry.ts) runs with --workers 2 on three inputs
 * (three work units), and is SIGKILLed while grouping's range tasks write their
 * markers and while the outputs' unit tasks write their parts; reruns resume and the final
 * outputs equal an uninterrupted one-worker run's, byte for byte.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusJsonl, generateNearPairs } from '../../fixtures/dedup/near-pairs.js';
import { snapshot, tempDir } from './helpers.js';
import { rmSync } from 'node:fs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = join(root, 'test', 'pipeline', 'cli-entry.ts');
const dir = tempDir('kill-workers');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const inputs: string[] = [];
let reference: Record<string, string>;

/** Runs `tokenmix dedup`, SIGKILLed as soon as `file` (under the output's work directory) exists. */
function run(out: string, workers: number, file: string | null): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  const args = ['--import', 'tsx', entry, 'dedup', ...inputs.flatMap((p) => ['--input', p]), '--out', out, '--backend', 'cpu', '--workers', String(workers), '--no-report'];
  // Grouping on the workers even for this small corpus (src/dedup/run.ts parallelGroupingRecords).
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TOKENMIX_PARALLEL_GROUPING_RECORDS: '0' } });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  let killed = false;
  const poll = file === null ? undefined : setInterval(() => {
    if (existsSync(join(out, '.tokenmix-dedup', file)) && child.exitCode === null && child.signalCode === null) killed = child.kill('SIGKILL');
  }, 1);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ killed, code, stderr });
    });
  });
}

beforeAll(async () => {
  const planted = generateNearPairs({ seed: 9, templates: 4, familiesPerTemplate: 8 });
  const third = Math.ceil(planted.docs.length / 3);
  for (let i = 0; i < 3; i++) {
    const path = join(dir, `part-${i}.jsonl`);
    writeFileSync(path, corpusJsonl(planted.docs.slice(i * third, (i + 1) * third)));
    inputs.push(path);
  }
  const done = await run(join(dir, 'reference'), 1, null);
  expect(done.code, done.stderr).toBe(0);
  reference = snapshot(join(dir, 'reference'));
  expect(Object.keys(reference).length).toBeGreaterThan(6);
}, 120_000);

describe('dedup with 2 workers, kill -9 inside grouping and inside the outputs, rerun', () => {
  it('resumes to the bytes of an uninterrupted one-worker run', async () => {
    const out = join(dir, 'killed');
    const interrupted: boolean[] = [];
    for (const file of ['ranges/00000.done.json', 'cluster-parts/00000.keep', 'cluster-parts/00002.clusters']) {
      const outcome = await run(out, 2, file);
      interrupted.push(outcome.killed);
      if (!outcome.killed) expect(outcome.code, outcome.stderr).toBe(0);
    }
    const final = await run(out, 2, null);
    expect(final.code, final.stderr).toBe(0);
    // At least the first trigger (a range's marker, long before the outputs) really interrupted a run.
    expect(interrupted[0]).toBe(true);
    expect(snapshot(out)).toEqual(reference);
  }, 180_000);
});
