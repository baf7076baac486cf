/**
 * The retained corpus as the mixture engine needs it (SPEC §3): per-source token histograms
 * C_i(v) of the documents curation kept (accumulated on the chosen backend: exact integer
 * counts, identical on GPU and CPU), retained documents, leak tokens of eval-like kept
 * documents, per-document token counts in canonical order (for the sampling plan), and the
 * eval sets' token counts over the same vocabulary.
 *
 * Vocabulary: a BPE tokenizer's own ids (V = its vocabulary size); for `words`, the distinct
 * tokens of the kept documents and the eval sets, sorted by code point (V = their number),
 * so ids never depend on reading order or sharding. `words` therefore reads the kept
 * documents twice (collect, then count).
 */
import { createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../backend.js';
import { invariant } from '../errors.js';
import { readRecords } from '../io/index.js';
import type { FieldMap, ResolvedInput } from '../io/types.js';
import { createHistogramAccumulator } from '../kernels/histogram.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { compareCodePoints } from '../text/vocabulary.js';
import type { EvalSet } from './evals.js';
import { silentProgress, type Progress, type ProgressFactory } from '../work/progress.js';
import { shardName } from './outputs.js';

export interface RetainedCorpus {
  sources: string[];
  vocabSize: number;
  /** `words` only: token of each id. */
  vocabulary: string[] | null;
  /** K×V counts of retained documents. */
  counts: Float64Array;
  retainedDocs: number[];
  leakTokens: number[];
  /** Per source, token count of each retained document in input order. */
  docTokens: number[][];
  /** Per source, where each retained document's record sits in `keptStore` (byte offset, length). */
  docRefs: { offset: number; length: number }[][] | null;
  evalCounts: Map<string, Float64Array>;
}

interface KeptRecord {
  source: number;
  id: string;
  text: string;
  evalLike: boolean;
}

async function keptPositions(outDir: string, shard: number, input: ResolvedInput): Promise<Map<number, boolean>> {
  const text = await readFile(join(outDir, 'keep', `${shardName(shard, input.displayPath)}.jsonl`), 'utf8');
  const kept = new Map<number, boolean>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const entry = JSON.parse(line) as { line?: number; row?: number; eval_like?: boolean };
    kept.set((entry.line ?? entry.row)!, entry.eval_like === true);
  }
  return kept;
}

/** Stream the kept records of every shard, in input order. */
async function* keptRecords(inputs: ResolvedInput[], fields: FieldMap, outDir: string, sourceIndex: Map<string, number>, batchSize: number, progress: Progress): AsyncGenerator<KeptRecord[]> {
  for (const [shard, input] of inputs.entries()) {
    const kept = await keptPositions(outDir, shard, input);
    const size = statSync(input.path).size;
    if (kept.size === 0) {
      progress.advance(0, size);
      continue;
    }
    let bytesBefore = 0;
    for await (const batch of readRecords(input, fields, { batchSize })) {
      progress.advance(batch.length, batch.bytesRead - bytesBefore);
      bytesBefore = batch.bytesRead;
      const out: KeptRecord[] = [];
      for (let i = 0; i < batch.length; i++) {
        const flag = kept.get(batch.rows[i]);
        if (flag === undefined) continue;
        out.push({ source: sourceIndex.get(batch.sources[i])!, id: batch.ids[i], text: batch.texts[i], evalLike: flag });
      }
      if (out.length > 0) yield out;
    }
    progress.advance(0, Math.max(0, size - bytesBefore));
  }
}

/**
 * Token ids over the corpus vocabulary: the tokenizer's own for BPE; for `words`, the index of
 * each token in `vocabulary` (sorted distinct tokens of the kept documents and eval sets).
 */
export function corpusEncoder(tokenizer: Tokenizer, vocabulary: string[] | null): (text: string) => Uint32Array {
  if (tokenizer.vocabSize !== null) return (text) => tokenizer.encode(text);
  invariant(vocabulary !== null, 'corpusEncoder: words needs the corpus vocabulary');
  const ids = new Map(vocabulary.map((t, i) => [t, i]));
  return (text) =>
    Uint32Array.from(tokenizer.tokenize(text)!, (t) => {
      const id = ids.get(t);
      invariant(id !== undefined, `corpusEncoder: token ${JSON.stringify(t)} is not in the corpus vocabulary`);
      return id;
    });
}

