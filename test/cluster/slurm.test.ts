/**
 * The Slurm executor against a real one-node Slurm cluster (scripts/slurm-up.sh starts it;
 * in CI, or as root, a cluster that cannot start fails these tests instead of skipping them).
 * Every job is real: sbatch job arrays, afterok chains, scancel, scontrol requeue.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ledger } from '../../src/cluster/ledger.js';
import type { StageReport } from '../../src/cluster/status.js';
import { tempDir } from '../pipeline/helpers.js';
import { writeKillCorpus } from '../pipeline/kill-corpus.js';
import { cli, outputs, queueState, root, slurm, slurmUp, until } from './helpers.js';
import { assignUnits, planUnits } from '../../src/exec/units.js';
import { resolveInputs } from '../../src/io/index.js';

const cluster = slurmUp();
const temp = tempDir('tokenmix-slurm-');
afterAll(() => temp.cleanup());

const CORPUS = ['web.jsonl.zst', 'code.parquet', 'math.jsonl.gz', 'web-extra.jsonl'];
const corpus = join(temp.dir, 'corpus');
const config = join(corpus, 'curate.json');
const out = (name: string) => join(temp.dir, name);

const ledger = (dir: string) => JSON.parse(readFileSync(join(dir, '.tokenmix', 'slurm', 'jobs.json'), 'utf8')) as Ledger;
async function status(dir: string): Promise<StageReport[]> {
  const result = await cli(['status', dir, '--json']);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { stages: StageReport[] }).stages;
}
const idle = (stages: StageReport[]) => stages.every((s) => s.counts.running + s.counts.pending === 0);

describe.skipIf(!cluster.ok)('Slurm executor, real jobs', () => {
  let curateReference: Record<string, string>;
  beforeAll(async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(corpus);
    for (const name of [...CORPUS, 'curate.json']) copyFileSync(join(root, 'fixtures', 'corpus', name), join(corpus, name));
    const local = await cli(['curate', '--config', config, '--out', out('curate-local'), '--backend', 'cpu']);
    expect(local.code, local.stderr).toBe(0);
    curateReference = outputs(out('curate-local'));
  });

  it('curate as a 4-task map array plus a reduce: outputs byte-identical to a local run', async () => {
    const dir = out('curate-slurm');
    const run = await cli(['curate', '--config', config, '--out', dir, '--backend', 'cpu', '--executor', 'slurm', '--tasks', '4', '--wait']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/submitted map job \d+ \(array 0-3\)/);
    expect(run.stderr).toMatch(/map 4 tasks: 4 done · reduce 1 task: 1 done/);
    expect(run.stdout).toContain(`run complete: manifest ${join(dir, 'manifest.json')}`);
    expect(outputs(dir)).toEqual(curateReference);
    const [map, reduce] = ledger(dir).submissions;
    expect(map).toMatchObject({ stage: 'map', indices: [0, 1, 2, 3], after: [] });
    expect(reduce).toMatchObject({ stage: 'reduce', indices: [0], after: [map.job] });
    for (const i of [0, 1, 2, 3]) expect(readFileSync(join(dir, 'logs', `${map.job}_${i}.log`), 'utf8')).toContain(`map task ${i} of 4 done`);
    const text = await cli(['status', dir]);
    expect(text.stdout.split('\n').slice(1, 3)).toEqual(['map     4 tasks: 4 done', 'reduce  1 task: 1 done']);

    // The same plan again: nothing to submit. A changed config: refused, nothing submitted.
    const again = await cli(['curate', '--config', config, '--out', dir, '--backend', 'cpu', '--executor', 'slurm', '--tasks', '4']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('nothing to submit');
    const original = readFileSync(config, 'utf8');
    writeFileSync(config, original.replace('"seed": 7', '"seed": 8'));
    try {
      const changed = await cli(['curate', '--config', config, '--out', dir, '--backend', 'cpu', '--executor', 'slurm', '--tasks', '4']);
      expect(changed.code).toBe(2);
      expect(changed.stderr.trim()).toMatch(/^tokenmix: .*curate-slurm already holds a run planned with a different config \(.*plan\.json\); use a new --out directory/);
      expect(changed.stderr.trim().split('\n')).toHaveLength(1);
      const tasks = await cli(['curate', '--config', config, '--out', dir, '--backend', 'cpu', '--executor', 'slurm', '--tasks', '2']);
      expect(tasks.stderr).toContain('different config, map tasks 4 → 2');
    } finally {
      writeFileSync(config, original);
    }
    expect(ledger(dir).submissions).toHaveLength(2);
  });

  it('dedup as a 4-task map array plus a reduce: outputs byte-identical to a local run', async () => {
    const inputs = [...CORPUS.flatMap((name) => ['--input', join(corpus, name)]), '--on-error', 'quarantine'];
    const local = await cli(['dedup', ...inputs, '--out', out('dedup-local'), '--backend', 'cpu']);
    expect(local.code, local.stderr).toBe(0);
    const dir = out('dedup-slurm');
    const run = await cli(['dedup', ...inputs, '--out', dir, '--backend', 'cpu', '--executor', 'slurm', '--tasks', '4', '--throttle', '2', '--wait']);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(ledger(dir).submissions[0].script, 'utf8')).toContain('#SBATCH --array=0-3%2');
    expect(outputs(dir)).toEqual(outputs(out('dedup-local')));
  });

  it('a map element cancelled mid-run: the reduce does not hang, status names the failed task and its log, retry completes identically', async () => {
    const dir = out('curate-cancel');
    // Task 2 sits in its set-up step long enough to be cancelled while running.
    const setup = '[ "$SLURM_ARRAY_TASK_ID" != 2 ] || sleep 120';
    const run = await cli(['curate', '--config', config, '--out', dir, '--backend', 'cpu', '--executor', 'slurm', '--tasks', '4', '--task-setup', setup]);
    expect(run.code, run.stderr).toBe(0);
    const [map, reduce] = ledger(dir).submissions;
    await until('map task 2 running', () => queueState(`${map.job}_2`) === 'RUNNING');
    slurm('scancel', [`${map.job}_2`]);
    const stages = await until('the run to stop', async () => {
      const s = await status(dir);
      return idle(s) ? s : null;
    }, 30_000, 500);
    expect(stages[0].counts).toMatchObject({ done: 3, failed: 1 });
    expect(stages[0].tasks[2]).toMatchObject({ state: 'failed', job: `${map.job}_2`, detail: 'CANCELLED', log: join(dir, 'logs', `${map.job}_2.log`) });
    expect(stages[1].tasks[0]).toMatchObject({ state: 'missing', job: `${reduce.job}_0` });
    const text = (await cli(['status', dir])).stdout;
    expect(text).toContain('map     4 tasks: 3 done, 1 failed');
    expect(text).toContain(`  task 2: failed job ${map.job}_2 (CANCELLED); log ${join(dir, 'logs', `${map.job}_2.log`)}`);
    expect(text).toContain('reduce  1 task: 1 missing');
    expect(text).toContain(`to resubmit the failed and missing tasks: tokenmix retry ${dir}`);
    expect(existsSync(join(dir, 'manifest.json'))).toBe(false);

    const retry = await cli(['retry', dir, '--wait', '--task-setup', ':']);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toContain('resubmitted map tasks [2], reduce [0]');
    const [, , map2, reduce2] = ledger(dir).submissions;
    expect(map2).toMatchObject({ stage: 'map', indices: [2] });
    expect(reduce2).toMatchObject({ stage: 'reduce', after: [map2.job] });
    expect(outputs(dir)).toEqual(curateReference);
    const nothing = await cli(['retry', dir]);
    expect(nothing.stdout).toContain('nothing to retry: map 4 tasks: 4 done; reduce 1 task: 1 done');
  });

  it('a map task requeued while it runs (one of its shards done, the other in progress): identical outputs', async () => {
    const kill = join(temp.dir, 'kill');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(kill);
    // Shards big enough (~7 MB) that task 1 is still inside its second unit when it is requeued
    // (Slurm takes a few hundred milliseconds to act on the requeue).
    const killConfig = await writeKillCorpus(kill, 40000);
    const local = await cli(['curate', '--config', killConfig, '--out', out('kill-local'), '--backend', 'cpu', '--no-report']);
    expect(local.code, local.stderr).toBe(0);
    const dir = out('kill-slurm');
    // 8 shards over 4 tasks, balanced by bytes: task 1 runs two of them, one after the other
    // (one worker). Which two is the plan's choice (src/exec/units.ts), read here from it.
    const inputs = await resolveInputs([{ path: 'part-*' }], kill);
    const owners = assignUnits(await planUnits(inputs), 4);
    const [first, second] = [...owners.keys()].filter((u) => owners[u] === 1);
    expect(inputs).toHaveLength(8);
    const run = await cli(['curate', '--config', killConfig, '--out', dir, '--backend', 'cpu', '--no-report', '--executor', 'slurm', '--tasks', '4', '--workers', '1']);
    expect(run.code, run.stderr).toBe(0);
    const [map] = ledger(dir).submissions;
    const element = `${map.job}_1`;
    const shardDone = (shard: number) => existsSync(join(dir, '.tokenmix', 'shards', `0000${shard}.done.json`));
    await until('one of task 1\'s shards done, the other in progress', () => shardDone(first) !== shardDone(second), 60_000, 20);
    expect(existsSync(join(dir, '.tokenmix', 'tasks', 'map-00001.done.json'))).toBe(false);
    slurm('scontrol', ['requeue', element]);
    // Slurm holds a requeued job for a while; let it start again at once.
    await until('the requeued task to be pending', () => queueState(element) === 'PENDING');
    slurm('scontrol', ['update', `JobId=${element}`, 'StartTime=now']);
    const stages = await until('the run to end', async () => {
      const s = await status(dir);
      return idle(s) ? s : null;
    }, 90_000, 500);
    expect(stages.map((s) => s.counts.done)).toEqual([4, 1]);
    const log = readFileSync(join(dir, 'logs', `${element}.log`), 'utf8');
    expect(log).toContain('restart 1');
    // The rerun reused the shard finished before the requeue and redid the other.
    expect(log).toContain('1 of 2 work units already complete, skipping them');
    expect(log).toContain('map task 1 of 4 done');
    expect(outputs(dir)).toEqual(outputs(out('kill-local')));
  });
});
