/**
 * The retained corpus as the mixture engine needs it (SPEC §3): per-source token histograms
 * C_i(v) of the documents curation kept (exact integer counts, identical on GPU and CPU),
 * retained documents, leak tokens of eval-like kept documents, per-document token counts in
 * canonical order (for the sampling plan), and the eval sets' token counts over the same
 * vocabulary.
 *
 * One read of the kept records on this thread; their tokenizing, the pass's cost, runs batch by
 * batch on the run's workers (encode-task.ts), a few batches ahead, taken back in order.
 *
 * Vocabulary: a BPE tokenizer's own ids (V = its vocabulary size), counted on the chosen
 * backend's histogram kernel; for `words`, the distinct tokens of the kept documents and the
 * eval sets, sorted by code point (V = their number), so ids never depend on reading order or
 * sharding: its counts are kept per token as batches arrive and ranked at the end.
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
import { encodeTexts, type EncodedBatch } from './encode-task.js';

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
  /**
   * Tokenizes a batch of texts (encode-task.ts), e.g. as a task on the run's workers; default:
   * on this thread with `tokenizer`. The result does not depend on where it runs.
   */
  encodeBatch?: (texts: string[]) => Promise<EncodedBatch>;
  /** Batches being tokenized at once (default 4; the run's workers × 2 keeps them busy). */
  inFlight?: number;
}

/**
 * `words` counts while the corpus vocabulary is still unknown: each distinct token gets a
 * provisional id in first-seen order, and its counts per source grow with it; at the end the
 * provisional ids are ranked by the sorted vocabulary.
 */
class ProvisionalCounts {
  readonly index = new Map<string, number>();
  private counts: Float64Array;
  readonly tokensPerSource: number[];
  constructor(private readonly sources: number) {
    this.counts = new Float64Array(sources * 1024);
    this.tokensPerSource = new Array<number>(sources).fill(0);
  }

  /** Adds a batch (encode-task.ts, words) whose texts belong to `sources[i]`. */
  add(batch: EncodedBatch, sources: Uint32Array): void {
    const vocab = batch.vocab!;
    const global = new Uint32Array(vocab.length);
    vocab.forEach((token, local) => {
      let id = this.index.get(token);
      if (id === undefined) {
        id = this.index.size;
        this.index.set(token, id);
      }
      global[local] = id;
    });
    if (this.index.size * this.sources > this.counts.length) {
      const grown = new Float64Array(Math.max(2 * this.counts.length, this.index.size * this.sources));
      grown.set(this.counts);
      this.counts = grown;
    }
    let at = 0;
    for (let i = 0; i < batch.lengths.length; i++) {
      const source = sources[i];
      for (let end = at + batch.lengths[i]; at < end; at++) this.counts[global[batch.ids[at]] * this.sources + source]++;
      this.tokensPerSource[source] += batch.lengths[i];
    }
  }

  /** K×V counts (row-major) over `vocabulary`, which holds every token counted. */
  ranked(vocabulary: string[]): Float64Array {
    const V = Math.max(1, vocabulary.length);
    const rank = new Map(vocabulary.map((t, i) => [t, i]));
    const out = new Float64Array(this.sources * V);
    for (const [token, id] of this.index) {
      const r = rank.get(token)!;
      for (let s = 0; s < this.sources; s++) out[s * V + r] = this.counts[id * this.sources + s];
    }
    return out;
  }
}

