/**
 * Dispatch geometry and batch planning: pure functions, tested on their own
 * (test/dispatch.test.ts), so that kernels never exceed adapter limits.
 */
import { invariant, TokenmixError } from '../errors.js';

export interface DispatchGrid {
  x: number;
  y: number;
  z: number;
}

/**
 * Lay `workgroups` out on a 2D grid when it exceeds `maxPerDimension` (65535 by default on
 * every adapter). Shaders recover the linear index as `id.x + id.y * gridX` and must ignore
 * indices >= the real count, since `x * y` may overshoot it.
 */
export function planGrid(workgroups: number, maxPerDimension: number): DispatchGrid {
  invariant(Number.isInteger(workgroups) && workgroups >= 0, `bad workgroup count ${workgroups}`);
  invariant(maxPerDimension >= 1, 'maxPerDimension must be >= 1');
  if (workgroups <= maxPerDimension) return { x: workgroups, y: 1, z: 1 };
  const y = Math.ceil(workgroups / maxPerDimension);
  invariant(y <= maxPerDimension, `${workgroups} workgroups exceed a 2D grid of ${maxPerDimension}^2`);
  const x = Math.ceil(workgroups / y);
  return { x, y, z: 1 };
}

/** Number of workgroups of `workgroupSize` invocations needed for `items` items. */
export function workgroupsFor(items: number, workgroupSize: number): number {
  return Math.ceil(items / workgroupSize);
}

export interface ItemRange {
  start: number;
  end: number;
}

/**
 * Split `count` items into contiguous ranges so that no range exceeds `maxItems` items nor
 * `maxBytes` bytes, where `bytesOf(start, end)` is the bytes the range needs in its largest
 * single binding (e.g. CSR values). A single item larger than `maxBytes` is an error the
 * caller reports with context.
 */
export function planRanges(
  count: number,
  maxItems: number,
  maxBytes: number,
  bytesOf: (start: number, end: number) => number,
): ItemRange[] {
  invariant(maxItems >= 1, 'maxItems must be >= 1');
  const ranges: ItemRange[] = [];
  let start = 0;
  while (start < count) {
    let end = Math.min(count, start + maxItems);
    if (bytesOf(start, end) > maxBytes) {
      // Binary search the largest end that fits; bytesOf is monotone in end.
      let lo = start + 1;
      let hi = end;
      if (bytesOf(start, lo) > maxBytes) {
        throw new RangeError(`item ${start} needs ${bytesOf(start, lo)} bytes, more than the ${maxBytes}-byte binding limit`);
      }
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (bytesOf(start, mid) <= maxBytes) lo = mid;
        else hi = mid - 1;
      }
      end = lo;
    }
    ranges.push({ start, end });
    start = end;
  }
  return ranges;
}

/**
 * Ranges of CSR documents for a kernel that runs one workgroup per document, reads its u32
 * values and writes `slotsPerDoc` u32 per document (MinHash signatures, OPH sketches): the
 * largest binding (values, offsets or output) fits in `maxBindingBytes`, with at most
 * `maxDocs` documents per range. A document too large alone is a user error naming `kernel`.
 */
export function planCsrRanges(offsets: Uint32Array, slotsPerDoc: number, maxBindingBytes: number, maxDocs: number, kernel: string): ItemRange[] {
  const count = offsets.length - 1;
  const bytesOf = (start: number, end: number): number =>
    Math.max((offsets[end] - offsets[start]) * 4, (end - start + 1) * 4, (end - start) * slotsPerDoc * 4);
  try {
    return planRanges(count, maxDocs, maxBindingBytes, bytesOf);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new TokenmixError(
      `${kernel}: a document is too large for one GPU binding of ${maxBindingBytes} bytes (${error.message}); ` +
        'split the document or use --backend cpu',
    );
  }
}

/** Round `bytes` up to a multiple of 4 (and at least 4): WebGPU buffer sizes and copies need it. */
export function alignBytes(bytes: number, alignment = 4): number {
  return Math.max(alignment, Math.ceil(bytes / alignment) * alignment);
}
