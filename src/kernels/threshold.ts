/**
 * Host side of the quality-score thresholding kernel (SPEC §2): keep = score >= tau_source,
 * per-source counts, the token-weighted score histogram, the keep mask and the ascending
 * kept indices. Three GPU passes per dispatch range:
 *   1. shaders/threshold.wgsl         classify rows, accumulate stats, one kept bit per row,
 *                                      count kept rows per workgroup;
 *   2. shaders/threshold_scan.wgsl    multi-level exclusive prefix sum of those counts;
 *   3. shaders/threshold_scatter.wgsl write the byte mask and each kept row's index at its
 *                                      prefix-sum slot.
 * Batches larger than one storage binding are split with planRanges; the stats buffer
 * accumulates across ranges and is read back once.
 *
 * Exactness: on the GPU, per-source document counts are u32 (a batch has < 2^32 rows) and
 * token sums and histogram bins are 64-bit (lo, hi) u32 pairs with carry, so nothing wraps.
 * On the host they become numbers, exact below 2^53 (checked; see src/cpu/threshold.ts).
 */
import type { Backend } from '../backend.js';
import {
  exactSum,
  thresholdCpu,
  validateThresholdInput,
  type ResolvedHistogram,
  type SourceThresholdCounts,
  type ThresholdBatch,
  type ThresholdParams,
  type ThresholdResult,
  type ThresholdStats,
} from '../cpu/threshold.js';
import { TokenmixError, invariant } from '../errors.js';
import { readBack, uploadStorage, uploadUniform, zeroedStorage, type BoundBuffer } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/context.js';
import { planGrid, planRanges, workgroupsFor, type ItemRange } from '../gpu/dispatch.js';
import { dispatch } from '../gpu/run.js';
import { timed, type PhaseTimes } from '../gpu/timing.js';

const WORKGROUP_SIZE = 64;
/** Must match SOURCE_WORDS in shaders/threshold.wgsl. */
const SOURCE_WORDS = 7;
/** kept_bits words per workgroup (one bit per row). */
const WORDS_PER_GROUP = WORKGROUP_SIZE / 32;
/** Every per-row binding (scores, sources, tokens, kept indices) holds 4 bytes per row. */
const BYTES_PER_ROW = 4;

/** Test-only knobs that force the multi-range and 2D-grid paths on small inputs. */
export interface ThresholdGpuOptions {
  /** Lower the per-binding byte limit (rows per dispatch = this / 4). */
  maxBindingBytes?: number;
  /** Lower the workgroups-per-dimension limit (forces 2D grids). */
  maxWorkgroupsPerDimension?: number;
}

interface ThresholdPipelines {
  classify: GPUComputePipeline;
  scanBlocks: GPUComputePipeline;
  addOffsets: GPUComputePipeline;
  scatter: GPUComputePipeline;
}

async function getPipelines(ctx: GpuContext, times?: PhaseTimes): Promise<ThresholdPipelines> {
  const constants = { WORKGROUP_SIZE };
  const [classify, scanBlocks, addOffsets, scatter] = await Promise.all([
    ctx.pipelines.get('threshold', { constants, times }),
    ctx.pipelines.get('threshold_scan', { entryPoint: 'scan_blocks', constants, times }),
    ctx.pipelines.get('threshold_scan', { entryPoint: 'add_offsets', constants, times }),
    ctx.pipelines.get('threshold_scatter', { constants, times }),
  ]);
  return { classify, scanBlocks, addOffsets, scatter };
}

/** Words of the GPU stats buffer: per-source counters, then the (lo, hi) histogram. */
export function thresholdStatsWords(numSources: number, bins: number): number {
  return numSources * (SOURCE_WORDS + 2 * bins);
}

/**
 * Rows per dispatch range: a whole number of workgroups, within the binding limit and
 * within what a 2D grid of `maxPerDimension`^2 workgroups can hold.
 */
export function planThresholdRanges(rows: number, maxBindingBytes: number, maxPerDimension: number): ItemRange[] {
  const maxGroups = Math.min(Math.floor(maxBindingBytes / BYTES_PER_ROW / WORKGROUP_SIZE), maxPerDimension * maxPerDimension);
  const maxRows = maxGroups * WORKGROUP_SIZE;
  invariant(maxRows >= WORKGROUP_SIZE, `binding limit ${maxBindingBytes} bytes is below one workgroup of rows`);
  return planRanges(rows, maxRows, maxBindingBytes, (start, end) => (end - start) * BYTES_PER_ROW);
}

