/**
 * Materializing the sampling plan (SPEC §6): the plan's documents, in plan order, as mixed
 * output shards (JSONL or Parquet) plus `sampling_plan.jsonl` (one line per entry: index,
 * source, id, epoch, stage, tokens). Documents are fetched by byte offset from the kept-record
 * store written during the histogram pass, so memory does not grow with the corpus.
 */
import { open, mkdir, rm, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ParquetWriter, fileWriter, schemaFromColumnData } from 'hyparquet-writer';
import { createHash } from 'node:crypto';
import { createSamplingPlan, planEntries, type PlanEntry } from '../mixture/sampling.js';
import type { Schedule } from '../mixture/weights.js';
import type { RetainedCorpus } from './distributions.js';
import { writeOutput, type OutputFile } from './outputs.js';
import { silentProgress, type ProgressFactory } from './progress.js';

export interface MaterializedPlan {
  budget_tokens: number;
  seed: number;
  entries: number;
  tokens: number;
  per_source: { source: string; documents: number; tokens: number; epochs_started: number }[];
  format: 'jsonl' | 'parquet';
  plan: OutputFile;
  shards: (OutputFile & { entries: number; tokens: number })[];
  files: OutputFile[];
}

interface MaterializeOptions {
  corpus: RetainedCorpus;
  schedule: Schedule;
  budgetTokens: number;
  seed: number;
  format: 'jsonl' | 'parquet';
  docsPerShard: number;
  outDir: string;
  keptStore: string;
  /** Progress display (the CLI passes one on a terminal). */
  progress?: ProgressFactory;
}

interface MixedRow {
  plan_index: number;
  id: string;
  source: string;
  epoch: number;
  stage: number;
  tokens: number;
  text: string;
}

export async function materializePlan(options: MaterializeOptions): Promise<MaterializedPlan> {
  const { corpus, outDir } = options;
  const progress = options.progress?.('mix: sampling plan', options.budgetTokens, 'tokens') ?? silentProgress;
  const plan = createSamplingPlan({
    sources: corpus.sources.map((name, i) => ({ name, docTokens: corpus.docTokens[i] })),
    budgetTokens: options.budgetTokens,
    schedule: options.schedule,
    seed: options.seed,
  });
  const mixedDir = join(outDir, 'mixed');
  await rm(mixedDir, { recursive: true, force: true });
  await mkdir(mixedDir, { recursive: true });
  const store = await open(options.keptStore, 'r');
  const perSource = corpus.sources.map((source) => ({ source, documents: 0, tokens: 0, epochs_started: 0 }));
  const planLines: string[] = [];
  const shards: MaterializedPlan['shards'] = [];
  let rows: MixedRow[] = [];
  let entries = 0;
  let tokens = 0;
  const flush = async () => {
    if (rows.length === 0) return;
    const name = `part-${String(shards.length).padStart(5, '0')}.${options.format}`;
    const file = options.format === 'jsonl' ? await writeJsonlShard(outDir, join(mixedDir, name), rows) : await writeParquetShard(outDir, join(mixedDir, name), rows);
    shards.push({ ...file, entries: rows.length, tokens: rows.reduce((a, r) => a + r.tokens, 0) });
    rows = [];
  };
  try {
    for (const entry of planEntries(plan)) {
      const record = await fetchRecord(store, corpus, entry);
      rows.push({ plan_index: entry.index, id: record.id, source: record.source, epoch: entry.epoch, stage: entry.stage, tokens: entry.tokens, text: record.text });
      planLines.push(JSON.stringify({ index: entry.index, source: record.source, id: record.id, epoch: entry.epoch, stage: entry.stage, tokens: entry.tokens }));
      const s = perSource[entry.source];
      s.documents++;
      s.tokens += entry.tokens;
      s.epochs_started = Math.max(s.epochs_started, entry.epoch + 1);
      entries++;
      tokens += entry.tokens;
      progress.advance(1, entry.tokens);
      if (rows.length >= options.docsPerShard) await flush();
    }
    await flush();
    progress.done();
  } finally {
    await store.close();
  }
  const planFile = await writeOutput(outDir, join(outDir, 'sampling_plan.jsonl'), planLines.map((l) => `${l}\n`).join(''));
  return {
    budget_tokens: options.budgetTokens,
    seed: options.seed,
    entries,
    tokens,
    per_source: perSource,
    format: options.format,
    plan: planFile,
    shards,
    files: [planFile, ...shards.map(({ path, bytes, sha256 }) => ({ path, bytes, sha256 }))],
  };
}

async function fetchRecord(store: import('node:fs/promises').FileHandle, corpus: RetainedCorpus, entry: PlanEntry): Promise<{ id: string; source: string; text: string }> {
  const ref = corpus.docRefs![entry.source][entry.doc];
  const buffer = Buffer.alloc(ref.length);
  await store.read(buffer, 0, ref.length, ref.offset);
  return JSON.parse(buffer.toString('utf8'));
}

async function writeJsonlShard(outDir: string, path: string, rows: MixedRow[]): Promise<OutputFile> {
  return writeOutput(outDir, path, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

async function writeParquetShard(outDir: string, path: string, rows: MixedRow[]): Promise<OutputFile> {
  const columnData = [
    { name: 'plan_index', data: BigInt64Array.from(rows, (r) => BigInt(r.plan_index)), type: 'INT64' as const, nullable: false },
    { name: 'id', data: rows.map((r) => r.id), type: 'STRING' as const, nullable: false },
    { name: 'source', data: rows.map((r) => r.source), type: 'STRING' as const, nullable: false },
    { name: 'epoch', data: Int32Array.from(rows, (r) => r.epoch), type: 'INT32' as const, nullable: false },
    { name: 'stage', data: Int32Array.from(rows, (r) => r.stage), type: 'INT32' as const, nullable: false },
    { name: 'tokens', data: Int32Array.from(rows, (r) => r.tokens), type: 'INT32' as const, nullable: false },
    { name: 'text', data: rows.map((r) => r.text), type: 'STRING' as const, nullable: false },
  ];
  const writer = new ParquetWriter({ writer: fileWriter(`${path}.partial`), schema: schemaFromColumnData({ columnData }), codec: 'SNAPPY' });
  await writer.write({ columnData, rowGroupSize: rows.length });
  await writer.finish();
  const { rename } = await import('node:fs/promises');
  await rename(`${path}.partial`, path);
  const bytes = await readFile(path);
  return { path: path.slice(outDir.length + 1).split('\\').join('/'), bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}
