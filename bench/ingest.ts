/**
 * `npm run bench:ingest [-- --gb 1 --formats jsonl,parquet --shards 8]`: input throughput
 * and memory of the readers (src/io) on seeded synthetic corpora of >= `--gb` GB of text per
 * format (fixtures/io/generate.ts, streamed to a temporary directory that is removed after
 * each format). Two timed passes per format: the reader alone (readRecords), then reader +
 * the `words` tokenizer count (what curate's map phase does per record). Reported: MB/s of
 * on-disk and of text bytes, records/s, tokens/s, and the peak RSS sampled after every batch
 * and read off at 25/50/75/100% of the corpus: flat when memory does not grow with the
 * corpus (SPEC §7 "memory stays bounded"). Then curate end to end on every core
 * (bench/curate.ts `curateScaling`): MB/s per core and the scaling over one worker for workers
 * 1 … cores, with the `words` and `cl100k_base` tokenizers (`--curate-records 0` skips it).
 * Results: bench/results/ingest-*.json.
 * Run with `node --expose-gc` (the npm script does) so each format starts from a clean heap.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeCorpus, type CorpusFormat } from '../fixtures/io/generate.js';
import { readRecords, resolveInputs, type ResolvedInput } from '../src/io/index.js';
import { WordsTokenizer } from '../src/text/words.js';
import { fmtRate, machineInfo, printMachine, writeResults } from './common.js';
import { curateScaling, type CurateRow } from './curate.js';

const FORMATS: readonly CorpusFormat[] = ['jsonl', 'jsonl.gz', 'jsonl.zst', 'parquet', 'arrow'];
const CHECKPOINTS = [0.25, 0.5, 0.75, 1] as const;
const MB = 1e6;

interface MemoryCheckpoint {
  /** Fraction of the corpus's on-disk bytes read. */
  at: number;
  /** Largest RSS seen from the start of the pass up to this point, MB. */
  peakRssMB: number;
  heapUsedMB: number;
}

interface Pass {
  seconds: number;
  records: number;
  tokens: number | null;
  diskMBps: number;
  textMBps: number;
  recordsPerSec: number;
  tokensPerSec: number | null;
  memory: MemoryCheckpoint[];
}

interface FormatResult {
  format: CorpusFormat;
  shards: number;
  diskBytes: number;
  textBytes: number;
  generateSeconds: number;
  read: Pass;
  readAndCount: Pass;
}