function classifyParams(count: number, gridX: number, numSources: number, h: ResolvedHistogram): Uint32Array {
  const words = new Uint32Array(8);
  const floats = new Float32Array(words.buffer);
  words.set([count, gridX, numSources, h.bins]);
  floats[4] = h.min;
  floats[5] = h.max;
  floats[6] = h.scale;
  return words;
}

/**
 * Exclusive prefix sum of `count` u32 in `data`, in place, for any count: scan blocks,
 * scan the block totals the same way (recursively), add them back.
 */
function scanInPlace(
  ctx: GpuContext,
  pipelines: ThresholdPipelines,
  data: BoundBuffer,
  count: number,
  maxPerDimension: number,
  temporaries: GPUBuffer[],
): void {
  const groups = workgroupsFor(count, WORKGROUP_SIZE);
  if (groups === 0) return;
  const grid = planGrid(groups, maxPerDimension);
  const params = uploadUniform(ctx.device, ctx.buffers, new Uint32Array([count, grid.x]), 'threshold:scan-params');
  const sums = zeroedStorage(ctx.device, ctx.buffers, groups * 4, 'threshold:scan-sums');
  temporaries.push(params.buffer, sums.buffer);
  dispatch(ctx, pipelines.scanBlocks, [params, data, sums], grid, 'threshold:scan');
  if (groups === 1) return; // one block: its prefix sum is already the whole answer
  scanInPlace(ctx, pipelines, sums, groups, maxPerDimension, temporaries);
  dispatch(ctx, pipelines.addOffsets, [params, data, sums], grid, 'threshold:scan-add');
}

/** hi * 2^32 + lo, refusing values past 2^53 where numbers stop being exact. */
function exactU64(words: Uint32Array, at: number, what: string): number {
  const value = words[at + 1] * 2 ** 32 + words[at];
  if (!Number.isSafeInteger(value)) {
    throw new TokenmixError(`${what} exceeds 2^53 - 1 in one batch; split the batch`);
  }
  return value;
}

function decodeStats(words: Uint32Array, numSources: number, bins: number): ThresholdStats {
  const histogram = new Float64Array(numSources * bins);
  const histogramOffset = numSources * SOURCE_WORDS;
  for (let cell = 0; cell < histogram.length; cell++) {
    histogram[cell] = exactU64(words, histogramOffset + 2 * cell, 'a histogram bin');
  }
  const sources: SourceThresholdCounts[] = [];
  for (let s = 0; s < numSources; s++) {
    const base = s * SOURCE_WORDS;
    const nanTokens = exactU64(words, base + 5, `source ${s} nanTokens`);
    // Every non-NaN row is in exactly one histogram bin, so input tokens = row sum + NaN tokens.
    let inTokens = nanTokens;
    for (let bin = 0; bin < bins; bin++) inTokens = exactSum(inTokens, histogram[s * bins + bin], `source ${s} inTokens`);
    sources.push({
      inDocs: words[base],
      keptDocs: words[base + 1],
      nanDocs: words[base + 2],
      inTokens,
      keptTokens: exactU64(words, base + 3, `source ${s} keptTokens`),
      nanTokens,
    });
  }
  return { numSources, bins, sources, histogram };
}

