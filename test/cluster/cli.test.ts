/**
 * The cluster commands' usage errors (one `tokenmix:` line, exit 2) and the plan-only
 * executor's instructions; nothing here needs Slurm.
 */
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { tempDir } from '../pipeline/helpers.js';
import { root } from './helpers.js';

const temp = tempDir('tokenmix-cluster-cli-');
afterAll(() => temp.cleanup());
cpSync(join(root, 'fixtures', 'corpus'), join(temp.dir, 'corpus'), { recursive: true });
const config = join(temp.dir, 'corpus', 'curate.json');

async function run(args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIo = { out: (t) => stdout.push(t), err: (t) => stderr.push(t), interactive: false };
  const code = await main(args, io);
  return { code, out: stdout.join('\n'), err: stderr.join('\n') };
}

describe('cluster command line', () => {
  const usage = [
    { name: 'slurm flag without the slurm executor', args: ['curate', '--config', config, '--out', 'x', '--wait'], message: 'tokenmix: --wait needs --executor slurm' },
    { name: '--tasks on a local run', args: ['curate', '--config', config, '--out', 'x', '--tasks', '3'], message: 'tokenmix: --tasks needs --executor slurm or plan' },
    { name: 'unknown executor', args: ['curate', '--config', config, '--out', 'x', '--executor', 'ray'], message: 'tokenmix: --executor must be local, slurm or plan (got "ray")' },
    {
      name: 'ranks with a planned run',
      args: ['dedup', '--input', 'a.jsonl', '--out', 'x', '--executor', 'plan', '--rank', '0', '--world-size', '2'],
      message: 'tokenmix: --rank/--world-size cannot be combined with --executor plan: the plan numbers the tasks (see --tasks)',
    },
    { name: 'bad --tasks', args: ['curate', '--config', config, '--out', 'x', '--executor', 'plan', '--tasks', '0'], message: 'tokenmix: --tasks must be an integer >= 1 (got "0")' },
    { name: 'run-task without a stage', args: ['run-task', temp.dir, '--task', '0'], message: 'tokenmix: --stage must be map or reduce (got null)' },
    { name: 'status of a directory without a plan', args: ['status', temp.dir], message: `tokenmix: ${temp.dir} has no run plan (${join(temp.dir, '.tokenmix', 'plan.json')}); plan one with tokenmix curate|mix|dedup ... --out ${temp.dir} --executor slurm|plan` },
    { name: 'retry without a directory', args: ['retry'], message: 'tokenmix: retry needs one output directory: tokenmix retry DIR' },
  ];
  for (const c of usage) {
    it(`${c.name}: one line, exit 2`, async () => {
      const result = await run(c.args);
      expect(result).toEqual({ code: 2, out: '', err: c.message });
    });
  }

  it('--executor plan writes the plan and says how to run its tasks; run-task takes the index from JOB_COMPLETION_INDEX', async () => {
    const dir = join(temp.dir, 'planned');
    const planned = await run(['curate', '--config', config, '--out', dir, '--executor', 'plan', '--tasks', '3', '--backend', 'cpu']);
    expect(planned.code, planned.err).toBe(0);
    expect(planned.out.split('\n')).toEqual([
      `planned 3 map task(s) and 1 reduce in ${join(dir, '.tokenmix', 'plan.json')}; run them with any engine:`,
      `  tokenmix run-task ${dir} --stage map --task I      for I in 0..2, in any order, in parallel`,
      `  tokenmix run-task ${dir} --stage reduce --task 0   once every map task is done (tokenmix status ${dir})`,
    ]);
    expect((await run(['run-task', dir, '--stage', 'map', '--task', '3'])).err).toBe('tokenmix: --task must be an integer in 0..2 for stage map of this run (got 3)');
    const saved = process.env.JOB_COMPLETION_INDEX;
    process.env.JOB_COMPLETION_INDEX = '1';
    try {
      const task = await run(['run-task', dir, '--stage', 'map']);
      expect(task.code, task.err).toBe(0);
      expect(task.err).toContain('tokenmix: map task 1 of 3 done');
    } finally {
      if (saved === undefined) delete process.env.JOB_COMPLETION_INDEX;
      else process.env.JOB_COMPLETION_INDEX = saved;
    }
    expect(existsSync(join(dir, '.tokenmix', 'tasks', 'map-00001.done.json'))).toBe(true);
    const status = await run(['status', dir]);
    expect(status.out.split('\n')).toEqual([
      `tokenmix curate run in ${dir}`,
      'map     3 tasks: 1 done, 2 missing',
      '  task 0: missing',
      '  task 2: missing',
      'reduce  1 task: 1 missing',
      '  task 0: missing',
      `to resubmit the failed and missing tasks: tokenmix retry ${dir}`,
    ]);
  });

  it('--dry-run prints the scripts and sbatch commands and writes nothing', async () => {
    const dir = join(temp.dir, 'dry');
    const dry = await run(['curate', '--config', config, '--out', dir, '--executor', 'slurm', '--tasks', '4', '--partition', 'cpu', '--dry-run']);
    expect(dry.code, dry.err).toBe(0);
    const scripts = join(dir, '.tokenmix', 'slurm');
    const commands = dry.out.split('\n').filter((line) => line.startsWith('# sbatch'));
    expect(commands).toEqual([
      `# sbatch --parsable ${join(scripts, '0000-map.sh')}`,
      `# sbatch --parsable --dependency=afterok:<map-job-0> --kill-on-invalid-dep=yes ${join(scripts, '0001-reduce.sh')}`,
    ]);
    expect(dry.out).toContain('#SBATCH --array=0-3\n');
    expect(dry.out).toContain('#SBATCH --partition=cpu\n');
    expect(dry.out).toContain(`--stage reduce --task "$((0 + SLURM_ARRAY_TASK_ID))"`);
    expect(existsSync(dir)).toBe(false);
  });
});