const FIELDS = { id: 'id', text: 'text', source: 'source', quality: ['quality'] };

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** One pass over every shard; `perText` sees each text (the tokenizer pass counts tokens there). */
async function pass(inputs: ResolvedInput[], diskBytes: number, textBytes: number, perText: ((text: string) => number) | null): Promise<Pass & { textBytesSeen: number }> {
  gc();
  const memory: MemoryCheckpoint[] = [];
  let next = 0;
  let peakRss = process.memoryUsage.rss();
  let records = 0;
  let tokens = 0;
  let textBytesSeen = 0;
  let doneBytes = 0;
  const start = performance.now();
  for (const input of inputs) {
    const size = statSync(input.path).size;
    for await (const batch of readRecords(input, FIELDS)) {
      records += batch.length;
      if (perText) {
        for (const text of batch.texts) {
          tokens += perText(text);
          textBytesSeen += Buffer.byteLength(text, 'utf8');
        }
      }
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      const fraction = (doneBytes + Math.min(batch.bytesRead, size)) / diskBytes;
      while (next < CHECKPOINTS.length && fraction >= CHECKPOINTS[next] - 1e-9) {
        memory.push({ at: CHECKPOINTS[next], peakRssMB: round(peakRss / MB), heapUsedMB: round(process.memoryUsage().heapUsed / MB) });
        next++;
      }
    }
    doneBytes += size;
  }
  const seconds = (performance.now() - start) / 1000;
  const text = perText ? textBytesSeen : textBytes;
  return {
    seconds: round(seconds),
    records,
    tokens: perText ? tokens : null,
    diskMBps: round(diskBytes / MB / seconds),
    textMBps: round(text / MB / seconds),
    recordsPerSec: Math.round(records / seconds),
    tokensPerSec: perText ? Math.round(tokens / seconds) : null,
    memory,
    textBytesSeen,
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

async function benchFormat(format: CorpusFormat, gb: number, shards: number, baseDir: string): Promise<FormatResult> {
  const dir = mkdtempSync(join(baseDir, `tokenmix-ingest-${format.replace('.', '-')}-`));
  // Ctrl-C must not leave a gigabyte behind in the temp directory.
  const interrupted = () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const genStart = performance.now();
    // writeCorpus sizes the corpus from an estimate that runs ~4% low: ask for 6% more so
    // the text is at least `gb` GB (the measured text bytes are what is reported).
    await writeCorpus({ dir, seed: 20_260_101, format, textBytes: gb * 1e9 * 1.06, shards });
    const generateSeconds = round((performance.now() - genStart) / 1000);
    const inputs = resolveInputs([{ path: `part-*.${format}` }], dir);
    const diskBytes = inputs.reduce((s, i) => s + statSync(i.path).size, 0);
    console.log(`${format}: generated ${shards} shards, ${(diskBytes / MB).toFixed(1)} MB on disk in ${generateSeconds} s`);
    // The tokenizer pass also measures the text bytes, which the reader-only pass then uses.
    const tokenizer = new WordsTokenizer();
    // Warm-up (untimed): one shard through both code paths, so the JIT has compiled them.
    for await (const batch of readRecords(inputs[0], FIELDS)) for (const text of batch.texts) tokenizer.count(text);
    const readAndCount = await pass(inputs, diskBytes, 0, (text) => tokenizer.count(text));
    const textBytes = readAndCount.textBytesSeen;
    const read = await pass(inputs, diskBytes, textBytes, null);
    const clean = ({ textBytesSeen: _, ...rest }: Pass & { textBytesSeen: number }): Pass => rest;
    const result = { format, shards, diskBytes, textBytes, generateSeconds, read: clean(read), readAndCount: clean(readAndCount) };
    printFormat(result);
    return result;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    rmSync(dir, { recursive: true, force: true });
  }
}

function printFormat(r: FormatResult): void {
  const line = (name: string, p: Pass) =>
    `  ${name.padEnd(14)} ${p.seconds.toFixed(1).padStart(6)} s  disk ${p.diskMBps.toFixed(1).padStart(6)} MB/s  text ${p.textMBps.toFixed(1).padStart(6)} MB/s  ` +
    `${fmtRate(p.recordsPerSec, 'rec/s')}${p.tokensPerSec !== null ? `  ${fmtRate(p.tokensPerSec, 'tok/s')}` : ''}  ` +
    `peak RSS MB @25/50/75/100%: ${p.memory.map((m) => m.peakRssMB.toFixed(0)).join('/')}`;
  console.log(`  ${r.read.records.toLocaleString('en-US')} records, text ${(r.textBytes / MB).toFixed(1)} MB, disk ${(r.diskBytes / MB).toFixed(1)} MB`);
  console.log(line('read', r.read));
  console.log(line('read + words', r.readAndCount));
}

async function mainBench(): Promise<void> {
  const { values } = parseArgs({
    options: {
      gb: { type: 'string', default: '1' },
      formats: { type: 'string', default: FORMATS.join(',') },
      shards: { type: 'string', default: '8' },
      dir: { type: 'string', default: tmpdir() },
      'curate-records': { type: 'string', default: '200000' },
      'curate-tokenizers': { type: 'string', default: 'words,cl100k_base' },
    },
  });
  const gb = Number(values.gb);
  const shards = Number(values.shards);
  const formats = values.formats.split(',') as CorpusFormat[];
  if (!(gb > 0)) throw new Error(`--gb must be a positive number (got ${values.gb})`);
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`--shards must be a positive integer (got ${values.shards})`);
  for (const f of formats) if (!FORMATS.includes(f) && f !== 'arrows') throw new Error(`unknown format ${f} (use ${FORMATS.join(', ')}, arrows)`);
  const machine = machineInfo(null);
  printMachine(machine);
  if (!(globalThis as { gc?: unknown }).gc) console.log('note: run with node --expose-gc for a clean heap per format');
  console.log(`ingest: ${gb} GB of text per format, ${shards} shards, formats ${formats.join(', ')}`);
  const results: FormatResult[] = [];
  for (const format of formats) results.push(await benchFormat(format, gb, shards, values.dir));
  const curateRecords = Number(values['curate-records']);
  let curate: CurateRow[] = [];
  if (curateRecords > 0) curate = await curateScaling({ records: [curateRecords], tokenizers: values['curate-tokenizers'].split(',') });
  const file = writeResults('ingest', { machine, gb, shards, results, curate });
  console.log(`results: ${file}`);
}

await mainBench();
