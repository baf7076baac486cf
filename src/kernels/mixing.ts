/**
 * Host side of the mixture-loss kernel (SPEC §4 losses for a batch of SPEC §5 candidates,
 * shaders/mixing.wgsl). P and the eval distributions are uploaded once per evaluator (as f32);
 * every batch of candidates then goes through one dispatch unless the bindings or the work per
 * dispatch say otherwise (planMixingDispatches, a pure function with its own tests). Each
 * invocation's partial sums come back and are added in a fixed order in f64: deterministic, no
 * float atomics. Measured on llvmpipe, a shared-memory reduction tree cost more than the sums.
 */
import type { Backend } from '../backend.js';
import { TokenmixError, invariant } from '../errors.js';
import type { GpuContext } from '../gpu/context.js';
import { readBack, uploadStorage, uploadUniform, zeroedStorage, type BoundBuffer } from '../gpu/buffers.js';
import { planGrid, planRanges, type ItemRange } from '../gpu/dispatch.js';
import { dispatch } from '../gpu/run.js';
import { timed, type PhaseTimes } from '../gpu/timing.js';
import { mixtureLossesCpu, validateMixtureInput, type MixtureLossInput } from '../cpu/mixing.js';

export type { MixtureLossInput } from '../cpu/mixing.js';

/** Must match shaders/mixing.wgsl CANDIDATES, SOURCES and EVALS. */
export const CANDIDATES_PER_GROUP = 16;
export const SOURCES_PER_BLOCK = 16;
export const EVALS_PER_GROUP = 8;
export const MIXING_WORKGROUP_SIZE = 32;
const WORKGROUP_SIZE = MIXING_WORKGROUP_SIZE;
/** Vocabulary columns one workgroup sums (a multiple of the workgroup size). */
export const TILE_WIDTH = 2048;
/**
 * Candidate × vocabulary cells per dispatch: bounds the run time of one dispatch (desktop driver
 * watchdogs kill long ones) while keeping the usual batch (hundreds of candidates over a 100k
 * vocabulary) in one dispatch.
 */
export const MAX_CELLS_PER_DISPATCH = 2 ** 27;

export interface MixingLimits {
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupsPerDimension: number;
}

export interface MixingShape {
  numSources: number;
  vocabSize: number;
  numCandidates: number;
  numEvals: number;
}

export interface MixingPlan {
  /** Vocabulary chunks: each holds its K×width slice of P and E×width slice of the evals. */
  vocabChunks: ItemRange[];
  /** Candidate ranges dispatched against every chunk. */
  candidateRanges: ItemRange[];
}

/** Workgroups along the vocabulary for a chunk of `width` columns. */
export function tilesFor(width: number, tileWidth = TILE_WIDTH): number {
  return Math.max(1, Math.ceil(width / tileWidth));
}

/**
 * Vocabulary chunks (whole tiles each) whose P and eval slices each fit one storage binding, and
 * whose per-invocation partial sums for one block of candidates do too.
 */
export function planVocabChunks(shape: Pick<MixingShape, 'numSources' | 'vocabSize' | 'numEvals'>, maxBindingBytes: number, tileWidth = TILE_WIDTH): ItemRange[] {
  invariant(Number.isInteger(tileWidth) && tileWidth >= 1, `tile width must be a positive integer, got ${tileWidth}`);
  const rowsPerColumn = Math.max(shape.numSources, shape.numEvals, 1);
  const tilesByPartials = Math.floor(maxBindingBytes / (partialFloats(1, Math.max(1, shape.numEvals), 1) * 4));
  const columnsPerBinding = Math.min(Math.floor(maxBindingBytes / (4 * rowsPerColumn) / tileWidth), tilesByPartials) * tileWidth;
  if (columnsPerBinding < 1) {
    throw new TokenmixError(
      `mixture losses: ${rowsPerColumn} sources or evals do not fit one ${maxBindingBytes}-byte GPU binding per ${tileWidth} tokens; use the CPU backend`,
    );
  }
  return planRanges(shape.vocabSize, columnsPerBinding, Infinity, () => 0);
}

