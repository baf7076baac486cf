/**
 * Materializing the sampling plan (SPEC §6): the plan's documents, in plan order, as mixed
 * output shards — JSONL or Parquet rows, or training-ready token shards (`megatron`: Megatron-LM
 * indexed dataset `.bin` + `.idx`; `tokens`: flat `.bin` + `.docs` boundaries; layouts in
 * token-shards.ts and docs/training-shards.md) — plus `sampling_plan.jsonl` (one line per entry:
 * index, source, id, epoch, stage, tokens). Documents are fetched by byte offset from the
 * kept-record store written during the histogram pass, so memory does not grow with the corpus.
 *
 * Resumable: each finished shard leaves a marker (written last) holding its files' hashes and the
 * scheduler's state after it (`PlanState`). A rerun keeps the longest run of verified shards,
 * resumes the plan from the last one's state (no replay of the plan before it) and writes only the
 * rest; the bytes are those of an uninterrupted run.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { open, mkdir, readdir, readFile, rm, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ParquetWriter, fileWriter, schemaFromColumnData } from 'hyparquet-writer';
import { createHash } from 'node:crypto';
import { invariant } from '../errors.js';
import { contentHash } from '../io/index.js';
import { createSamplingPlan, initialPlanState, PlanCursor, type PlanEntry, type PlanState } from '../mixture/sampling.js';
import type { Schedule } from '../mixture/weights.js';
import type { RetainedCorpus } from './distributions.js';
import type { MaterializeFormat } from './mix-config.js';
import { writeShardMarker } from '../work/markers.js';
import { writeOutput, type OutputFile } from './outputs.js';
import { silentProgress, type ProgressFactory } from '../work/progress.js';
import { documentOffsets, megatronIndex, packTokens, tokenDtype, type TokenDtype } from './token-shards.js';


export interface ShardFile extends OutputFile {
  entries: number;
  tokens: number;
  /** Token formats: the shard's `.idx` (megatron) or `.docs` (tokens). */
  index?: OutputFile;
}

interface SourceTally {
  source: string;
  documents: number;
  tokens: number;
  epochs_started: number;
}

export interface MaterializedPlan {
  budget_tokens: number;
  seed: number;
  entries: number;
  tokens: number;
  per_source: SourceTally[];
  format: MaterializeFormat;
  /** Token formats: how ids are stored (also in `mixed/meta.json`). */
  token_layout?: TokenLayout;
  plan: OutputFile;
  shards: ShardFile[];
  files: OutputFile[];
}

export interface TokenLayout {
  dtype: TokenDtype;
  eod_token: number;
  vocab_size: number;
  tokenizer: string;
}

/** How the plan's documents become token ids (token formats only). */
export interface TokenEncoding {
  encode: (text: string) => Uint32Array;
  eodToken: number;
  vocabSize: number;
  tokenizer: string;
  /** `words` only: token of each id, written to `mixed/vocab.json`. */
  vocabulary: string[] | null;
}

interface MaterializeOptions {
  corpus: RetainedCorpus;
  schedule: Schedule;
  budgetTokens: number;
  seed: number;
  format: MaterializeFormat;
  docsPerShard: number;
  outDir: string;
  workDir: string;
  keptStore: string;
  /** Progress display (the CLI passes one on a terminal). */
  progress?: ProgressFactory;
  /** Identifies the retained corpus (curation + tokenizer): a marker of another corpus is not trusted. */
  corpusKey: string;
  encoding?: TokenEncoding;
  log?: (text: string) => void;
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

interface ShardMarker {
  fingerprint: string;
  shard: number;
  shard_file: ShardFile;
  plan_chunk: OutputFile;
  per_source: SourceTally[];
  state: PlanState;
}

const shardStem = (k: number) => `part-${String(k).padStart(5, '0')}`;

function layoutOf(options: MaterializeOptions): TokenLayout | undefined {
  if (options.format !== 'megatron' && options.format !== 'tokens') return undefined;
  const encoding = options.encoding!;
  return { dtype: tokenDtype(Math.max(encoding.vocabSize - 1, encoding.eodToken)), eod_token: encoding.eodToken, vocab_size: encoding.vocabSize, tokenizer: encoding.tokenizer };
}

/** What the shards' bytes depend on: a marker made under another fingerprint is discarded. */
function fingerprintOf(options: MaterializeOptions, layout: TokenLayout | undefined): string {
  const { corpus } = options;
  const hash = createHash('sha256');
  hash.update(JSON.stringify({
    format: options.format,
    docs_per_shard: options.docsPerShard,
    budget: options.budgetTokens,
    seed: options.seed,
    schedule: options.schedule,
    sources: corpus.sources,
    corpus: options.corpusKey,
    layout: layout ?? null,
  }));
  for (const tokens of corpus.docTokens) hash.update(Float64Array.from(tokens));
  return hash.digest('hex');
}

async function readMarker(path: string): Promise<ShardMarker | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as ShardMarker;
  } catch {
    return null;
  }
}

