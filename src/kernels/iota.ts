import type { GpuContext } from '../gpu/context.js';
import { readBack, uploadUniform, zeroedStorage } from '../gpu/buffers.js';
import { workgroupsFor } from '../gpu/dispatch.js';
import { dispatch, gridFor } from '../gpu/run.js';

const WORKGROUP_SIZE = 64;

/**
 * Runtime smoke kernel: `base + i * step` (mod 2^32) for i < count. Exercises upload,
 * 2D dispatch geometry, and readback; the doctor and runtime tests use it.
 */
export async function iotaGpu(ctx: GpuContext, count: number, base: number, step: number): Promise<Uint32Array> {
  return ctx.checked('iota', async () => {
    const pipeline = await ctx.pipelines.get('iota', { constants: { WORKGROUP_SIZE } });
    const grid = gridFor(ctx, workgroupsFor(count, WORKGROUP_SIZE));
    const params = uploadUniform(ctx.device, ctx.buffers, new Uint32Array([count, base >>> 0, step >>> 0, grid.x]), 'iota:params');
    const out = zeroedStorage(ctx.device, ctx.buffers, count * 4, 'iota:out');
    try {
      dispatch(ctx, pipeline, [params, out], grid, 'iota');
      return new Uint32Array(await readBack(ctx.device, ctx.buffers, out.buffer, count * 4, 'iota:out'));
    } finally {
      ctx.buffers.release(params.buffer, out.buffer);
    }
  });
}