/**
 * Candidate ranges so that weights and partial sums fit one binding, the grid fits two
 * dimensions, and no dispatch exceeds `maxCellsPerDispatch` candidate × column cells.
 */
export function planCandidateRanges(
  shape: MixingShape,
  vocabChunks: ItemRange[],
  limits: MixingLimits,
  tileWidth = TILE_WIDTH,
  maxCellsPerDispatch = MAX_CELLS_PER_DISPATCH,
): ItemRange[] {
  const { numSources, numCandidates, numEvals } = shape;
  const widest = vocabChunks.reduce((w, r) => Math.max(w, r.end - r.start), 1);
  const tiles = tilesFor(widest, tileWidth);
  const evalBlocks = Math.max(1, Math.ceil(numEvals / EVALS_PER_GROUP));
  const byWork = Math.floor(maxCellsPerDispatch / widest);
  const byGrid = Math.floor(limits.maxComputeWorkgroupsPerDimension ** 2 / (tiles * evalBlocks)) * CANDIDATES_PER_GROUP;
  const maxItems = Math.max(1, Math.min(byWork, byGrid));
  return planRanges(numCandidates, maxItems, limits.maxStorageBufferBindingSize, (start, end) =>
    Math.max(partialFloats(end - start, numEvals, tiles), weightFloats(end - start, numSources)) * 4,
  );
}

/** Knobs for tests and benchmarks; the defaults are what the engine uses. */
export interface MixingOptions {
  /** Vocabulary columns per workgroup (default TILE_WIDTH). */
  tileWidth?: number;
  /** Cap on one binding below the adapter limit (forces vocabulary chunks and candidate ranges). */
  maxBindingBytes?: number;
  /** Candidate × column cells per dispatch (default MAX_CELLS_PER_DISPATCH). */
  maxCellsPerDispatch?: number;
  /** Cap on workgroups per grid dimension below the adapter's (tests reach the 2D grid cheaply). */
  maxWorkgroupsPerDimension?: number;
}

export function planMixingDispatches(shape: MixingShape, limits: MixingLimits, options: MixingOptions = {}): MixingPlan {
  const effective = effectiveLimits(limits, options);
  const tileWidth = options.tileWidth ?? TILE_WIDTH;
  const vocabChunks = planVocabChunks(shape, effective.maxStorageBufferBindingSize, tileWidth);
  return {
    vocabChunks,
    candidateRanges: planCandidateRanges(shape, vocabChunks, effective, tileWidth, options.maxCellsPerDispatch),
  };
}

function effectiveLimits(limits: MixingLimits, options: MixingOptions): MixingLimits {
  return {
    maxStorageBufferBindingSize: Math.min(limits.maxStorageBufferBindingSize, options.maxBindingBytes ?? Infinity),
    maxComputeWorkgroupsPerDimension: Math.min(limits.maxComputeWorkgroupsPerDimension, options.maxWorkgroupsPerDimension ?? Infinity),
  };
}

function sourceBlocks(numSources: number): number {
  return Math.max(1, Math.ceil(numSources / SOURCES_PER_BLOCK));
}

/** Per-invocation partial sums of a dispatch (candidates padded to whole blocks). */
function partialFloats(candidates: number, numEvals: number, tiles: number): number {
  return Math.ceil(candidates / CANDIDATES_PER_GROUP) * CANDIDATES_PER_GROUP * numEvals * tiles * WORKGROUP_SIZE;
}

function weightFloats(candidates: number, numSources: number): number {
  return Math.ceil(candidates / CANDIDATES_PER_GROUP) * CANDIDATES_PER_GROUP * sourceBlocks(numSources) * SOURCES_PER_BLOCK;
}

interface ResidentChunk {
  range: ItemRange;
  distributions: BoundBuffer;
  evals: BoundBuffer;
}

/**
 * P and the evals resident on the GPU, for evaluating many batches of candidate weights against
 * them (an optimizer's iterations). destroy() returns the buffers to the pool.
 */
export class GpuMixtureEvaluator {
  private chunks: ResidentChunk[] | null;
  private readonly tileWidth: number;
  private readonly limits: MixingLimits;

