/**
 * SPEC §7 "a killed run resumes from completed shards and produces identical outputs": the
 * real CLI is spawned on an 8-shard corpus in every input format and SIGKILLed at many
 * points (before any work, inside a shard, right after a completion marker, inside the
 * reduce phase while keep lists, the quarantine file and audit samples are written), then
 * rerun until it completes. The final outputs must be byte-identical to an uninterrupted run.
 *
 * The CLI runs from the TypeScript sources through tsx's loader in the same process
 * (test/pipeline/cli-entry.ts): never a stale dist/, and SIGKILL leaves no child behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKillCorpus } from './kill-corpus.js';
import { readManifest, runComplete, snapshot, tempDir } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = join(root, 'test', 'pipeline', 'cli-entry.ts');
const temp = tempDir('tokenmix-kill-');
/** 8 shards of this many records (+ 4 bad lines): each run takes a few seconds. */
const RECORDS_PER_SHARD = 1200;
afterAll(() => temp.cleanup());

let config: string;
let reference: Record<string, string>;
beforeAll(async () => {
  config = await writeKillCorpus(temp.dir, RECORDS_PER_SHARD);
  // The uninterrupted run of the CLI, which may write more than the library (report.html).
  const uninterrupted = await runCli(join(temp.dir, 'reference'), null);
  expect(uninterrupted.code, uninterrupted.stderr).toBe(0);
  reference = snapshot(join(temp.dir, 'reference'));
});

/** When to kill: after a delay, or as soon as a file (relative to the output dir) appears. */
type Trigger = { afterMs: number } | { file: string };

interface Outcome {
  killed: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Whether `file` exists under `out`; a `NAME.partial` also matches the per-process temporary
 * names `NAME.<host>-<pid>-<random>.partial` of shard intermediates (src/work/markers.ts).
 */
function appeared(out: string, file: string): boolean {
  const path = join(out, file);
  if (existsSync(path)) return true;
  if (!file.endsWith('.partial') || !existsSync(dirname(path))) return false;
  const stem = `${basename(path, '.partial')}.`;
  return readdirSync(dirname(path)).some((name) => name.startsWith(stem) && name.endsWith('.partial'));
}

/** Runs `tokenmix curate` and SIGKILLs it at the trigger (or lets it finish when trigger is null). */
function runCli(out: string, trigger: Trigger | null): Promise<Outcome> {
  if (trigger && 'file' in trigger && appeared(out, trigger.file)) {
    throw new Error(`trigger file ${trigger.file} exists before the run: pick one the run creates`);
  }
  const child = spawn(process.execPath, ['--import', 'tsx', entry, 'curate', '--config', config, '--out', out, '--backend', 'cpu'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  let killed = false;
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) killed = child.kill('SIGKILL');
  };
  let poll: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (trigger && 'afterMs' in trigger) timer = setTimeout(kill, trigger.afterMs);
  if (trigger && 'file' in trigger) {
    poll = setInterval(() => {
      if (appeared(out, trigger.file)) kill();
    }, 2);
  }
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ killed, code, stdout, stderr });
    });
  });
}

/** Kills a run at each trigger in turn (each rerun resumes the last), then lets one finish. */
async function killThenFinish(name: string, triggers: Trigger[]): Promise<{ out: string; interrupted: boolean[] }> {
  const out = join(temp.dir, name);
  const interrupted: boolean[] = [];
  for (const trigger of triggers) {
    const outcome = await runCli(out, trigger);
    interrupted.push(outcome.killed);
    // A run that was not killed (it finished first) must have succeeded.
    if (!outcome.killed) expect(outcome.code, outcome.stderr).toBe(0);
  }
  const final = await runCli(out, null);
  expect(final.code, final.stderr).toBe(0);
  expect(final.stdout).toContain(`curated ${8 * RECORDS_PER_SHARD + 4} records`);
  return { out, interrupted };
}

describe('kill -9 at any point, rerun: byte-identical outputs', () => {
  it('the library writes the same bytes as the CLI for every file it writes', async () => {
    await runComplete(config, join(temp.dir, 'library'));
    const library = snapshot(join(temp.dir, 'library'));
    expect(Object.keys(library).length).toBeGreaterThan(10);
    for (const [path, hash] of Object.entries(library)) expect([path, reference[path]]).toEqual([path, hash]);
  });

  it('killed at marker and output milestones, map and reduce phases', async () => {
    const { out, interrupted } = await killThenFinish('milestones', [
      { afterMs: 300 }, // while starting up: nothing written yet
      { file: '.tokenmix/shards/00002.records.jsonl.partial' }, // inside shard 2 (0 and 1 done)
      { file: '.tokenmix/shards/00005.done.json' }, // right after shard 5's marker
      { file: '.tokenmix/reduce/00000.ids' }, // reduce: ids and text hashes being grouped
      { file: '.tokenmix/output-parts/00000.keep' }, // reduce: the first unit's lists written
      { file: 'quarantine.jsonl' }, // reduce: fetching audit excerpts
    ]);
    // Every milestone run was really interrupted: each trigger leaves a second or more of work
    // before the exit, except the last (audit excerpts, ~0.1 s), which may rarely finish first.
    expect(interrupted.slice(0, 5)).toEqual([true, true, true, true, true]);
    expect(snapshot(out)).toEqual(reference);
    expect(readManifest(out).totals.quarantined).toBe(4);
  });

  it('killed at fixed delays, then rerun', async () => {
    const { out } = await killThenFinish('delays', [{ afterMs: 1800 }, { afterMs: 2600 }]);
    expect(snapshot(out)).toEqual(reference);
  });

  it('the spawned CLI reports resumption and leaves no partial files', async () => {
    const out = join(temp.dir, 'resume-message');
    expect((await runCli(out, { file: '.tokenmix/shards/00003.done.json' })).killed).toBe(true);
    const rerun = await runCli(out, null);
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toMatch(/tokenmix: [4-8] of 8 work units already complete, skipping them/);
    const partial = readdirSync(join(out, '.tokenmix', 'shards')).filter((f) => f.endsWith('.partial'));
    expect(partial).toEqual([]);
    expect(snapshot(out)).toEqual(reference);
  });
});