async function intact(outDir: string, file: OutputFile): Promise<boolean> {
  try {
    return (await contentHash(join(outDir, file.path))) === file.sha256;
  } catch {
    return false;
  }
}

/** The longest prefix of shards whose marker matches and whose files are intact. */
async function finishedShards(options: MaterializeOptions, markerDir: string, fingerprint: string): Promise<ShardMarker[]> {
  const finished: ShardMarker[] = [];
  for (let k = 0; ; k++) {
    const marker = await readMarker(join(markerDir, `${shardStem(k)}.done.json`));
    if (!marker || marker.fingerprint !== fingerprint || marker.shard !== k) break;
    const files = [marker.shard_file, ...(marker.shard_file.index ? [marker.shard_file.index] : [])];
    let ok = await intact(options.workDir, marker.plan_chunk);
    for (const file of files) ok = ok && (await intact(options.outDir, file));
    if (!ok) break;
    finished.push(marker);
  }
  return finished;
}

/** Remove what a killed or different run left beyond the finished shards (partial files included). */
async function clearUnfinished(dir: string, keep: Set<string>): Promise<void> {
  for (const name of await readdir(dir)) if (!keep.has(name)) await rm(join(dir, name), { recursive: true, force: true });
}

export async function materializePlan(options: MaterializeOptions): Promise<MaterializedPlan> {
  const { corpus, outDir } = options;
  const plan = createSamplingPlan({
    sources: corpus.sources.map((name, i) => ({ name, docTokens: corpus.docTokens[i] })),
    budgetTokens: options.budgetTokens,
    schedule: options.schedule,
    seed: options.seed,
  });
  const layout = layoutOf(options);
  const fingerprint = fingerprintOf(options, layout);
  const mixedDir = join(outDir, 'mixed');
  const markerDir = join(options.workDir, 'materialize');
  await mkdir(mixedDir, { recursive: true });
  await mkdir(markerDir, { recursive: true });
  const finished = await finishedShards(options, markerDir, fingerprint);
  const keepMixed = new Set(finished.flatMap((m) => [m.shard_file.path, ...(m.shard_file.index ? [m.shard_file.index.path] : [])].map((p) => p.slice('mixed/'.length))));
  const keepMarkers = new Set(finished.flatMap((m) => [`${shardStem(m.shard)}.done.json`, `${shardStem(m.shard)}.plan.jsonl`]));
  await clearUnfinished(mixedDir, keepMixed);
  await clearUnfinished(markerDir, keepMarkers);
  if (finished.length > 0) options.log?.(`tokenmix: materialize: ${finished.length} finished shard(s) kept, resuming the plan at entry ${finished.at(-1)!.state.index}`);

  const last = finished.at(-1);
  const cursor = new PlanCursor(plan, last?.state ?? initialPlanState(plan));
  let perSource: SourceTally[] = last?.per_source ?? corpus.sources.map((source) => ({ source, documents: 0, tokens: 0, epochs_started: 0 }));
  const shards = finished.map((m) => m.shard_file);
  const store = await open(options.keptStore, 'r');
  const resumedTokens = perSource.reduce((sum, tally) => sum + tally.tokens, 0);
  const progress = options.progress?.('mix: sampling plan', Math.max(0, options.budgetTokens - resumedTokens), 'tokens') ?? silentProgress;
  try {
    for (let k = finished.length; ; k++) {
      const entries: PlanEntry[] = [];
      while (entries.length < options.docsPerShard) {
        const entry = cursor.next();
        if (entry === null) break;
        entries.push(entry);
      }
      if (entries.length === 0) break;
      const rows: MixedRow[] = [];
      for (const entry of entries) {
        const record = await fetchRecord(store, corpus, entry);
        rows.push({ plan_index: entry.index, id: record.id, source: record.source, epoch: entry.epoch, stage: entry.stage, tokens: entry.tokens, text: record.text });
      }
      perSource = perSource.map((tally) => ({ ...tally }));
      for (const entry of entries) {
        const tally = perSource[entry.source];
        tally.documents++;
        tally.tokens += entry.tokens;
        tally.epochs_started = Math.max(tally.epochs_started, entry.epoch + 1);
        progress.advance(1, entry.tokens);
      }
      const shardFile = await writeShard(options, layout, join(mixedDir, shardStem(k)), rows);
      const planText = rows.map((r) => `${JSON.stringify({ index: r.plan_index, source: r.source, id: r.id, epoch: r.epoch, stage: r.stage, tokens: r.tokens })}\n`).join('');
      const planChunk = await writeOutput(options.workDir, join(markerDir, `${shardStem(k)}.plan.jsonl`), planText);
      const marker: ShardMarker = { fingerprint, shard: k, shard_file: shardFile, plan_chunk: planChunk, per_source: perSource, state: cursor.state() };
      await writeShardMarker(join(markerDir, `${shardStem(k)}.done.json`), marker);
      shards.push(shardFile);
      if (entries.length < options.docsPerShard) break;
    }
    progress.done();
  } finally {
    await store.close();
  }
  const planFile = await concatenate(outDir, join(outDir, 'sampling_plan.jsonl'), shards.map((_, k) => join(markerDir, `${shardStem(k)}.plan.jsonl`)));
  const extra = layout ? await writeTokenMeta(outDir, mixedDir, options, layout, shards) : [];
  const state = cursor.state();
  return {
    budget_tokens: options.budgetTokens,
    seed: options.seed,
    entries: state.index,
    tokens: state.total,
    per_source: perSource,
    format: options.format,
    ...(layout ? { token_layout: layout } : {}),
    plan: planFile,
    shards,
    files: [planFile, ...shards.flatMap(({ path, bytes, sha256, index }) => [{ path, bytes, sha256 }, ...(index ? [index] : [])]), ...extra],
  };
}

