/**
 * A planned run driven without Slurm, as a shell loop or a Kubernetes Indexed Job would drive
 * it: run-task for each map task in any order, then the reduce. Outputs must equal a local
 * run's; the plan, not the environment, fixes the task count; a changed plan or input is refused.
 */
import { cpSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinPlan } from '../../src/cluster/launch.js';
import { makePlan, type PlannedRequest } from '../../src/cluster/plan.js';
import { runTask } from '../../src/cluster/run-task.js';
import { NO_SCHEDULER, runStatus } from '../../src/cluster/status.js';
import { mix } from '../../src/pipeline/mix.js';
import { CPU, runComplete, snapshot, tempDir } from '../pipeline/helpers.js';
import { root } from './helpers.js';

const temp = tempDir('tokenmix-run-task-');
afterAll(() => temp.cleanup());
const corpus = join(temp.dir, 'corpus');
const config = join(corpus, 'curate.json');
const quiet = () => {};
const run = { backend: 'cpu', adapter: null, report: false, workers: 2, memory_mb: null };
const curateRequest = (outDir: string): PlannedRequest => ({ command: 'curate', configPath: config, outDir });

let reference: Record<string, string>;
beforeAll(async () => {
  cpSync(join(root, 'fixtures', 'corpus'), corpus, { recursive: true });
  await runComplete(config, join(temp.dir, 'local'));
  reference = snapshot(join(temp.dir, 'local'));
});

describe('run-task without a scheduler', () => {
  it('map tasks in any order, then the reduce: the local run\'s outputs', async () => {
    const dir = join(temp.dir, 'loop');
    const plan = await pinPlan(dir, await makePlan(curateRequest(dir), 4, run));
    expect(plan.tasks).toEqual({ map: 4, reduce: 1 });
    expect(plan.inputs.map((i) => i.path.slice(corpus.length + 1))).toEqual(['web.jsonl.zst', 'code.parquet', 'math.jsonl.gz', 'web-extra.jsonl']);
    await expect(runTask(dir, 'reduce', 0, CPU, quiet)).rejects.toThrow(/the reduce needs every map task done; map task\(s\) 0, 1, 2, 3 are not/);
    await expect(runTask(dir, 'map', 4, CPU, quiet)).rejects.toThrow(/--task must be an integer in 0\.\.3 for stage map/);

    // A task killed mid-write left an intermediate without a completion marker: never read.
    mkdirSync(join(dir, '.tokenmix', 'shards'), { recursive: true });
    writeFileSync(join(dir, '.tokenmix', 'shards', '00002.records.jsonl'), '{"row": 1, "id": "half-writ');
    writeFileSync(join(dir, '.tokenmix', 'shards', '00002.records.jsonl.partial'), 'garbage');

    for (const task of [3, 1, 0]) expect((await runTask(dir, 'map', task, CPU, quiet)).manifestPath).toBeNull();
    const midway = await runStatus(dir, plan, null, NO_SCHEDULER);
    expect(midway.map((s) => s.counts)).toEqual([
      { done: 3, running: 0, pending: 0, failed: 0, missing: 1 },
      { done: 0, running: 0, pending: 0, failed: 0, missing: 1 },
    ]);
    expect(midway[0].tasks[2]).toMatchObject({ state: 'missing', detail: null, log: null });
    await expect(runTask(dir, 'reduce', 0, CPU, quiet)).rejects.toThrow(/map task\(s\) 2 are not/);
    await runTask(dir, 'map', 2, CPU, quiet);
    // An earlier reduce killed while writing its outputs left temporaries behind.
    mkdirSync(join(dir, 'keep'), { recursive: true });
    writeFileSync(join(dir, 'keep', 'web.jsonl.zst.jsonl.4242.partial'), 'half');
    writeFileSync(join(dir, 'manifest.json.partial'), '{');
    expect((await runTask(dir, 'reduce', 0, CPU, quiet)).manifestPath).toBe(join(dir, 'manifest.json'));
    expect(snapshot(dir)).toEqual(reference);
    expect(await runTask(dir, 'map', 1, CPU, quiet)).toEqual({ manifestPath: null, alreadyDone: true });
    expect((await runStatus(dir, plan, null, NO_SCHEDULER)).every((s) => s.counts.done === s.tasks.length)).toBe(true);
  });

  it('refuses a different plan for the same directory, and a task whose inputs changed', async () => {
    const dir = join(temp.dir, 'refuse');
    await pinPlan(dir, await makePlan(curateRequest(dir), 2, run));
    await expect(pinPlan(dir, await makePlan(curateRequest(dir), 3, run))).rejects.toThrow(/already holds a run planned with a different map tasks 2 → 3 .*use a new --out directory/);
    // The same plan with another backend is the same run.
    await expect(pinPlan(dir, await makePlan(curateRequest(dir), 2, { ...run, backend: 'auto' }))).resolves.toMatchObject({ run: { backend: 'auto' } });
    const other = join(temp.dir, 'other-version');
    const planned = await makePlan(curateRequest(other), 2, run);
    await pinPlan(other, { ...planned, tool: { name: 'tokenmix', version: '0.0.1-older' } });
    await expect(runTask(other, 'map', 0, CPU, quiet)).rejects.toThrow(/was planned with 0\.0\.1-older: run every task with the same version/);
    const input = join(corpus, 'web-extra.jsonl');
    utimesSync(input, new Date(), new Date(Date.now() + 5000));
    await expect(runTask(dir, 'map', 0, CPU, quiet)).rejects.toThrow(/input .*web-extra\.jsonl changed since the run was planned/);
  });
});

describe('run-task for mix', () => {
  it('two map tasks and the reduce: the local mix run\'s outputs', async () => {
    const mixConfig = join(corpus, 'mix.json');
    const local = join(temp.dir, 'mix-local');
    await mix({ configPath: mixConfig, outDir: local, backend: CPU });
    const dir = join(temp.dir, 'mix-tasks');
    await pinPlan(dir, await makePlan({ command: 'mix', configPath: mixConfig, outDir: dir }, 2, run));
    for (const task of [1, 0]) await runTask(dir, 'map', task, CPU, quiet);
    await runTask(dir, 'reduce', 0, CPU, quiet);
    expect(snapshot(dir)).toEqual(snapshot(local));
  });
});
