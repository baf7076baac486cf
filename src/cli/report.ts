import { TokenmixError } from '../errors.js';
import { writeReport } from '../report/index.js';
import { ExitCode, type CliIo } from './io.js';
import { parse } from './options.js';

const HELP = [
  'Usage: tokenmix report DIR',
  '',
  'Write DIR/report.html from DIR/manifest.json (a curate, mix or dedup run; curate and mix',
  'write it themselves unless --no-report): one self-contained page, viewable offline, with',
  'the acceptance funnel in documents and tokens, score histograms with thresholds and',
  'retained-tokens curves, dedup cluster sizes (from DIR/clusters.jsonl), weights per schedule',
  'stage, eval losses, repetition pressure with the epoch cap, contamination mass (or, with',
  'contamination action drop, the documents dropped), the candidate sweep with its Pareto',
  "front, and the manifest's key numbers in tables. Identical manifests give byte-identical pages.",
].join('\n');

export async function reportCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, {}, true);
  if (values.help) {
    io.out(HELP);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) throw new TokenmixError(`report needs exactly one run directory (got ${positionals.length}); see tokenmix report --help`);
  io.out(`report: ${await writeReport(positionals[0])}`);
  return ExitCode.ok;
}
