import { bindGroup, type BoundBuffer } from './buffers.js';
import type { GpuContext } from './context.js';
import { planGrid, type DispatchGrid } from './dispatch.js';

/** The dispatch grid for `workgroups` workgroups under this device's per-dimension limit. */
export function gridFor(ctx: GpuContext, workgroups: number): DispatchGrid {
  return planGrid(workgroups, ctx.limits.maxComputeWorkgroupsPerDimension);
}

/**
 * Bind `buffers` to bindings 0..n-1 of group 0, dispatch `grid` and submit. Zero workgroups
 * submit nothing. Returns after the submit was issued, so pooled inputs may be released.
 */
export function dispatch(
  ctx: GpuContext,
  pipeline: GPUComputePipeline,
  buffers: BoundBuffer[],
  grid: DispatchGrid,
  label: string,
): void {
  if (grid.x === 0) return;
  const device = ctx.device;
  const encoder = device.createCommandEncoder({ label: `${label}:encoder` });
  const pass = encoder.beginComputePass({ label: `${label}:pass` });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup(device, pipeline, buffers, `${label}:bindings`));
  pass.dispatchWorkgroups(grid.x, grid.y, grid.z);
  pass.end();
  device.queue.submit([encoder.finish()]);
}