export interface RetainedCorpusOptions {
  inputs: ResolvedInput[];
  fields: FieldMap;
  outDir: string;
  sources: string[];
  tokenizer: Tokenizer;
  evals: EvalSet[];
  backend: Backend;
  batchSize: number;
  /** Write each kept record to this JSONL file (for materializing the sampling plan). */
  keptStore?: string;
  /** Progress display (the CLI passes one on a terminal). */
  progress?: ProgressFactory;
}

export async function retainedCorpus(options: RetainedCorpusOptions): Promise<RetainedCorpus> {
  const { inputs, fields, outDir, sources, tokenizer, evals, backend, batchSize } = options;
  const sourceIndex = new Map(sources.map((s, i) => [s, i]));
  // The words tokenizer reads the kept records twice: its vocabulary first, then the counts.
  const passes = tokenizer.vocabSize === null ? 2 : 1;
  const totalBytes = passes * inputs.reduce((sum, input) => sum + statSync(input.path).size, 0);
  const progress = options.progress?.('mix: token histograms', totalBytes, 'bytes') ?? silentProgress;
  const scan = () => keptRecords(inputs, fields, outDir, sourceIndex, batchSize, progress);

  let vocabulary: string[] | null = null;
  let vocabSize: number;
  if (tokenizer.vocabSize === null) {
    const distinct = new Set<string>();
    for await (const batch of scan()) for (const r of batch) for (const t of tokenizer.tokenize(r.text)!) distinct.add(t);
    for (const set of evals) for (const text of set.texts) for (const t of tokenizer.tokenize(text)!) distinct.add(t);
    vocabulary = [...distinct].sort(compareCodePoints);
    vocabSize = Math.max(1, vocabulary.length);
  } else {
    vocabSize = tokenizer.vocabSize;
  }
  const encode = corpusEncoder(tokenizer, vocabulary);

  const K = sources.length;
  const accumulator = createHistogramAccumulator(backend, { numSources: K, vocabSize });
  const retainedDocs = new Array<number>(K).fill(0);
  const leakTokens = new Array<number>(K).fill(0);
  const docTokens: number[][] = sources.map(() => []);
  const docRefs: RetainedCorpus['docRefs'] = options.keptStore ? sources.map(() => []) : null;
  const store = options.keptStore ? createWriteStream(options.keptStore) : null;
  let storeBytes = 0;
  try {
    for await (const batch of scan()) {
      const encoded = batch.map((r) => encode(r.text));
      const offsets = new Uint32Array(batch.length + 1);
      encoded.forEach((ids, i) => (offsets[i + 1] = offsets[i] + ids.length));
      const ids = new Uint32Array(offsets[batch.length]);
      encoded.forEach((e, i) => ids.set(e, offsets[i]));
      await accumulator.add({
        offsets,
        ids,
        sources: Uint32Array.from(batch, (r) => r.source),
        keep: new Uint8Array(batch.length).fill(1),
      });
      for (const [i, r] of batch.entries()) {
        retainedDocs[r.source]++;
        docTokens[r.source].push(encoded[i].length);
        if (r.evalLike) leakTokens[r.source] += encoded[i].length;
        if (store && docRefs) {
          const line = `${JSON.stringify({ id: r.id, source: sources[r.source], text: r.text })}\n`;
          const length = Buffer.byteLength(line);
          docRefs[r.source].push({ offset: storeBytes, length });
          storeBytes += length;
          if (!store.write(line)) await once(store, 'drain');
        }
      }
    }
    if (store) {
      store.end();
      await once(store, 'finish');
    }
    progress.done();
    const counts = await accumulator.read();
    const evalCounts = new Map<string, Float64Array>();
    for (const set of evals) {
      const row = new Float64Array(vocabSize);
      for (const text of set.texts) for (const id of encode(text)) row[id]++;
      evalCounts.set(set.name, row);
    }
    for (let s = 0; s < K; s++) {
      const fromDocs = docTokens[s].reduce((a, b) => a + b, 0);
      invariant(fromDocs === accumulator.tokensPerSource[s], `source ${sources[s]}: histogram mass ${accumulator.tokensPerSource[s]} != document tokens ${fromDocs}`);
    }
    return { sources, vocabSize, vocabulary, counts, retainedDocs, leakTokens, docTokens, docRefs, evalCounts };
  } finally {
    accumulator.destroy();
    store?.destroy();
  }
}