export async function retainedCorpus(options: RetainedCorpusOptions): Promise<RetainedCorpus> {
  const { inputs, fields, outDir, sources, tokenizer, evals, backend, batchSize } = options;
  const sourceIndex = new Map(sources.map((s, i) => [s, i]));
  const totalBytes = inputs.reduce((sum, input) => sum + statSync(input.path).size, 0);
  const progress = options.progress?.('mix: token histograms', totalBytes, 'bytes') ?? silentProgress;
  const encodeBatch = options.encodeBatch ?? ((texts: string[]) => Promise.resolve(encodeTexts(tokenizer, texts)));
  const inFlight = Math.max(1, options.inFlight ?? 4);
  const words = tokenizer.vocabSize === null;

  const K = sources.length;
  // BPE ids are final: they go to the backend's accumulator batch by batch. `words` ids are
  // ranks in the sorted vocabulary of everything counted, so its counts wait for the end.
  const accumulator = words ? null : createHistogramAccumulator(backend, { numSources: K, vocabSize: tokenizer.vocabSize! });
  const provisional = words ? new ProvisionalCounts(K) : null;
  const retainedDocs = new Array<number>(K).fill(0);
  const leakTokens = new Array<number>(K).fill(0);
  const docTokens: number[][] = sources.map(() => []);
  const docRefs: RetainedCorpus['docRefs'] = options.keptStore ? sources.map(() => []) : null;
  const store = options.keptStore ? createWriteStream(options.keptStore) : null;
  let storeBytes = 0;
  // Batches are tokenized ahead (on the workers) and taken back in order.
  const ahead: { batch: KeptRecord[]; encoded: Promise<EncodedBatch> }[] = [];
  const take = async (): Promise<void> => {
    const { batch, encoded: pending } = ahead.shift()!;
    const encoded = await pending;
    const batchSources = Uint32Array.from(batch, (r) => r.source);
    if (provisional) provisional.add(encoded, batchSources);
    else {
      const offsets = new Uint32Array(batch.length + 1);
      for (let i = 0; i < batch.length; i++) offsets[i + 1] = offsets[i] + encoded.lengths[i];
      await accumulator!.add({ offsets, ids: encoded.ids, sources: batchSources, keep: new Uint8Array(batch.length).fill(1) });
    }
    for (const [i, r] of batch.entries()) {
      const tokens = encoded.lengths[i];
      retainedDocs[r.source]++;
      docTokens[r.source].push(tokens);
      if (r.evalLike) leakTokens[r.source] += tokens;
      if (store && docRefs) {
        const line = `${JSON.stringify({ id: r.id, source: sources[r.source], text: r.text })}\n`;
        const length = Buffer.byteLength(line);
        docRefs[r.source].push({ offset: storeBytes, length });
        storeBytes += length;
        if (!store.write(line)) await once(store, 'drain');
      }
    }
  };
  try {
    try {
      for await (const batch of keptRecords(inputs, fields, outDir, sourceIndex, batchSize, progress)) {
        ahead.push({ batch, encoded: encodeBatch(batch.map((r) => r.text)) });
        if (ahead.length >= inFlight) await take();
      }
      while (ahead.length > 0) await take();
    } finally {
      // A failed batch: the others still run; let them settle unobserved.
      for (const { encoded } of ahead) encoded.catch(() => {});
    }
    if (store) {
      store.end();
      await once(store, 'finish');
    }
    progress.done();

    let vocabulary: string[] | null = null;
    let vocabSize: number;
    let counts: Float64Array;
    let tokensPerSource: ArrayLike<number>;
    if (provisional) {
      // The vocabulary: every token of the kept documents and of the eval sets, by code point.
      const distinct = new Set(provisional.index.keys());
      for (const set of evals) for (const text of set.texts) for (const t of tokenizer.tokenize(text)!) distinct.add(t);
      vocabulary = [...distinct].sort(compareCodePoints);
      vocabSize = Math.max(1, vocabulary.length);
      counts = provisional.ranked(vocabulary);
      tokensPerSource = provisional.tokensPerSource;
    } else {
      vocabSize = tokenizer.vocabSize!;
      counts = await accumulator!.read();
      tokensPerSource = accumulator!.tokensPerSource;
    }
    const encode = corpusEncoder(tokenizer, vocabulary);
    const evalCounts = new Map<string, Float64Array>();
    for (const set of evals) {
      const row = new Float64Array(vocabSize);
      for (const text of set.texts) for (const id of encode(text)) row[id]++;
      evalCounts.set(set.name, row);
    }
    for (let s = 0; s < K; s++) {
      const fromDocs = docTokens[s].reduce((a, b) => a + b, 0);
      invariant(fromDocs === tokensPerSource[s], `source ${sources[s]}: histogram mass ${tokensPerSource[s]} != document tokens ${fromDocs}`);
    }
    return { sources, vocabSize, vocabulary, counts, retainedDocs, leakTokens, docTokens, docRefs, evalCounts };
  } finally {
    accumulator?.destroy();
    store?.destroy();
  }
}
