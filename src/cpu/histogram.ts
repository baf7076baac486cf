/**
 * CPU oracle for the token-weighted histogram (SPEC §3: C_i(v) = count of token v in the retained
 * documents of source i). Written for clarity, independently of shaders/histogram.wgsl. Counts live in
 * a Float64Array, exact while every count stays below 2^53 (checked when read).
 */
import { TokenmixError } from '../errors.js';

/** One batch of tokenized documents in CSR form (document d owns ids[offsets[d] .. offsets[d+1])). */
export interface TokenBatch {
  /** N+1 non-decreasing token offsets, offsets[0] = 0, offsets[N] = ids.length. */
  offsets: Uint32Array;
  /** Token ids, each < vocabSize. */
  ids: Uint32Array;
  /** Source index of each document, each < numSources. */
  sources: Uint32Array;
  /** 1 = retained, 0 = dropped by curation (SPEC §2); only retained documents are counted. */
  keep: Uint8Array;
}

export interface HistogramConfig {
  /** K: number of sources (rows of the count table). */
  numSources: number;
  /** V: vocabulary size (columns of the count table). */
  vocabSize: number;
}

/**
 * Accumulates per-source token counts across batches. `read()` returns the K×V row-major table;
 * `tokensPerSource` the retained token mass M_i of each source (SPEC §3).
 */
export interface HistogramAccumulator {
  readonly numSources: number;
  readonly vocabSize: number;
  /** Count the retained documents of `batch`. */
  add(batch: TokenBatch): Promise<void>;
  /**
   * Merge an existing K×V count table (e.g. the histogram of shards completed by an earlier,
   * resumed run, SPEC §7). Values must be non-negative integers below 2^53.
   */
  addCounts(counts: Float64Array): Promise<void>;
  /** The K×V counts so far; throws if a count is no longer exact in a double (>= 2^53). */
  read(): Promise<Float64Array>;
  /** M_i: retained tokens per source so far (a copy). */
  readonly tokensPerSource: Float64Array;
  /** Free what the accumulator holds; safe to call twice. */
  destroy(): void;
}

/** Histogram of one batch, from scratch: the plainest statement of the spec. */
export function histogramCpu(batch: TokenBatch, config: HistogramConfig): Float64Array {
  validateTokenBatch(batch, config);
  const { numSources, vocabSize } = config;
  const counts = new Float64Array(numSources * vocabSize);
  const documents = batch.sources.length;
  for (let doc = 0; doc < documents; doc++) {
    if (batch.keep[doc] === 0) continue;
    const row = batch.sources[doc] * vocabSize;
    for (let t = batch.offsets[doc]; t < batch.offsets[doc + 1]; t++) counts[row + batch.ids[t]] += 1;
  }
  return counts;
}

export class CpuHistogramAccumulator implements HistogramAccumulator {
  private counts: Float64Array;
  private readonly retained: Float64Array;

  constructor(readonly numSources: number, readonly vocabSize: number) {
    validateHistogramConfig({ numSources, vocabSize });
    this.counts = new Float64Array(numSources * vocabSize);
    this.retained = new Float64Array(numSources);
  }

  async add(batch: TokenBatch): Promise<void> {
    const counts = this.live();
    validateTokenBatch(batch, this);
    const documents = batch.sources.length;
    for (let doc = 0; doc < documents; doc++) {
      if (batch.keep[doc] === 0) continue;
      const source = batch.sources[doc];
      const row = source * this.vocabSize;
      const start = batch.offsets[doc];
      const end = batch.offsets[doc + 1];
      for (let t = start; t < end; t++) counts[row + batch.ids[t]] += 1;
      this.retained[source] += end - start;
    }
  }

  async addCounts(table: Float64Array): Promise<void> {
    const counts = this.live();
    validateCountTable(table, this);
    for (let cell = 0; cell < table.length; cell++) counts[cell] += table[cell];
    for (let source = 0; source < this.numSources; source++) {
      let mass = 0;
      for (let v = 0; v < this.vocabSize; v++) mass += table[source * this.vocabSize + v];
      this.retained[source] += mass;
    }
  }

  async read(): Promise<Float64Array> {
    const counts = this.live();
    for (let cell = 0; cell < counts.length; cell++) {
      if (!Number.isSafeInteger(counts[cell])) throw countTooLarge(cell, this.vocabSize);
    }
    return counts.slice();
  }