/** Concatenate the per-shard plan chunks into one file, streamed, hashed as written. */
async function concatenate(outDir: string, path: string, parts: string[]): Promise<OutputFile> {
  const stream = createWriteStream(`${path}.partial`);
  const hash = createHash('sha256');
  let bytes = 0;
  for (const part of parts) {
    const chunk = await readFile(part);
    hash.update(chunk);
    bytes += chunk.length;
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
  await rename(`${path}.partial`, path);
  return { path: path.slice(outDir.length + 1).split('\\').join('/'), bytes, sha256: hash.digest('hex') };
}

/** `mixed/meta.json` (how to read the shards) and, for `words`, `mixed/vocab.json` (token of each id). */
async function writeTokenMeta(outDir: string, mixedDir: string, options: MaterializeOptions, layout: TokenLayout, shards: ShardFile[]): Promise<OutputFile[]> {
  const files: OutputFile[] = [];
  const vocabulary = options.encoding!.vocabulary;
  if (vocabulary) files.push(await writeOutput(outDir, join(mixedDir, 'vocab.json'), `${JSON.stringify(vocabulary)}\n`));
  const meta = {
    format: options.format,
    ...layout,
    vocabulary: vocabulary ? 'vocab.json' : null,
    documents: shards.reduce((a, s) => a + s.entries, 0),
    shards: shards.map((s) => ({ bin: s.path.slice('mixed/'.length), index: s.index!.path.slice('mixed/'.length), documents: s.entries, tokens: s.tokens })),
  };
  files.push(await writeOutput(outDir, join(mixedDir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`));
  return files;
}

async function writeShard(options: MaterializeOptions, layout: TokenLayout | undefined, stem: string, rows: MixedRow[]): Promise<ShardFile> {
  const { outDir } = options;
  const counts = { entries: rows.length, tokens: rows.reduce((a, r) => a + r.tokens, 0) };
  if (options.format === 'jsonl') return { ...(await writeJsonlShard(outDir, `${stem}.jsonl`, rows)), ...counts };
  if (options.format === 'parquet') return { ...(await writeParquetShard(outDir, `${stem}.parquet`, rows)), ...counts };
  const { encode } = options.encoding!;
  const lengths: number[] = [];
  const bin = createWriteStream(`${stem}.bin.partial`);
  const hash = createHash('sha256');
  let bytes = 0;
  for (const row of rows) {
    const ids = encode(row.text);
    invariant(ids.length === row.tokens, `materialize: document ${row.id} encodes to ${ids.length} tokens, the plan counted ${row.tokens}`);
    const packed = packTokens([ids], layout!.eod_token, layout!.dtype);
    lengths.push(ids.length + 1);
    hash.update(packed);
    bytes += packed.length;
    if (!bin.write(packed)) await once(bin, 'drain');
  }
  bin.end();
  await once(bin, 'finish');
  await rename(`${stem}.bin.partial`, `${stem}.bin`);
  const relative = (path: string) => path.slice(outDir.length + 1).split('\\').join('/');
  const indexBytes = options.format === 'megatron' ? megatronIndex(lengths, layout!.dtype) : documentOffsets(lengths);
  const index = await writeBinary(outDir, `${stem}.${options.format === 'megatron' ? 'idx' : 'docs'}`, indexBytes);
  return { path: relative(`${stem}.bin`), bytes, sha256: hash.digest('hex'), ...counts, index };
}

async function writeBinary(outDir: string, path: string, bytes: Buffer): Promise<OutputFile> {
  await writeFile(`${path}.partial`, bytes);
  await rename(`${path}.partial`, path);
  return { path: path.slice(outDir.length + 1).split('\\').join('/'), bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
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
