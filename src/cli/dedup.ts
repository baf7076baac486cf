import { dirname, resolve } from 'node:path';
import { writeReport } from '../report/index.js';
import { releaseBackend } from '../backend.js';
import { dedup, type DedupOptions } from '../dedup/index.js';
import { TokenmixError } from '../errors.js';
import { terminalProgressFactory } from '../work/progress.js';
import { ExitCode, type CliIo } from './io.js';
import { BACKEND_HELP, BACKEND_OPTIONS, EXECUTOR_HELP, EXECUTOR_OPTIONS, intOption, openBackend, parse, WORKER_HELP, WORKER_OPTIONS, workerArgs } from './options.js';
import { executorOf, submitRun } from './submit.js';

const HELP = [
  'Usage: tokenmix dedup --input PATH... --out DIR [options]',
  '',
  'Near-duplicate removal (MinHash + LSH, verified) composed with exact-text dedup. Writes',
  'DIR/clusters.jsonl (one {"id","cluster","kept"} line per record in a cluster of two or more;',
  'removed ones also name the kept record they duplicate and their Jaccard: "of", "jaccard"),',
  'DIR/cluster_rules.jsonl (per cluster: size, rule exact|near, kept id), keep/ and drops/ lists',
  'per input shard, quarantine.jsonl and manifest.json (counts and rates per source, chosen b × r,',
  'S-curve). Same inputs + options + seed give byte-identical outputs on GPU or CPU.',
  '',
  'Options:',
  '  --input PATH            input file or glob (JSONL, .gz, .zst, Parquet, Arrow); repeatable',
  '  --out DIR               output directory',
  '  --threshold T           Jaccard threshold of a near duplicate (default 0.8)',
  '  --bands B --rows R      fix the LSH banding (B × R <= K) instead of choosing it from T',
  '  --margin M              tune the bands for T − M, below T, for recall (default 0.2)',
  '  --fp-weight W --fn-weight W  weights of the FP/FN areas when choosing bands (default 0.5/0.5)',
  '  --verify exact|signature|none  check candidates by exact shingle Jaccard (default),',
  '                          by signature agreement, or not at all',
  '  --links star-chain|chain|star  edges proposed per bucket (default star-chain)',
  '  --cluster cover|components  cover (default): remove a record only when a kept record has',
  '                          J >= T with it; components: keep one per connected component',
  '  --sketch oph|minhash    signatures by one-permutation MinHash with optimal densification',
  '                          (default: O(shingles + K) per document, K <= 1024) or K-permutation MinHash',
  '  --ngram N               words per shingle (default 5)',
  '  --num-hashes K          MinHash signature length (default 128)',
  '  --seed S                u32 seed of the hash family (default 1)',
  '  --digits                fold every digit to 0 before shingling',
  '  --diacritics            strip diacritics before shingling',
  '  --keep first|best-quality  representative of a cluster (default first = input order)',
  '  --quality-field F       score for --keep best-quality (higher wins; ties: smaller id)',
  '  --id-field F --text-field F --source-field F  record fields (default id, text, source)',
  '  --source NAME           source of records that carry none (default "default")',
  '  --on-error fail|quarantine  bad records stop the run (default) or go to quarantine.jsonl',
  '  --memory-mb M           memory of the run, MiB (default 512 per worker, at least 1024): thread',
  '                          heaps, per-document arrays, set caches and grouping tables are',
  '                          planned to fit, and each worker\'s heap is capped at M / N; too small',
  '                          a budget stops before grouping, saying what it needs',
  ...WORKER_HELP,
  '  --rank R --world-size W compute signatures of rank R\'s share of the work units (balanced',
  '                          by bytes); the first rank to see all units done groups and writes the outputs',
  '  --keep-work             keep the intermediate files (DIR/.tokenmix-dedup)',
  '  --no-report             do not write DIR/report.html',
  ...BACKEND_HELP,
  ...EXECUTOR_HELP,
].join('\n');

function numberOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new TokenmixError(`--${name} must be a number (got ${JSON.stringify(value)})`);
  return n;
}