  get tokensPerSource(): Float64Array {
    return this.retained.slice();
  }

  destroy(): void {
    this.counts = new Float64Array(0);
  }

  private live(): Float64Array {
    if (this.counts.length !== this.numSources * this.vocabSize) {
      throw new TokenmixError('histogram accumulator used after destroy(); create a new one');
    }
    return this.counts;
  }
}

/** Error for a count that reached 2^53 and can no longer be represented exactly. */
export function countTooLarge(cell: number, vocabSize: number): TokenmixError {
  const source = Math.floor(cell / vocabSize);
  return new TokenmixError(
    `token count of source ${source}, token ${cell % vocabSize} reached 2^53 and is no longer exact; split the corpus into several histograms`,
  );
}

export function validateHistogramConfig(config: HistogramConfig): void {
  const { numSources, vocabSize } = config;
  if (!Number.isInteger(numSources) || numSources < 1) {
    throw new TokenmixError(`histogram: numSources must be an integer >= 1, got ${numSources}`);
  }
  if (!Number.isInteger(vocabSize) || vocabSize < 1 || vocabSize > 2 ** 32 - 1) {
    throw new TokenmixError(`histogram: vocabSize must be an integer in [1, 2^32), got ${vocabSize}`);
  }
}

/**
 * Shared by both backends so bad input fails identically, before any GPU work: CSR shape, keep flags,
 * source indices and token ids. Errors name the document and token position.
 */
export function validateTokenBatch(batch: TokenBatch, config: HistogramConfig): void {
  const { offsets, ids, sources, keep } = batch;
  const documents = sources.length;
  if (offsets.length !== documents + 1 || keep.length !== documents) {
    throw new TokenmixError(
      `token batch: ${documents} documents need ${documents + 1} offsets and ${documents} keep flags, got ${offsets.length} and ${keep.length}`,
    );
  }
  if (offsets[0] !== 0 || offsets[documents] !== ids.length) {
    throw new TokenmixError(
      `token batch: offsets must start at 0 and end at ids.length = ${ids.length}, got ${offsets[0]} .. ${offsets[documents]}`,
    );
  }
  for (let doc = 0; doc < documents; doc++) {
    if (offsets[doc + 1] < offsets[doc]) {
      throw new TokenmixError(`token batch: offsets decrease at document ${doc} (${offsets[doc]} > ${offsets[doc + 1]})`);
    }
    if (sources[doc] >= config.numSources) {
      throw new TokenmixError(
        `token batch: document ${doc} has source ${sources[doc]}, but only ${config.numSources} sources are configured (0..${config.numSources - 1})`,
      );
    }
    if (keep[doc] > 1) throw new TokenmixError(`token batch: keep flag of document ${doc} is ${keep[doc]}, expected 0 or 1`);
  }
  // Find the largest id first (a tight loop); locate the culprit only when there is one.
  let largest = 0;
  for (let t = 0; t < ids.length; t++) if (ids[t] > largest) largest = ids[t];
  if (ids.length > 0 && largest >= config.vocabSize) {
    const position = ids.findIndex((id) => id >= config.vocabSize);
    const doc = documentOf(offsets, position);
    throw new TokenmixError(
      `token batch: document ${doc}, token ${position - offsets[doc]} has id ${ids[position]}, outside the vocabulary of ${config.vocabSize}; check the tokenizer and vocabSize`,
    );
  }
}

/** Document containing token `position` (largest d with offsets[d] <= position, skipping empty documents). */
export function documentOf(offsets: Uint32Array, position: number): number {
  let lo = 0;
  let hi = offsets.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid] <= position) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A merged count table must be K×V non-negative integers below 2^53 (both backends check it). */
export function validateCountTable(table: Float64Array, config: HistogramConfig): void {
  if (table.length !== config.numSources * config.vocabSize) {
    throw new TokenmixError(
      `histogram: a merged count table needs numSources × vocabSize = ${config.numSources * config.vocabSize} values, got ${table.length}`,
    );
  }
  for (let cell = 0; cell < table.length; cell++) {
    const value = table[cell];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new TokenmixError(
        `histogram: merged count of source ${Math.floor(cell / config.vocabSize)}, token ${cell % config.vocabSize} is ${value}; counts must be integers in [0, 2^53)`,
      );
    }
  }
}