  constructor(
    private readonly ctx: GpuContext,
    readonly shape: Omit<MixingShape, 'numCandidates'>,
    distributions: Float64Array | Float32Array,
    evals: Float64Array | Float32Array,
    private readonly options: MixingOptions = {},
    times?: PhaseTimes,
  ) {
    validateMixtureInput({ ...shape, distributions, evals, weights: new Float32Array(0), numCandidates: 0 });
    ctx.assertHealthy();
    const { numSources, vocabSize, numEvals } = shape;
    this.tileWidth = options.tileWidth ?? TILE_WIDTH;
    this.limits = effectiveLimits(ctx.limits, options);
    const start = performance.now();
    this.chunks = planVocabChunks(shape, this.limits.maxStorageBufferBindingSize, this.tileWidth).map((range) => ({
      range,
      distributions: uploadStorage(ctx.device, ctx.buffers, columnsF32(distributions, numSources, vocabSize, range), 'mixing:distributions'),
      evals: uploadStorage(ctx.device, ctx.buffers, columnsF32(evals, numEvals, vocabSize, range), 'mixing:evals'),
    }));
    if (times) times.uploadMs += performance.now() - start;
  }

  /** SPEC §4 losses of `numCandidates` candidates (weights row-major M×K); M×E row-major. */
  async evaluate(weights: Float64Array | Float32Array, numCandidates: number, times?: PhaseTimes): Promise<Float64Array> {
    const chunks = this.chunks;
    if (!chunks) throw new TokenmixError('mixture evaluator used after destroy(); create a new one');
    const shape = { ...this.shape, numCandidates };
    const { numSources, numEvals } = shape;
    if (weights.length !== numCandidates * numSources) {
      throw new TokenmixError(`mixture losses: weights has ${weights.length} values but numCandidates × numSources = ${numCandidates} × ${numSources}`);
    }
    const losses = new Float64Array(numCandidates * numEvals);
    if (losses.length === 0) return losses;
    const ctx = this.ctx;
    const ranges = planCandidateRanges(shape, chunks.map((c) => c.range), this.limits, this.tileWidth, this.options.maxCellsPerDispatch);
    return ctx.checked('mixture losses', async () => {
      const pipeline = await ctx.pipelines.get('mixing', { constants: { WORKGROUP_SIZE }, times });
      for (const range of ranges) {
        const packed = await timed(times, 'uploadMs', ctx.device.queue, () =>
          uploadStorage(ctx.device, ctx.buffers, packWeights(weights, numSources, range), 'mixing:weights'),
        );
        try {
          for (const chunk of chunks) {
            const tiles = tilesFor(chunk.range.end - chunk.range.start, this.tileWidth);
            const partials = await this.runDispatch(pipeline, chunk, packed, range, tiles, times);
            // Fixed order: chunk by chunk, tile by tile, invocation by invocation, in f64
            // (SPEC §4 has the minus sign). Layout: see `partials` in shaders/mixing.wgsl.
            const perRow = tiles * WORKGROUP_SIZE;
            for (let local = 0; local < range.end - range.start; local++) {
              const groupOf4 = Math.floor(local / 4);
              const component = local % 4;
              for (let e = 0; e < numEvals; e++) {
                const base = (groupOf4 * numEvals + e) * perRow;
                let sum = 0;
                for (let i = 0; i < perRow; i++) sum += partials[(base + i) * 4 + component];
                losses[(range.start + local) * numEvals + e] -= sum;
              }
            }
          }
        } finally {
          ctx.buffers.release(packed.buffer);
        }
      }
      return losses;
    });
  }

