import { TokenmixError } from '../errors.js';
import { readLedger } from '../cluster/ledger.js';
import { requirePlan } from '../cluster/plan.js';
import { submitMissing } from '../cluster/submit.js';
import { summaryLines } from '../cluster/status.js';
import { ExitCode, type CliIo } from './io.js';
import { parse, SLURM_HELP, SLURM_OPTIONS } from './options.js';
import { currentLauncher, follow, slurmResources } from './submit.js';

const HELP = [
  'Usage: tokenmix retry DIR [--wait] [--dry-run] [resources]',
  '',
  'Resubmit to Slurm the tasks of the run planned in DIR that failed or never ran (tokenmix',
  'status DIR lists them), leaving done, running and pending ones alone, and a reduce that',
  'waits for them. Resources default to those the run was submitted with.',
  '',
  'Options:',
  '  --wait                  follow the jobs, exit 0 only if the run completed',
  '  --dry-run               print the scripts and sbatch commands; submit nothing',
  ...SLURM_HELP,
].join('\n');

export async function retryCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, { wait: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, ...SLURM_OPTIONS }, true);
  if (values.help) {
    io.out(HELP);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) throw new TokenmixError('retry needs one output directory: tokenmix retry DIR');
  const [outDir] = positionals;
  const plan = await requirePlan(outDir);
  const ledger = await readLedger(outDir);
  const result = await submitMissing(outDir, plan, {
    resources: slurmResources(values, ledger?.resources),
    launcher: ledger?.launcher ?? currentLauncher(),
    workingDir: ledger?.working_dir ?? process.cwd(),
    dryRun: Boolean(values['dry-run']),
    log: io.err,
    out: io.out,
  });
  if (values['dry-run']) return ExitCode.ok;
  const tasks = (stage: string) => result.submitted.filter((s) => s.stage === stage).flatMap((s) => s.indices.map((i) => i + s.offset));
  if (result.submitted.length === 0) io.out(`nothing to retry: ${summaryLines(result.reports).map((l) => l.replace(/\s+/, ' ')).join('; ')}`);
  else io.out(`resubmitted map tasks [${tasks('map').join(', ')}], reduce [${tasks('reduce').join(', ')}]`);
  return values.wait ? follow(outDir, plan, io) : ExitCode.ok;
}
