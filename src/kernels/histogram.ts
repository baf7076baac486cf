/**
 * Host side of the token-weighted histogram kernel (SPEC §3 C_i(v), shaders/histogram.wgsl).
 *
 * The GPU accumulator keeps a 64-bit (lo, hi) u32 pair per (source, token) cell resident across
 * batches and reads it back once, so counts never overflow between batches and the result is exact
 * (bit-identical to the CPU oracle in src/cpu/histogram.ts). The table is split by vocabulary range
 * when K×V×8 bytes exceed one storage binding, and each batch is split into token chunks that fit
 * the bindings; both plans are pure functions tested in test/histogram.test.ts.
 */
import type { Backend } from '../backend.js';
import { TokenmixError, invariant } from '../errors.js';
import { BufferUsage } from '../gpu/constants.js';
import type { GpuContext } from '../gpu/context.js';
import { readBack, uploadStorage, uploadUniform, type BoundBuffer } from '../gpu/buffers.js';
import { planGrid, planRanges, workgroupsFor, type DispatchGrid, type ItemRange } from '../gpu/dispatch.js';
import { dispatch } from '../gpu/run.js';
import { timed, type PhaseTimes } from '../gpu/timing.js';
import {
  CpuHistogramAccumulator,
  countTooLarge,
  documentOf,
  validateCountTable,
  validateHistogramConfig,
  validateTokenBatch,
  type HistogramAccumulator,
  type HistogramConfig,
  type TokenBatch,
} from '../cpu/histogram.js';

export type { HistogramAccumulator, HistogramConfig, TokenBatch } from '../cpu/histogram.js';

const DEFAULT_WORKGROUP_SIZE = 256;
/** Marks a dropped document in the per-document source table (shaders/histogram.wgsl DROPPED). */
const DROPPED = 0xffffffff;
const BYTES_PER_CELL = 8;
/** A count is exact in a double while its high word stays below 2^21 (2^53 = 2^21 · 2^32). */
const MAX_EXACT_HIGH_WORD = 2 ** 21;

/**
 * Vocabulary ranges whose count tables (K × width cells of 8 bytes) each fit one storage binding.
 */
export function planVocabRanges(numSources: number, vocabSize: number, maxBindingBytes: number): ItemRange[] {
  if (numSources * BYTES_PER_CELL > maxBindingBytes) {
    throw new TokenmixError(
      `histogram: ${numSources} sources need ${numSources * BYTES_PER_CELL} bytes per token column, more than the GPU's ${maxBindingBytes}-byte storage binding; use fewer sources or the CPU backend`,
    );
  }
  return planRanges(vocabSize, vocabSize, maxBindingBytes, (start, end) => numSources * (end - start) * BYTES_PER_CELL);
}

/** A contiguous run of tokens and the documents it touches: one dispatch of the count entry point. */
export interface TokenChunk {
  tokenStart: number;
  tokenEnd: number;
  /** First document overlapping the chunk (the one containing tokenStart). */
  docStart: number;
  /** One past the last document the chunk touches. */
  docEnd: number;
}

/**
 * Split a CSR batch into chunks of at most `maxTokens` tokens touching at most `maxDocs` documents
 * (both bounded by the storage binding size). A chunk may start or end inside a document, so a
 * single document longer than a binding is still counted.
 */
export function planTokenChunks(offsets: Uint32Array, maxTokens: number, maxDocs: number): TokenChunk[] {
  invariant(maxTokens >= 1 && maxDocs >= 1, 'token chunks need room for one token and one document');
  const totalTokens = offsets[offsets.length - 1] ?? 0;
  const chunks: TokenChunk[] = [];
  let tokenStart = 0;
  while (tokenStart < totalTokens) {
    const docStart = documentOf(offsets, tokenStart);
    let tokenEnd = Math.min(totalTokens, tokenStart + maxTokens);
    let docEnd = documentOf(offsets, tokenEnd - 1) + 1;
    if (docEnd - docStart > maxDocs) {
      docEnd = docStart + maxDocs;
      tokenEnd = offsets[docEnd];
    }
    chunks.push({ tokenStart, tokenEnd, docStart, docEnd });
    tokenStart = tokenEnd;
  }
  return chunks;
}

export interface HistogramOptions {
  /** Invocations per workgroup (an override constant: a different value compiles another pipeline). */
  workgroupSize?: number;
  /** Cap on tokens per dispatch below the binding limit (tests use it to force several chunks). */
  maxTokensPerDispatch?: number;
  /** Cap on one count-table binding below the adapter limit (tests use it to force vocabulary splits). */
  maxTableBindingBytes?: number;
  /** Cap on workgroups per grid dimension below the adapter's (tests reach the 2D grid cheaply). */
  maxWorkgroupsPerDimension?: number;
}

