import { dawnGpuOpener } from '../../src/node/dawn.js';
import { describeAttempts } from '../../src/gpu/acquire.js';
import type { GpuContext } from '../../src/gpu/context.js';

export interface TestGpu {
  ctx: GpuContext | null;
  /** Shown in the suite name: the adapter, or why the GPU cases are skipped. */
  label: string;
}

/**
 * Open the GPU for a test file. Under CI (CI=true) a missing adapter is a failure, never a
 * skip: CI installs Mesa llvmpipe, so the GPU path must run there. On a developer machine
 * without an adapter, GPU suites skip with the reason in their name.
 */
export async function openTestGpu(): Promise<TestGpu> {
  const { ctx, attempts } = await dawnGpuOpener()();
  if (ctx) {
    const a = ctx.adapter;
    return { ctx, label: `gpu: ${a.device || a.description} via ${a.backend}` };
  }
  const reason = describeAttempts(attempts);
  if (process.env.CI === 'true' || process.env.CI === '1') {
    throw new Error(`CI requires a WebGPU adapter for the GPU conformance tests, none found: ${reason}`);
  }
  console.warn(`[tokenmix tests] GPU cases skipped: no adapter (${reason})`);
  return { ctx: null, label: `gpu skipped: no adapter (${reason})` };
}