/** Thresholding on the GPU; same results as thresholdCpu, bit for bit. */
export async function thresholdGpu(
  ctx: GpuContext,
  batch: ThresholdBatch,
  params: ThresholdParams,
  times?: PhaseTimes,
  options: ThresholdGpuOptions = {},
): Promise<ThresholdResult> {
  const histogram = validateThresholdInput(batch, params);
  const rows = batch.scores.length;
  const numSources = params.thresholds.length;
  if (rows > 0xffffffff) throw new TokenmixError(`a threshold batch holds at most 2^32 - 1 rows (got ${rows}); split it`);
  const maxBindingBytes = Math.min(options.maxBindingBytes ?? Infinity, ctx.limits.maxStorageBufferBindingSize);
  const maxPerDimension = options.maxWorkgroupsPerDimension ?? ctx.limits.maxComputeWorkgroupsPerDimension;
  const statsBytes = thresholdStatsWords(numSources, histogram.bins) * 4;
  if (statsBytes > maxBindingBytes) {
    throw new TokenmixError(
      `${numSources} sources × ${histogram.bins} histogram bins need ${statsBytes} bytes of GPU counters, over the ${maxBindingBytes}-byte binding limit; use fewer bins`,
    );
  }
  const ranges = planThresholdRanges(rows, maxBindingBytes, maxPerDimension);
  const { device, buffers } = ctx;

  return ctx.checked('threshold', async () => {
    const pipelines = await getPipelines(ctx, times);
    const keepMask = new Uint8Array(rows);
    const keptChunks: Uint32Array[] = [];
    const [thresholds, stats] = await timed(times, 'uploadMs', device.queue, () => [
      uploadStorage(device, buffers, params.thresholds, 'threshold:thresholds'),
      zeroedStorage(device, buffers, statsBytes, 'threshold:stats'),
    ]);
    try {
      for (const { start, end } of ranges) {
        const count = end - start;
        const groups = workgroupsFor(count, WORKGROUP_SIZE);
        const grid = planGrid(groups, maxPerDimension);
        const temporaries: GPUBuffer[] = [];
        try {
          const inputs = await timed(times, 'uploadMs', device.queue, () => {
            const uploaded = [
              uploadUniform(device, buffers, classifyParams(count, grid.x, numSources, histogram), 'threshold:params'),
              uploadStorage(device, buffers, batch.scores.subarray(start, end), 'threshold:scores'),
              uploadStorage(device, buffers, batch.sources.subarray(start, end), 'threshold:sources'),
              uploadStorage(device, buffers, batch.tokens.subarray(start, end), 'threshold:tokens'),
              zeroedStorage(device, buffers, groups * WORDS_PER_GROUP * 4, 'threshold:kept-bits'),
              zeroedStorage(device, buffers, groups * 4, 'threshold:block-kept'),
              zeroedStorage(device, buffers, Math.ceil(count / 4) * 4, 'threshold:mask'),
              zeroedStorage(device, buffers, count * 4, 'threshold:kept-indices'),
              uploadUniform(device, buffers, new Uint32Array([count, grid.x, start, 0]), 'threshold:scatter-params'),
            ];
            temporaries.push(...uploaded.map((b) => b.buffer));
            return uploaded;
          });
          const [classifyUniform, scores, sources, tokens, keptBits, blockKept, mask, keptIndices, scatterUniform] = inputs;
          await timed(times, 'dispatchMs', device.queue, () => {
            dispatch(ctx, pipelines.classify, [classifyUniform, scores, sources, tokens, thresholds, stats, keptBits, blockKept], grid, 'threshold:classify');
            scanInPlace(ctx, pipelines, blockKept, groups, maxPerDimension, temporaries);
            dispatch(ctx, pipelines.scatter, [scatterUniform, keptBits, blockKept, mask, keptIndices], grid, 'threshold:scatter');
          });
          await timed(times, 'readbackMs', device.queue, async () => {
            const maskBytes = new Uint8Array(await readBack(device, buffers, mask.buffer, count, 'threshold:mask'));
            keepMask.set(maskBytes, start);
            let kept = 0;
            for (let i = 0; i < count; i++) kept += maskBytes[i];
            if (kept > 0) keptChunks.push(new Uint32Array(await readBack(device, buffers, keptIndices.buffer, kept * 4, 'threshold:kept-indices')));
          });
        } finally {
          buffers.release(...temporaries);
        }
      }
      const statsWords = await timed(times, 'readbackMs', device.queue, async () =>
        new Uint32Array(await readBack(device, buffers, stats.buffer, statsBytes, 'threshold:stats')),
      );
      const keptIndices = new Uint32Array(keptChunks.reduce((sum, chunk) => sum + chunk.length, 0));
      let at = 0;
      for (const chunk of keptChunks) {
        keptIndices.set(chunk, at);
        at += chunk.length;
      }
      const result = { keepMask, keptIndices, stats: decodeStats(statsWords, numSources, histogram.bins) };
      const keptDocs = result.stats.sources.reduce((sum, s) => sum + s.keptDocs, 0);
      invariant(keptDocs === keptIndices.length, `threshold: ${keptDocs} kept by the counters, ${keptIndices.length} by the mask`);
      return result;
    } finally {
      buffers.release(thresholds.buffer, stats.buffer);
    }
  });
}

/** SPEC §2 thresholding on whichever backend was resolved. */
export async function threshold(
  backend: Backend,
  batch: ThresholdBatch,
  params: ThresholdParams,
  times?: PhaseTimes,
): Promise<ThresholdResult> {
  if (backend.kind === 'gpu') return thresholdGpu(backend.ctx, batch, params, times);
  return thresholdCpu(batch, params);
}