  private async runDispatch(
    pipeline: GPUComputePipeline,
    chunk: ResidentChunk,
    weights: BoundBuffer,
    range: ItemRange,
    tiles: number,
    times: PhaseTimes | undefined,
  ): Promise<Float32Array> {
    const ctx = this.ctx;
    const { numSources, numEvals } = this.shape;
    const count = range.end - range.start;
    const candidateBlocks = Math.ceil(count / CANDIDATES_PER_GROUP);
    const evalBlocks = Math.ceil(numEvals / EVALS_PER_GROUP);
    const grid = planGrid(tiles * candidateBlocks * evalBlocks, this.limits.maxComputeWorkgroupsPerDimension);
    const width = chunk.range.end - chunk.range.start;
    const params = uploadUniform(
      ctx.device,
      ctx.buffers,
      new Uint32Array([numSources, sourceBlocks(numSources), width, count, numEvals, this.tileWidth, tiles, candidateBlocks, evalBlocks, grid.x]),
      'mixing:params',
    );
    const partialBytes = partialFloats(count, numEvals, tiles) * 4;
    const partials = zeroedStorage(ctx.device, ctx.buffers, partialBytes, 'mixing:partials');
    try {
      await timed(times, 'dispatchMs', ctx.device.queue, () =>
        dispatch(ctx, pipeline, [params, chunk.distributions, weights, chunk.evals, partials], grid, 'mixing'),
      );
      return await timed(times, 'readbackMs', ctx.device.queue, async () =>
        new Float32Array(await readBack(ctx.device, ctx.buffers, partials.buffer, partialBytes, 'mixing:partials')),
      );
    } finally {
      ctx.buffers.release(params.buffer, partials.buffer);
    }
  }

  destroy(): void {
    if (!this.chunks) return;
    for (const chunk of this.chunks) this.ctx.buffers.release(chunk.distributions.buffer, chunk.evals.buffer);
    this.chunks = null;
  }
}

/**
 * Weights of candidates `range` in the shader's layout: per block of 16 candidates, per source
 * (padded to whole blocks of 16), 4 vec4 lanes of 4 candidates. Padding stays zero.
 */
function packWeights(weights: Float64Array | Float32Array, numSources: number, range: ItemRange): Float32Array {
  const packed = new Float32Array(weightFloats(range.end - range.start, numSources));
  const paddedSources = sourceBlocks(numSources) * SOURCES_PER_BLOCK;
  for (let local = 0; local < range.end - range.start; local++) {
    const block = Math.floor(local / CANDIDATES_PER_GROUP);
    const lane = Math.floor((local % CANDIDATES_PER_GROUP) / 4);
    const component = local % 4;
    for (let k = 0; k < numSources; k++) {
      packed[((block * paddedSources + k) * (CANDIDATES_PER_GROUP / 4) + lane) * 4 + component] = weights[(range.start + local) * numSources + k];
    }
  }
  return packed;
}

/** The rows×width column slice `chunk` of a rows×columns row-major matrix, as f32. */
function columnsF32(matrix: Float64Array | Float32Array, rows: number, columns: number, chunk: ItemRange): Float32Array {
  if (chunk.start === 0 && chunk.end === columns) {
    return matrix instanceof Float32Array ? matrix : Float32Array.from(matrix);
  }
  const width = chunk.end - chunk.start;
  const slice = new Float32Array(rows * width);
  for (let row = 0; row < rows; row++) {
    slice.set(matrix.subarray(row * columns + chunk.start, row * columns + chunk.end), row * width);
  }
  return slice;
}

/** SPEC §4 losses of every candidate on the GPU; M×E row-major, within f32 accuracy of the CPU oracle. */
export async function mixtureLossesGpu(
  ctx: GpuContext,
  input: MixtureLossInput,
  times?: PhaseTimes,
  options: MixingOptions = {},
): Promise<Float64Array> {
  validateMixtureInput(input);
  if (input.numCandidates === 0 || input.numEvals === 0) return new Float64Array(input.numCandidates * input.numEvals);
  const evaluator = new GpuMixtureEvaluator(ctx, input, input.distributions, input.evals, options, times);
  try {
    return await evaluator.evaluate(input.weights, input.numCandidates, times);
  } finally {
    evaluator.destroy();
  }
}

/** SPEC §4 losses on the chosen backend. */
export async function mixtureLosses(backend: Backend, input: MixtureLossInput, times?: PhaseTimes): Promise<Float64Array> {
  if (backend.kind === 'gpu') return mixtureLossesGpu(backend.ctx, input, times);
  return mixtureLossesCpu(input);
}
