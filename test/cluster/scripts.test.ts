/**
 * The pure parts of the Slurm executor: array splitting below MaxArraySize, --array specs,
 * the batch scripts, the afterok chain, and the default task count.
 */
import { describe, expect, it } from 'vitest';
import { arraySpec, NO_RESOURCES, sbatchArgs, splitArrays, taskScript } from '../../src/cluster/scripts.js';
import { defaultTaskCount, TARGET_TASK_BYTES } from '../../src/cluster/plan.js';

describe('splitArrays', () => {
  const cases = [
    { name: 'fits in one array', tasks: [0, 1, 2, 3], max: 1001, expected: [{ offset: 0, indices: [0, 1, 2, 3] }] },
    {
      name: 'seven tasks with MaxArraySize 3',
      tasks: [0, 1, 2, 3, 4, 5, 6],
      max: 3,
      expected: [
        { offset: 0, indices: [0, 1, 2] },
        { offset: 3, indices: [0, 1, 2] },
        { offset: 6, indices: [0] },
      ],
    },
    { name: 'a retry of scattered tasks keeps each in its chunk', tasks: [7, 2, 1001], max: 1001, expected: [{ offset: 0, indices: [2, 7] }, { offset: 1001, indices: [0] }] },
    { name: 'the last index below the limit', tasks: [1000], max: 1001, expected: [{ offset: 0, indices: [1000] }] },
  ];
  for (const c of cases) it(c.name, () => expect(splitArrays(c.tasks, c.max)).toEqual(c.expected));
});

describe('arraySpec', () => {
  const cases = [
    { indices: [0], expected: '0' },
    { indices: [0, 1, 2, 3], expected: '0-3' },
    { indices: [0, 2, 3, 4, 7, 9, 10], expected: '0,2-4,7,9-10' },
  ];
  for (const c of cases) it(c.expected, () => expect(arraySpec(c.indices)).toBe(c.expected));
});

describe('taskScript', () => {
  const script = taskScript({
    stage: 'map',
    chunk: { offset: 1001, indices: [0, 1, 5] },
    outDir: '/data/run',
    launcher: ['/usr/bin/node', '/opt/tokenmix/bin/tokenmix.js'],
    workingDir: '/home/me',
    command: 'dedup',
    resources: { ...NO_RESOURCES, partition: 'gpu', time: '01:00:00', cpusPerTask: 8, mem: '32G', gres: 'gpu:1', throttle: 2, setup: 'module load nodejs' },
  });
  const lines = script.split('\n');

  it('asks for the resources, an array with throttle, per-element logs and requeue', () => {
    expect(lines.filter((l) => l.startsWith('#SBATCH'))).toEqual([
      '#SBATCH --job-name=tokenmix-dedup-map',
      '#SBATCH --array=0-1,5%2',
      '#SBATCH --output=/data/run/logs/%A_%a.log',
      '#SBATCH --open-mode=append',
      '#SBATCH --requeue',
      '#SBATCH --chdir=/home/me',
      '#SBATCH --partition=gpu',
      '#SBATCH --time=01:00:00',
      '#SBATCH --cpus-per-task=8',
      '#SBATCH --mem=32G',
      '#SBATCH --gres=gpu:1',
    ]);
  });

  it('runs the set-up line, then run-task with the offset task index', () => {
    expect(lines[0]).toBe('#!/bin/bash');
    expect(lines).toContain('module load nodejs');
    expect(lines).toContain('if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then export TOKENMIX_WORKERS="${TOKENMIX_WORKERS:-$SLURM_CPUS_PER_TASK}"; fi');
    expect(lines.at(-2)).toBe('exec /usr/bin/node /opt/tokenmix/bin/tokenmix.js run-task /data/run --stage map --task "$((1001 + SLURM_ARRAY_TASK_ID))"');
    expect(lines[1]).toBe('# tokenmix dedup: map task(s) 1001-1002,1006 of /data/run');
  });

  it('gives the reduce its own resources, the rest as the map tasks', () => {
    const reduce = taskScript({
      stage: 'reduce', chunk: { offset: 0, indices: [0] }, outDir: '/r', launcher: ['node', 'x.js'], workingDir: '/w', command: 'curate',
      resources: { ...NO_RESOURCES, partition: 'cpu', time: '1:00:00', mem: '4G', cpusPerTask: 2, reduce: { time: null, cpusPerTask: 16, mem: '200G', gres: null } },
    });
    expect(reduce.split('\n').filter((l) => /--(partition|time|cpus|mem|gres)/.test(l))).toEqual([
      '#SBATCH --partition=cpu',
      '#SBATCH --time=1:00:00',
      '#SBATCH --cpus-per-task=16',
      '#SBATCH --mem=200G',
    ]);
  });

  it('quotes words the shell would split', () => {
    const quoted = taskScript({ stage: 'reduce', chunk: { offset: 0, indices: [0] }, outDir: "/data/it's here", launcher: ['node', 'x.js'], workingDir: '/w', command: 'curate', resources: NO_RESOURCES });
    expect(quoted).toContain(`exec node x.js run-task '/data/it'\\''s here' --stage reduce`);
  });
});

describe('sbatchArgs', () => {
  it('chains with afterok and kills a dependent whose dependency can never be met', () => {
    expect(sbatchArgs(['12', '13_4'], { ...NO_RESOURCES, extraArgs: ['--account=proj'] })).toEqual([
      '--dependency=afterok:12:13_4',
      '--kill-on-invalid-dep=yes',
      '--account=proj',
    ]);
  });
  it('a first stage has no dependency', () => expect(sbatchArgs([], NO_RESOURCES)).toEqual([]));
});

describe('defaultTaskCount', () => {
  const input = (bytes: number) => ({ path: 'x', bytes, mtime_ms: 0 });
  it('one task per TARGET_TASK_BYTES of input', () => {
    expect(defaultTaskCount(Array.from({ length: 10 }, () => input(TARGET_TASK_BYTES / 2)))).toBe(5);
  });
  it('at least one, at most one per input file', () => {
    expect(defaultTaskCount([input(10)])).toBe(1);
    expect(defaultTaskCount([input(10 * TARGET_TASK_BYTES), input(1)])).toBe(2);
  });
});
