import { releaseBackend } from '../backend.js';
import { TokenmixError } from '../errors.js';
import { curate } from '../pipeline/curate.js';
import { writeReport } from '../report/index.js';
import { ExitCode, type CliIo } from './io.js';
import { BACKEND_HELP, BACKEND_OPTIONS, intOption, openBackend, parse } from './options.js';

const HELP = [
  'Usage: tokenmix curate --config FILE --out DIR [options]',
  '',
  'Run the curation pipeline (quality threshold, heuristic filters, exact dedup) over the',
  "config's inputs and write DIR/manifest.json, keep and drop lists per shard, quarantine.jsonl",
  'and audit samples. A rerun skips completed shards; a killed run resumes with identical outputs.',
  '',
  'Options:',
  '  --config FILE           the run configuration (JSON; see README "Configuration")',
  '  --out DIR               output directory',
  '  --rank R --world-size W process shards i with i mod W == R; the last rank to finish',
  '                          (or a run without --rank) writes the manifest',
  '  --no-report             do not write DIR/report.html (tokenmix report DIR writes it later)',
  ...BACKEND_HELP,
].join('\n');

export async function curateCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    config: { type: 'string' },
    out: { type: 'string' },
    rank: { type: 'string' },
    'world-size': { type: 'string' },
    'no-report': { type: 'boolean' },
    ...BACKEND_OPTIONS,
  });
  if (values.help) {
    io.out(HELP);
    return ExitCode.ok;
  }
  if (!values.config) throw new TokenmixError('curate needs --config FILE (see tokenmix curate --help)');
  if (!values.out) throw new TokenmixError('curate needs --out DIR (see tokenmix curate --help)');
  const worldSize = intOption(values['world-size'], 'world-size', 1, 1);
  const rank = intOption(values.rank, 'rank', 0, 0);
  // A usage error must not wait for (or print anything about) opening the GPU.
  if (rank >= worldSize) throw new TokenmixError(`--rank must be an integer in 0..${worldSize - 1} (got ${rank})`);
  const backend = await openBackend(values, io);
  try {
    const result = await curate({ configPath: values.config, outDir: values.out, backend, rank, worldSize, log: io.err, progress: io.interactive });
    if (result.status === 'partial') {
      io.err(
        `tokenmix: rank ${rank} done; ${result.pendingShards.length} shard(s) still pending on other ranks (${result.completedShards} complete). ` +
          'The last rank to finish writes the manifest; or rerun without --rank to finish them here.',
      );
      return ExitCode.ok;
    }
    const { totals, totals_tokens: tokens } = result.manifest;
    const pct = (a: number, b: number) => (b === 0 ? '100.0' : ((100 * a) / b).toFixed(1));
    io.out(`curated ${totals.input} records: kept ${totals.kept} (${pct(totals.kept, totals.input)}% of documents, ${pct(tokens.kept, tokens.input)}% of tokens), quarantined ${totals.quarantined}`);
    for (const stage of result.manifest.stages) {
      io.out(`  ${stage.name.padEnd(12)} docs ${stage.docs_in} → ${stage.docs_out} (a=${stage.doc_acceptance.toFixed(3)})  tokens ${stage.tokens_in} → ${stage.tokens_out} (a_tok=${stage.token_acceptance.toFixed(3)})`);
    }
    io.out(`manifest: ${result.manifestPath}`);
    if (!values['no-report']) io.out(`report: ${await writeReport(values.out)}`);
    return ExitCode.ok;
  } finally {
    releaseBackend(backend);
  }
}