export async function dedupCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    input: { type: 'string', multiple: true },
    out: { type: 'string' },
    threshold: { type: 'string' },
    bands: { type: 'string' },
    rows: { type: 'string' },
    margin: { type: 'string' },
    'fp-weight': { type: 'string' },
    'fn-weight': { type: 'string' },
    verify: { type: 'string' },
    links: { type: 'string' },
    cluster: { type: 'string' },
    ngram: { type: 'string' },
    sketch: { type: 'string' },
    'num-hashes': { type: 'string' },
    seed: { type: 'string' },
    digits: { type: 'boolean' },
    diacritics: { type: 'boolean' },
    keep: { type: 'string' },
    'quality-field': { type: 'string' },
    'id-field': { type: 'string' },
    'text-field': { type: 'string' },
    'source-field': { type: 'string' },
    source: { type: 'string' },
    'on-error': { type: 'string' },
    'memory-mb': { type: 'string' },
    ...WORKER_OPTIONS,
    rank: { type: 'string' },
    'world-size': { type: 'string' },
    'keep-work': { type: 'boolean' },
    'no-report': { type: 'boolean' },
    ...BACKEND_OPTIONS,
    ...EXECUTOR_OPTIONS,
  });
  if (values.help) {
    io.out(HELP);
    return ExitCode.ok;
  }
  if (!values.input || values.input.length === 0) throw new TokenmixError('dedup needs --input PATH (see tokenmix dedup --help)');
  if (!values.out) throw new TokenmixError('dedup needs --out DIR (see tokenmix dedup --help)');
  const source = values.source ?? 'default';
  const fpWeight = numberOption(values['fp-weight'], 'fp-weight');
  const fnWeight = numberOption(values['fn-weight'], 'fn-weight');
  const bands = values.bands === undefined ? undefined : intOption(values.bands, 'bands', 0, 1);
  const rows = values.rows === undefined ? undefined : intOption(values.rows, 'rows', 0, 1);
  const options: DedupOptions = {
    // A path with a {source} capture names its records' source; other inputs get --source.
    inputs: values.input.map((path) => (path.includes('{source}') ? { path } : { path, source })),
    outDir: values.out,
    threshold: numberOption(values.threshold, 'threshold'),
    bands,
    rows,
    margin: numberOption(values.margin, 'margin'),
    weights: fpWeight !== undefined || fnWeight !== undefined ? { falsePositive: fpWeight ?? 0.5, falseNegative: fnWeight ?? 0.5 } : undefined,
    ngram: values.ngram === undefined ? undefined : intOption(values.ngram, 'ngram', 5, 1),
    numHashes: values['num-hashes'] === undefined ? undefined : intOption(values['num-hashes'], 'num-hashes', 128, 1),
    seed: values.seed === undefined ? undefined : intOption(values.seed, 'seed', 1, 0),
    digits: values.digits,
    diacritics: values.diacritics,
    keep: values.keep as DedupOptions['keep'],
    qualityField: values['quality-field'],
    fields: { id: values['id-field'], text: values['text-field'], source: values['source-field'] },
    verify: values.verify as DedupOptions['verify'],
    sketch: values.sketch as DedupOptions['sketch'],
    links: values.links as DedupOptions['links'],
    cluster: values.cluster as DedupOptions['cluster'],
    onError: values['on-error'] as DedupOptions['onError'],
    memoryBytes: values['memory-mb'] === undefined ? undefined : intOption(values['memory-mb'], 'memory-mb', 1024, 1) * 2 ** 20,
    rank: intOption(values.rank, 'rank', 0, 0),
    worldSize: intOption(values['world-size'], 'world-size', 1, 1),
    keepWork: values['keep-work'],
    ...workerArgs(values),
  };
  const executor = executorOf(values);
  if (executor !== 'local') {
    // Worker settings say how tasks run, not what they compute: the plan keeps them apart.
    const { rank: _rank, worldSize: _worldSize, workers: _workers, ...planned } = options;
    return submitRun(executor, { command: 'dedup', options: { ...planned, baseDir: process.cwd(), outDir: resolve(options.outDir) } }, values, io);
  }
  const backend = await openBackend(values, io);
  try {
    const result = await dedup(options, backend, { log: io.err, progress: io.interactive ? terminalProgressFactory(io.err) : undefined });
    if (result.status === 'partial') {
      io.err(
        `tokenmix: rank ${options.rank} done; ${result.pendingShards.length} shard(s) still pending on other ranks (${result.completedShards} complete). ` +
          'The first rank to see all shards complete groups them and writes the outputs; or rerun without --rank.',
      );
      return ExitCode.ok;
    }
    if (result.status === 'done-elsewhere') {
      io.err(`tokenmix: another process completed this dedup run in ${options.outDir} meanwhile; nothing left to do`);
      return ExitCode.ok;
    }
    const { manifest } = result;
    const { lsh, totals } = manifest;
    const aimed = lsh.aimedAt === null ? 'given' : `tuned for J = ${lsh.aimedAt} (threshold ${lsh.threshold} − margin)`;
    io.out(`LSH: b = ${lsh.bands} bands × r = ${lsh.rows} rows (${aimed}); verify ${manifest.options.verify} at J >= ${lsh.threshold}`);
    io.out(`S-curve P(candidate | J): ${lsh.sCurve.map((p) => `${p.similarity}→${p.probability.toFixed(4)}`).join('  ')}`);
    const pct = (a: number, b: number) => (b === 0 ? '100.0' : ((100 * a) / b).toFixed(1));
    io.out(
      `dedup ${totals.docs_in} records: kept ${totals.docs_out} (${pct(totals.docs_out, totals.docs_in)}% of documents, ${pct(totals.tokens_out, totals.tokens_in)}% of tokens); ` +
        `${totals.clusters} clusters (${totals.clusters_exact} exact, ${totals.clusters_near} near, largest ${totals.largest_cluster}), ` +
        `${totals.docs_in_clusters} records in clusters, removed ${totals.removed_exact} exact + ${totals.removed_near} near; quarantined ${totals.quarantined}`,
    );
    const rule = manifest.cluster_rule;
    io.out(
      `cluster rule ${rule.rule}: cover removes ${rule.removed_cover}, components ${rule.removed_components} ` +
        `(${rule.components_removed_below_threshold} of them below J ${lsh.threshold} with the one kept member)`,
    );
    io.out(`manifest: ${result.manifestPath}`);
    if (!values['no-report']) io.out(`report: ${await writeReport(dirname(result.manifestPath))}`);
    return ExitCode.ok;
  } finally {
    releaseBackend(backend);
  }
}
