/**
 * Host side of the MinHash kernel (SPEC §2 near dedup): plans batches of documents against
 * the adapter's binding limit, uploads CSR word hashes and the hash-family constants, runs
 * shaders/minhash.wgsl (one workgroup per document) and reads the signatures back. The hash
 * family is specified in src/cpu/minhash.ts; both paths return identical bits.
 */
import type { Backend } from '../backend.js';
import { minhashConstants, minhashCpu, validateTokenBatch, type MinhashParams, type TokenBatch } from '../cpu/minhash.js';
import { readBack, uploadStorage, uploadUniform, type BoundBuffer } from '../gpu/buffers.js';
import { BufferUsage } from '../gpu/constants.js';
import type { GpuContext } from '../gpu/context.js';
import { alignBytes, planCsrRanges, type ItemRange } from '../gpu/dispatch.js';
import { dispatch, gridFor } from '../gpu/run.js';
import { timed, type PhaseTimes } from '../gpu/timing.js';

/**
 * Invocations per workgroup (one workgroup per document, 16 signature slots per invocation,
 * so K = 128 is one round). 8 = one AVX2 vector on llvmpipe; 16, 32 and 64 measured slower.
 */
export const MINHASH_WORKGROUP_SIZE = 8;

/** Knobs for tests and benchmarks; the defaults come from the adapter. */
export interface MinhashGpuOptions {
  /** Largest binding a batch may use (default: the adapter's maxStorageBufferBindingSize). */
  maxBindingBytes?: number;
  workgroupSize?: number;
}

/**
 * Split documents into contiguous ranges whose largest binding (word hashes, offsets or the
 * N*K output) fits in `maxBindingBytes`, with at most `maxDocs` documents (one workgroup
 * each) per range. Pure: tested on its own.
 */
export function planMinhashRanges(offsets: Uint32Array, numHashes: number, maxBindingBytes: number, maxDocs: number): ItemRange[] {
  return planCsrRanges(offsets, numHashes, maxBindingBytes, maxDocs, 'minhash');
}

/** MinHash signatures on the GPU: N*K u32, row-major by document, identical to minhashCpu. */
export async function minhashGpu(
  ctx: GpuContext,
  batch: TokenBatch,
  params: MinhashParams,
  times?: PhaseTimes,
  options: MinhashGpuOptions = {},
): Promise<Uint32Array> {
  const count = validateTokenBatch(batch);
  const constants = minhashConstants(params);
  const { numHashes } = constants;
  const signatures = new Uint32Array(count * numHashes);
  if (count === 0) return signatures;
  const workgroupSize = options.workgroupSize ?? MINHASH_WORKGROUP_SIZE;
  const maxPerDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  const ranges = planMinhashRanges(
    batch.offsets,
    numHashes,
    options.maxBindingBytes ?? ctx.limits.maxStorageBufferBindingSize,
    maxPerDim * maxPerDim,
  );
  return ctx.checked('minhash', async () => {
    const pipeline = await ctx.pipelines.get('minhash', { constants: { WORKGROUP_SIZE: workgroupSize }, times });
    const mixers = uploadStorage(ctx.device, ctx.buffers, constants.mixers, 'minhash:mixers');
    try {
      for (const range of ranges) {
        const rows = await runRange(ctx, pipeline, batch, range, constants.ngram, numHashes, constants.shingleSeed, mixers, times);
        signatures.set(rows, range.start * numHashes);
      }
    } finally {
      ctx.buffers.release(mixers.buffer);
    }
    return signatures;
  });
}

async function runRange(
  ctx: GpuContext,
  pipeline: GPUComputePipeline,
  batch: TokenBatch,
  range: ItemRange,
  ngram: number,
  numHashes: number,
  shingleSeed: number,
  mixers: BoundBuffer,
  times: PhaseTimes | undefined,
): Promise<Uint32Array> {
  const { device, buffers } = ctx;
  const docs = range.end - range.start;
  const first = batch.offsets[range.start];
  const grid = gridFor(ctx, docs);
  const outBytes = docs * numHashes * 4;
  const held: GPUBuffer[] = [];
  try {
    const bound = await timed(times, 'uploadMs', device.queue, () => {
      // Offsets rebased to this range so the shader indexes its own token slice.
      const offsets = batch.offsets.slice(range.start, range.end + 1);
      if (first !== 0) for (let i = 0; i < offsets.length; i++) offsets[i] -= first;
      const uniform = uploadUniform(device, buffers, new Uint32Array([docs, numHashes, ngram, shingleSeed, grid.x]), 'minhash:params');
      const offsetsBuffer = uploadStorage(device, buffers, offsets, 'minhash:offsets');
      const tokens = uploadStorage(device, buffers, batch.tokens.subarray(first, batch.offsets[range.end]), 'minhash:tokens');
      // Every slot is written by the shader: no clear needed.
      const out = { buffer: buffers.acquire(outBytes, BufferUsage.STORAGE | BufferUsage.COPY_SRC, 'minhash:signatures'), bytes: alignBytes(outBytes) };
      held.push(uniform.buffer, offsetsBuffer.buffer, tokens.buffer, out.buffer);
      return [uniform, offsetsBuffer, tokens, mixers, out];
    });
    await timed(times, 'dispatchMs', device.queue, () => dispatch(ctx, pipeline, bound, grid, 'minhash'));
    const out = bound[4].buffer;
    const bytes = await timed(times, 'readbackMs', device.queue, () => readBack(device, buffers, out, outBytes, 'minhash:signatures'));
    return new Uint32Array(bytes);
  } finally {
    buffers.release(...held);
  }
}

/** MinHash signatures on the chosen backend (see src/cpu/minhash.ts for the hash family). */
export async function minhash(backend: Backend, batch: TokenBatch, params: MinhashParams, times?: PhaseTimes): Promise<Uint32Array> {
  if (backend.kind === 'gpu') return minhashGpu(backend.ctx, batch, params, times);
  return minhashCpu(batch, params);
}
