/**
 * Host side of the one-permutation MinHash kernel (issue 9 item 7): plans batches of
 * documents against the adapter's binding limit, uploads CSR shingle sets and the
 * sketch constants, runs shaders/oph.wgsl (one workgroup per document) and reads the
 * sketches back. The sketch is specified in src/cpu/oph.ts; both paths return identical bits.
 */
import type { Backend } from '../backend.js';
import { textKernel } from '../text/text-kernel.js';
import { densifyRanks, OPH_MAX_HASHES, ophConstants, ophCpu, PROBE_ROUNDS, validateShingleBatch, type OphConstants, type OphParams, type ShingleBatch } from '../cpu/oph.js';
import { readBack, uploadStorage, uploadUniform, type BoundBuffer } from '../gpu/buffers.js';
import { BufferUsage } from '../gpu/constants.js';
import type { GpuContext } from '../gpu/context.js';
import { alignBytes, planCsrRanges, type ItemRange } from '../gpu/dispatch.js';
import { dispatch, gridFor } from '../gpu/run.js';
import { timed, type PhaseTimes } from '../gpu/timing.js';

/**
 * Invocations per workgroup (one workgroup per document; they share its shingles and its K
 * slots). 32 measured best of 8…64 on llvmpipe (noisy, shared machine), and is one warp.
 */
export const OPH_WORKGROUP_SIZE = 32;

/** Knobs for tests and benchmarks; the defaults come from the adapter and the spec. */
export interface OphGpuOptions {
  /** Largest binding a batch may use (default: the adapter's maxStorageBufferBindingSize). */
  maxBindingBytes?: number;
  workgroupSize?: number;
  /** Tests only: random probes per empty bin in units of K (0 forces the fallback scan). */
  probeRounds?: number;
}

/**
 * Bins the shader holds in workgroup memory for K slots: the smallest power of two >= K (at
 * least 64). WGSL zero-initializes workgroup memory for every workgroup, so a small K must
 * not pay for OPH_MAX_HASHES bins (1.5× slower at K = 128 on llvmpipe); powers of two bound
 * the pipelines to five (64 … 1024), each compiled once.
 */
export function ophBinCapacity(numHashes: number): number {
  let capacity = 64;
  while (capacity < numHashes) capacity *= 2;
  return Math.min(capacity, OPH_MAX_HASHES);
}

/** Batches of documents within the adapter's limits (src/gpu/dispatch.ts planCsrRanges). */
export function planOphRanges(offsets: Uint32Array, numHashes: number, maxBindingBytes: number, maxDocs: number): ItemRange[] {
  return planCsrRanges(offsets, numHashes, maxBindingBytes, maxDocs, 'one-permutation MinHash');
}

/** One-permutation MinHash sketches on the GPU: N·K u32, row-major by document, identical to ophCpu. */
export async function ophGpu(
  ctx: GpuContext,
  batch: ShingleBatch,
  params: OphParams,
  times?: PhaseTimes,
  options: OphGpuOptions = {},
): Promise<Uint32Array> {
  const count = validateShingleBatch(batch);
  const constants = ophConstants(params);
  const sketches = new Uint32Array(count * constants.numHashes);
  if (count === 0) return sketches;
  const maxPerDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  const ranges = planOphRanges(
    batch.offsets,
    constants.numHashes,
    options.maxBindingBytes ?? ctx.limits.maxStorageBufferBindingSize,
    maxPerDim * maxPerDim,
  );
  const probeRounds = options.probeRounds ?? PROBE_ROUNDS;
  return ctx.checked('oph', async () => {
    const pipeline = await ctx.pipelines.get('oph', {
      constants: { WORKGROUP_SIZE: options.workgroupSize ?? OPH_WORKGROUP_SIZE, MAX_BINS: ophBinCapacity(constants.numHashes) },
      times,
    });
    const ranks = uploadStorage(ctx.device, ctx.buffers, densifyRanks(constants.numHashes, constants.probeSeed, probeRounds), 'oph:ranks');
    try {
      for (const range of ranges) {
        const rows = await runRange(ctx, pipeline, batch, range, constants, probeRounds, ranks, times);
        sketches.set(rows, range.start * constants.numHashes);
      }
    } finally {
      ctx.buffers.release(ranks.buffer);
    }
    return sketches;
  });
}

async function runRange(
  ctx: GpuContext,
  pipeline: GPUComputePipeline,
  batch: ShingleBatch,
  range: ItemRange,
  c: OphConstants,
  probeRounds: number,
  ranks: BoundBuffer,
  times: PhaseTimes | undefined,
): Promise<Uint32Array> {
  const { device, buffers } = ctx;
  const docs = range.end - range.start;
  const first = batch.offsets[range.start];
  const grid = gridFor(ctx, docs);
  const outBytes = docs * c.numHashes * 4;
  const held: GPUBuffer[] = [];
  try {
    const bound = await timed(times, 'uploadMs', device.queue, () => {
      // Offsets rebased to this range so the shader indexes its own shingle slice.
      const offsets = batch.offsets.slice(range.start, range.end + 1);
      if (first !== 0) for (let i = 0; i < offsets.length; i++) offsets[i] -= first;
      const header = [docs, c.numHashes, grid.x, probeRounds, c.probeSeed, 0, 0, 0];
      const mixers = [c.binA, c.binB, c.binC, 0, c.valueA, c.valueB, c.valueC, 0];
      const uniform = uploadUniform(device, buffers, new Uint32Array([...header, ...mixers]), 'oph:params');
      const offsetsBuffer = uploadStorage(device, buffers, offsets, 'oph:offsets');
      const shingles = uploadStorage(device, buffers, batch.shingles.subarray(first, batch.offsets[range.end]), 'oph:shingles');
      // Every slot is written by the shader: no clear needed.
      const out = { buffer: buffers.acquire(outBytes, BufferUsage.STORAGE | BufferUsage.COPY_SRC, 'oph:sketches'), bytes: alignBytes(outBytes) };
      held.push(uniform.buffer, offsetsBuffer.buffer, shingles.buffer, out.buffer);
      return [uniform, offsetsBuffer, shingles, out, ranks];
    });
    await timed(times, 'dispatchMs', device.queue, () => dispatch(ctx, pipeline, bound, grid, 'oph'));
    const bytes = await timed(times, 'readbackMs', device.queue, () => readBack(device, buffers, bound[3].buffer, outBytes, 'oph:sketches'));
    return new Uint32Array(bytes);
  } finally {
    buffers.release(...held);
  }
}

/** One-permutation MinHash sketches on the chosen backend (see src/cpu/oph.ts for the sketch). */
export async function oph(backend: Backend, batch: ShingleBatch, params: OphParams, times?: PhaseTimes): Promise<Uint32Array> {
  if (backend.kind === 'gpu') return ophGpu(backend.ctx, batch, params, times);
  return ophKernel(batch, params) ?? ophCpu(batch, params);
}

/**
 * The CPU backend's sketches: the WebAssembly kernel (src/text/text-kernel.ts), several times
 * faster than the oracle it must equal; null where it is unavailable.
 */
export function ophKernel(batch: ShingleBatch, params: OphParams): Uint32Array | null {
  const kernel = textKernel();
  if (!kernel) return null;
  validateShingleBatch(batch);
  const c = ophConstants(params);
  return kernel.oph(batch.offsets, batch.shingles, c, `${c.numHashes}:${c.probeSeed}`, () => densifyRanks(c.numHashes, c.probeSeed, PROBE_ROUNDS));
}
