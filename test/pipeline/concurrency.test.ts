/**
 * Issue 11 item 4: N processes of the real CLI started together on one output directory —
 * ranks of a split run, duplicates of a rank (what a cluster retry does) and whole runs — for
 * curate, mix and dedup, repeated. Every process exits 0 with one-line messages (no stack
 * trace), and the outputs are byte-identical to a single uninterrupted run: exactly one
 * process reduces at a time (src/work/lease.ts), the others wait and find the run done, or
 * stop after their own shards.
 */
import { spawn, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKillCorpus } from './kill-corpus.js';
import { snapshot, tempDir } from './helpers.js';
import { snapshot as dedupSnapshot } from '../dedup/helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = join(root, 'test', 'pipeline', 'cli-entry.ts');
const temp = tempDir('tokenmix-concurrency-');
afterAll(() => temp.cleanup());
const REPEATS = 2;

let config: string;
beforeAll(async () => {
  config = await writeKillCorpus(temp.dir, 300);
});

interface Outcome {
  args: string[];
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<Outcome> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args, '--no-report'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ args, code, stdout, stderr }));
  });
}

/** Ranks 0 and 1 of 2, a duplicate of each, and two whole runs, all on `out` at once. */
function crowd(base: string[], out: string): string[][] {
  const split = (rank: number) => [...base, '--out', out, '--rank', String(rank), '--world-size', '2'];
  return [split(0), split(1), [...base, '--out', out], split(1), split(0), [...base, '--out', out]];
}

/** Every process succeeded, and said only one-line things: no stack trace, no raw errno error. */
function expectClean(outcomes: Outcome[]): void {
  for (const o of outcomes) {
    const where = `${o.args.join(' ')}\n${o.stderr}`;
    expect(o.code, where).toBe(0);
    expect(o.stderr, where).not.toMatch(/^\s+at /m);
    expect(o.stderr, where).not.toMatch(/ENOENT|ENOTEMPTY|EEXIST|Error:/);
    for (const line of o.stderr.split('\n').filter((l) => l.trim() && !/^Warning:|maxDynamic|BackendVk/.test(l))) expect(line, where).toMatch(/^tokenmix: /);
  }
}

describe('concurrent runs on one output directory', () => {
  it(`curate: ${REPEATS} rounds of 6 processes (ranks, duplicates, whole runs) equal a single run`, async () => {
    const base = ['curate', '--config', config, '--backend', 'cpu'];
    const single = join(temp.dir, 'curate-single');
    const alone = await runCli([...base, '--out', single]);
    expect(alone.code, alone.stderr).toBe(0);
    const reference = snapshot(single);
    for (let round = 0; round < REPEATS; round++) {
      const out = join(temp.dir, `curate-crowd-${round}`);
      const outcomes = await Promise.all(crowd(base, out).map(runCli));
      expectClean(outcomes);
      expect(outcomes.some((o) => /^curated \d+ records/m.test(o.stdout))).toBe(true);
      expect(snapshot(out)).toEqual(reference);
      expect(existsSync(join(out, '.tokenmix', 'reduce.lease'))).toBe(false);
      expect(readdirSync(join(out, '.tokenmix', 'shards')).filter((f) => f.endsWith('.partial'))).toEqual([]);
    }
  });

  it('a torn, empty or orphaned reduce lease never blocks a later run', async () => {
    const base = ['curate', '--config', config, '--backend', 'cpu'];
    const reference = snapshot(join(temp.dir, 'curate-single'));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const leases = ['', '{"token":"0123', JSON.stringify({ token: 'gone', host: hostname(), pid: Number(dead) })];
    for (const [k, lease] of leases.entries()) {
      const out = join(temp.dir, `torn-lease-${k}`);
      mkdirSync(join(out, '.tokenmix'), { recursive: true });
      writeFileSync(join(out, '.tokenmix', 'reduce.lease'), lease);
      const started = Date.now();
      const outcome = await runCli([...base, '--out', out]);
      expectClean([outcome]);
      expect(Date.now() - started).toBeLessThan(30_000); // not the lease's 30 s expiry
      expect(snapshot(out)).toEqual(reference);
    }
  });

  it('mix: 6 processes at once equal a single run (the mixture runs under the same lease; manifest last)', async () => {
    const base = ['mix', '--config', join(root, 'fixtures', 'corpus', 'mix.json'), '--backend', 'cpu'];
    const single = join(temp.dir, 'mix-single');
    const alone = await runCli([...base, '--out', single]);
    expect(alone.code, alone.stderr).toBe(0);
    const reference = snapshot(single);
    const out = join(temp.dir, 'mix-crowd');
    const outcomes = await Promise.all(crowd(base, out).map(runCli));
    expectClean(outcomes);
    expect(snapshot(out)).toEqual(reference);
  });

  it(`dedup: ${REPEATS} rounds of 6 processes equal a single run; the work directory deleted by the finisher crashes no one`, async () => {
    const base = ['dedup', '--input', join(temp.dir, 'part-*.jsonl'), '--input', join(temp.dir, 'part-*.parquet'), '--on-error', 'quarantine', '--backend', 'cpu'];
    const single = join(temp.dir, 'dedup-single');
    const alone = await runCli([...base, '--out', single]);
    expect(alone.code, alone.stderr).toBe(0);
    const reference = dedupSnapshot(single);
    for (let round = 0; round < REPEATS; round++) {
      const out = join(temp.dir, `dedup-crowd-${round}`);
      const outcomes = await Promise.all(crowd(base, out).map(runCli));
      expectClean(outcomes);
      expect(dedupSnapshot(out)).toEqual(reference);
    }
  });
});
