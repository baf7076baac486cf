import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
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
  const dir = positionals[0];
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new TokenmixError(`report needs a run directory (the --out of curate, mix or dedup); ${dir} is a file`);
  }
  if (!existsSync(join(dir, 'manifest.json'))) throw new TokenmixError(`${dir} holds no manifest.json: give the --out directory of a finished curate, mix or dedup run`);
  if (curationOnly(join(dir, 'manifest.json'))) {
    io.err(`tokenmix: warning: ${join(dir, 'manifest.json')} describes curation only, though its config has mixture keys: if tokenmix mix ran here it did not finish (rerun it); the report shows no mixture`);
  }
  io.out(`report: ${await writeReport(dir)}`);
  return ExitCode.ok;
}

/**
 * A mix run writes the curated manifest first (a later mix reuses it) and adds its mixture
 * at the end: a manifest whose config has `budget_tokens` but no `mixture` block is what a
 * failed or killed mix leaves.
 */
function curationOnly(path: string): boolean {
  try {
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { command?: string; config?: { mixture?: Record<string, unknown> }; mixture?: unknown };
    return manifest.command !== 'dedup' && manifest.config?.mixture?.budget_tokens !== undefined && manifest.mixture === undefined;
  } catch {
    return false; // writeReport says what is wrong with the file
  }
}
