import { releaseBackend } from '../backend.js';
import { curate } from '../pipeline/curate.js';
import { writeReport } from '../report/index.js';
import { resolve } from 'node:path';
import { ExitCode, type CliIo } from './io.js';
import { executorOf, submitRun } from './submit.js';
import { RUN_HELP, RUN_OPTIONS, openBackend, parse, checkedRunArgs } from './options.js';

const HELP = [
  'Usage: tokenmix curate --config FILE --out DIR [options]',
  '',
  'Run the curation pipeline over the config\'s inputs: quality thresholds (filters.quality),',
  'heuristic filters (filters.heuristics), eval contamination (evals + contamination: flag or drop',
  'documents sharing word n-grams with the eval sets), exact dedup and near dedup (dedup.exact,',
  'dedup.near: MinHash + LSH + exact Jaccard, as tokenmix dedup). Writes DIR/manifest.json, keep',
  'and drop lists per shard, clusters.jsonl (with near dedup), quarantine.jsonl,',
  'audit samples and report.html. A rerun skips completed shards; a killed run resumes with',
  'identical outputs. Config keys: README "Configuration".',
  '',
  'Options:',
  ...RUN_HELP,
].join('\n');

export async function curateCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, RUN_OPTIONS);
  if (values.help) {
    io.out(HELP);
    return ExitCode.ok;
  }
  const run = await checkedRunArgs('curate', values);
  const executor = executorOf(values);
  if (executor !== 'local') return submitRun(executor, { command: 'curate', configPath: resolve(run.configPath), outDir: resolve(run.outDir), unitBytes: run.unitBytes }, values, io);
  const { rank } = run;
  const backend = await openBackend(values, io);
  try {
    const result = await curate({ ...run, backend, log: io.err, progress: io.interactive });
    if (result.status === 'partial') {
      io.err(
        `tokenmix: rank ${rank} done; ${result.pendingShards.length} shard(s) still pending on other ranks (${result.completedShards} complete). ` +
          'The last rank to finish writes the manifest; or rerun without --rank to finish them here.',
      );
      return ExitCode.ok;
    }
    if (result.status === 'done-elsewhere') {
      io.err(`tokenmix: another process completed this run in ${run.outDir} while this one waited; nothing left to do`);
      return ExitCode.ok;
    }
    const { totals, totals_tokens: tokens } = result.manifest;
    const pct = (a: number, b: number) => (b === 0 ? '100.0' : ((100 * a) / b).toFixed(1));
    io.out(`curated ${totals.input} records: kept ${totals.kept} (${pct(totals.kept, totals.input)}% of documents, ${pct(tokens.kept, tokens.input)}% of tokens), quarantined ${totals.quarantined}`);
    for (const stage of result.manifest.stages) {
      io.out(`  ${stage.name.padEnd(12)} docs ${stage.docs_in} → ${stage.docs_out} (a=${stage.doc_acceptance.toFixed(3)})  tokens ${stage.tokens_in} → ${stage.tokens_out} (a_tok=${stage.token_acceptance.toFixed(3)})`);
    }
    io.out(`manifest: ${result.manifestPath}`);
    if (!values['no-report']) io.out(`report: ${await writeReport(run.outDir)}`);
    return ExitCode.ok;
  } finally {
    releaseBackend(backend);
  }
}