/** An accumulator on the chosen backend (SPEC §3 counts; same results on both). */
export function createHistogramAccumulator(
  backend: Backend,
  config: HistogramConfig,
  options: HistogramOptions = {},
): HistogramAccumulator {
  if (backend.kind === 'cpu') return new CpuHistogramAccumulator(config.numSources, config.vocabSize);
  return new GpuHistogramAccumulator(backend.ctx, config, options);
}

interface VocabTable extends BoundBuffer {
  range: ItemRange;
}

export class GpuHistogramAccumulator implements HistogramAccumulator {
  readonly numSources: number;
  readonly vocabSize: number;
  private readonly tables: VocabTable[];
  private readonly retained: Float64Array;
  private readonly workgroupSize: number;
  private readonly maxTokens: number;
  private readonly maxWorkgroupsPerDimension: number;
  private destroyed = false;

  constructor(private readonly ctx: GpuContext, config: HistogramConfig, options: HistogramOptions = {}) {
    validateHistogramConfig(config);
    ctx.assertHealthy();
    this.numSources = config.numSources;
    this.vocabSize = config.vocabSize;
    this.retained = new Float64Array(config.numSources);
    this.workgroupSize = options.workgroupSize ?? DEFAULT_WORKGROUP_SIZE;
    invariant(
      Number.isInteger(this.workgroupSize) && this.workgroupSize >= 1 && this.workgroupSize <= ctx.limits.maxComputeInvocationsPerWorkgroup,
      `bad histogram workgroup size ${this.workgroupSize}`,
    );
    const maxBinding = ctx.limits.maxStorageBufferBindingSize;
    this.maxWorkgroupsPerDimension = Math.min(ctx.limits.maxComputeWorkgroupsPerDimension, options.maxWorkgroupsPerDimension ?? Infinity);
    this.maxTokens = Math.max(1, Math.min(Math.floor(maxBinding / 4), options.maxTokensPerDispatch ?? Infinity));
    const tableLimit = Math.min(maxBinding, options.maxTableBindingBytes ?? Infinity);
    // Resident for the accumulator's life, so created and destroyed here rather than pooled.
    // WebGPU zero-initializes new buffers.
    this.tables = planVocabRanges(config.numSources, config.vocabSize, tableLimit).map((range, index) => {
      const bytes = config.numSources * (range.end - range.start) * BYTES_PER_CELL;
      const buffer = ctx.device.createBuffer({
        label: `histogram:counts[${index}] tokens ${range.start}..${range.end}`,
        size: bytes,
        usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
      });
      return { buffer, bytes, range };
    });
  }

  async add(batch: TokenBatch, times?: PhaseTimes): Promise<void> {
    this.assertLive();
    validateTokenBatch(batch, this);
    const { offsets, ids, sources, keep } = batch;
    let anyKept = false;
    for (let doc = 0; doc < sources.length; doc++) {
      if (keep[doc] === 0) continue;
      anyKept = true;
      this.retained[sources[doc]] += offsets[doc + 1] - offsets[doc];
    }
    if (!anyKept || ids.length === 0) return;
    const ctx = this.ctx;
    await ctx.checked('histogram count', async () => {
      const pipeline = await ctx.pipelines.get('histogram', {
        entryPoint: 'count',
        constants: { WORKGROUP_SIZE: this.workgroupSize },
        times,
      });
      for (const chunk of planTokenChunks(offsets, this.maxTokens, this.maxTokens)) {
        await this.countChunk(pipeline, batch, chunk, times);
      }
    });
  }

  private async countChunk(pipeline: GPUComputePipeline, batch: TokenBatch, chunk: TokenChunk, times?: PhaseTimes): Promise<void> {
    const ctx = this.ctx;
    const docCount = chunk.docEnd - chunk.docStart;
    const docStarts = new Uint32Array(docCount);
    const docSources = new Uint32Array(docCount);
    let anyKept = false;
    for (let i = 0; i < docCount; i++) {
      const doc = chunk.docStart + i;
      docStarts[i] = Math.max(batch.offsets[doc], chunk.tokenStart) - chunk.tokenStart;
      docSources[i] = batch.keep[doc] === 1 ? batch.sources[doc] : DROPPED;
      anyKept ||= batch.keep[doc] === 1;
    }
    if (!anyKept) return;
    const tokenCount = chunk.tokenEnd - chunk.tokenStart;
    const grid = this.grid(tokenCount);
    const inputs = await timed(times, 'uploadMs', ctx.device.queue, () => [
      uploadStorage(ctx.device, ctx.buffers, docStarts, 'histogram:doc-starts'),
      uploadStorage(ctx.device, ctx.buffers, docSources, 'histogram:doc-sources'),
      uploadStorage(ctx.device, ctx.buffers, batch.ids.subarray(chunk.tokenStart, chunk.tokenEnd), 'histogram:ids'),
    ]);
    const uniforms: BoundBuffer[] = [];
    try {
      await timed(times, 'dispatchMs', ctx.device.queue, () => {
        for (const table of this.tables) {
          const params = this.params(tokenCount, docCount, table.range, grid);
          uniforms.push(params);
          dispatch(ctx, pipeline, [params, ...inputs, table], grid, 'histogram:count');
        }
      });
    } finally {
      ctx.buffers.release(...inputs.map((b) => b.buffer), ...uniforms.map((b) => b.buffer));
    }
  }

