import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TokenmixError } from '../errors.js';
import { readLedger } from '../cluster/ledger.js';
import { requirePlan } from '../cluster/plan.js';
import { NO_SCHEDULER, runStatus, summaryLines } from '../cluster/status.js';
import { schedulerView } from '../cluster/submit.js';
import { ExitCode, type CliIo } from './io.js';
import { parse } from './options.js';

const HELP = [
  'Usage: tokenmix status DIR [--json]',
  '',
  'Where the run planned in DIR stands, per stage (map, reduce): tasks done, running, pending,',
  'failed and missing, from the tasks\' completion markers and, for a Slurm run, squeue and',
  'scontrol; each failed task with its Slurm state and log file (DIR/logs/JOB_INDEX.log).',
  'tokenmix retry DIR resubmits the failed and missing tasks.',
  '',
  'Options:',
  '  --json                  one JSON object: { stages: [{ stage, counts, tasks }] }',
].join('\n');

export async function statusCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } }, true);
  if (values.help) {
    io.out(HELP);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) throw new TokenmixError('status needs one output directory: tokenmix status DIR');
  const [outDir] = positionals;
  const plan = await requirePlan(outDir);
  const ledger = await readLedger(outDir);
  const reports = await runStatus(outDir, plan, ledger, ledger ? await schedulerView() : NO_SCHEDULER);
  if (values.json) {
    io.out(JSON.stringify({ dir: resolve(outDir), command: plan.request.command, stages: reports }, null, 2));
    return ExitCode.ok;
  }
  io.out(`tokenmix ${plan.request.command} run in ${resolve(outDir)}`);
  for (const [i, line] of summaryLines(reports).entries()) {
    io.out(line);
    for (const t of reports[i].tasks) {
      if (t.state === 'done') continue;
      const where = t.job ? ` job ${t.job}` : '';
      const log = t.state === 'failed' ? `; log ${t.log ?? '(none written)'}` : '';
      io.out(`  task ${t.task}: ${t.state}${where}${t.detail ? ` (${t.detail})` : ''}${log}`);
    }
  }
  const complete = reports.every((r) => r.counts.done === r.tasks.length);
  if (complete) io.out(`complete: ${join(resolve(outDir), 'manifest.json')}${existsSync(join(outDir, 'manifest.json')) ? '' : ' (missing!)'}`);
  else if (reports.some((r) => r.counts.failed + r.counts.missing > 0)) io.out(`to resubmit the failed and missing tasks: tokenmix retry ${outDir}`);
  return ExitCode.ok;
}
