/**
 * SPEC §7 for the materialized plan: the real CLI (`tokenmix mix`, from the TypeScript sources
 * through test/pipeline/cli-entry.ts) is SIGKILLed while it writes Megatron shards, then rerun:
 * the rerun keeps the finished shards (their inode and mtime do not change), resumes the plan
 * from the last one's checkpoint, and the outputs are byte-identical to an uninterrupted run.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKillCorpus } from './kill-corpus.js';
import { snapshot, tempDir } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = join(root, 'test', 'pipeline', 'cli-entry.ts');
const temp = tempDir('tokenmix-materialize-kill-');
afterAll(() => temp.cleanup());

let config: string;
beforeAll(async () => {
  const curate = await writeKillCorpus(temp.dir, 600);
  writeFileSync(join(temp.dir, 'eval.txt'), 'the data of the corpus and the weight of each source\n');
  const raw = JSON.parse(readFileSync(curate, 'utf8'));
  config = join(temp.dir, 'mix.json');
  writeFileSync(config, JSON.stringify({ ...raw, evals: { general: 'eval.txt' }, budget_tokens: 1_500_000, materialize: { format: 'megatron', docs_per_shard: 1000 } }));
});

function runMix(out: string, killAtFile: string | null): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, 'mix', '--config', config, '--out', out, '--backend', 'cpu', '--no-report'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  let killed = false;
  const poll = killAtFile
    ? setInterval(() => {
        if (existsSync(join(out, killAtFile)) && child.exitCode === null && child.signalCode === null) killed = child.kill('SIGKILL');
      }, 2)
    : undefined;
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ killed, code, stderr });
    });
  });
}

describe('tokenmix mix killed while materializing', () => {
  it('resumes from the finished shards without rewriting them; identical bytes', async () => {
    const reference = join(temp.dir, 'reference');
    const uninterrupted = await runMix(reference, null);
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);
    const shards = readdirSync(join(reference, 'mixed')).filter((f) => f.endsWith('.bin')).length;
    expect(shards).toBeGreaterThan(8);

    const out = join(temp.dir, 'killed');
    const killed = await runMix(out, '.tokenmix/materialize/part-00003.done.json');
    expect(killed.killed, `the run finished before the kill: ${killed.stderr}`).toBe(true);
    const finished = readdirSync(join(out, '.tokenmix', 'materialize')).filter((f) => f.endsWith('.done.json')).length;
    expect(finished).toBeLessThan(shards);
    const kept = Array.from({ length: 4 }, (_, k) => join(out, 'mixed', `part-0000${k}.bin`));
    const stamps = () => kept.map((f) => [statSync(f).ino, statSync(f).mtimeMs]);
    const before = stamps();

    const rerun = await runMix(out, null);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(new RegExp(`materialize: ${finished} finished shard\\(s\\) kept, resuming the plan at entry ${finished * 1000}`));
    expect(rerun.stderr).not.toMatch(/building per-source token histograms/);
    expect(stamps()).toEqual(before);
    expect(snapshot(out)).toEqual(snapshot(reference));
  });
});