  async addCounts(counts: Float64Array, times?: PhaseTimes): Promise<void> {
    this.assertLive();
    validateCountTable(counts, this);
    const ctx = this.ctx;
    await ctx.checked('histogram merge', async () => {
      const pipeline = await ctx.pipelines.get('histogram', {
        entryPoint: 'merge',
        constants: { WORKGROUP_SIZE: this.workgroupSize },
        times,
      });
      for (const table of this.tables) {
        const width = table.range.end - table.range.start;
        const cells = this.numSources * width;
        const deltas = new Uint32Array(2 * cells);
        for (let source = 0; source < this.numSources; source++) {
          for (let column = 0; column < width; column++) {
            const value = counts[source * this.vocabSize + table.range.start + column];
            const cell = source * width + column;
            deltas[2 * cell] = value % 2 ** 32;
            deltas[2 * cell + 1] = Math.floor(value / 2 ** 32);
          }
        }
        const grid = this.grid(cells);
        const params = this.params(cells, 0, table.range, grid);
        const deltaBuffer = uploadStorage(ctx.device, ctx.buffers, deltas, 'histogram:merge-deltas');
        try {
          dispatchBindings(ctx, pipeline, [[0, params], [4, table], [5, deltaBuffer]], grid, 'histogram:merge');
        } finally {
          ctx.buffers.release(params.buffer, deltaBuffer.buffer);
        }
      }
    });
    for (let source = 0; source < this.numSources; source++) {
      for (let v = 0; v < this.vocabSize; v++) this.retained[source] += counts[source * this.vocabSize + v];
    }
  }

  async read(times?: PhaseTimes): Promise<Float64Array> {
    this.assertLive();
    const ctx = this.ctx;
    const counts = new Float64Array(this.numSources * this.vocabSize);
    await ctx.checked('histogram read', () =>
      timed(times, 'readbackMs', ctx.device.queue, async () => {
        for (const table of this.tables) {
          const words = new Uint32Array(await readBack(ctx.device, ctx.buffers, table.buffer, table.bytes, 'histogram:counts'));
          const width = table.range.end - table.range.start;
          for (let cell = 0; cell < words.length / 2; cell++) {
            const source = Math.floor(cell / width);
            const target = source * this.vocabSize + table.range.start + (cell % width);
            if (words[2 * cell + 1] >= MAX_EXACT_HIGH_WORD) throw countTooLarge(target, this.vocabSize);
            counts[target] = words[2 * cell + 1] * 2 ** 32 + words[2 * cell];
          }
        }
      }),
    );
    // Every retained token lands in exactly one cell of its source's row (checkable while exact).
    for (let source = 0; source < this.numSources; source++) {
      let mass = 0;
      for (let v = 0; v < this.vocabSize; v++) mass += counts[source * this.vocabSize + v];
      if (mass > Number.MAX_SAFE_INTEGER) continue;
      invariant(mass === this.retained[source], `histogram row ${source} sums to ${mass}, expected ${this.retained[source]} retained tokens`);
    }
    return counts;
  }

  get tokensPerSource(): Float64Array {
    return this.retained.slice();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const table of this.tables) table.buffer.destroy();
  }

  private params(itemCount: number, docCount: number, range: ItemRange, grid: DispatchGrid): BoundBuffer {
    const words = new Uint32Array([itemCount, docCount, range.start, range.end - range.start, grid.x]);
    return uploadUniform(this.ctx.device, this.ctx.buffers, words, 'histogram:params');
  }

  private grid(items: number): DispatchGrid {
    return planGrid(workgroupsFor(items, this.workgroupSize), this.maxWorkgroupsPerDimension);
  }

  private assertLive(): void {
    if (this.destroyed) throw new TokenmixError('histogram accumulator used after destroy(); create a new one');
    this.ctx.assertHealthy();
  }
}

/** Like gpu/run.ts dispatch(), for an entry point whose bindings are not 0..n-1. */
function dispatchBindings(
  ctx: GpuContext,
  pipeline: GPUComputePipeline,
  bindings: [number, BoundBuffer][],
  grid: DispatchGrid,
  label: string,
): void {
  if (grid.x === 0) return;
  const device = ctx.device;
  const group = device.createBindGroup({
    label: `${label}:bindings`,
    layout: pipeline.getBindGroupLayout(0),
    entries: bindings.map(([binding, b]) => ({ binding, resource: { buffer: b.buffer, offset: 0, size: b.bytes } })),
  });
  const encoder = device.createCommandEncoder({ label: `${label}:encoder` });
  const pass = encoder.beginComputePass({ label: `${label}:pass` });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(grid.x, grid.y, grid.z);
  pass.end();
  device.queue.submit([encoder.finish()]);
}
