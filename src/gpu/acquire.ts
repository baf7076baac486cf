import { GpuUnavailableError } from '../errors.js';
import { GpuContext } from './context.js';

/** One try at getting an adapter, reported by `tokenmix doctor` and in errors. */
export interface GpuAttempt {
  backend: string;
  ok: boolean;
  detail: string;
}

export interface GpuOpenResult {
  ctx: GpuContext | null;
  attempts: GpuAttempt[];
  /** What the native WebGPU library logged while probing (shown by doctor and --verbose). */
  nativeLog?: string | null;
}

/** Something that can open a GPU context: Dawn in Node, navigator.gpu in a browser. */
export type GpuOpener = () => Promise<GpuOpenResult>;

/**
 * Open a context on a WebGPU `GPU` object: a core adapter first, then a compatibility one
 * (OpenGL ES class hardware and software rasterizers only offer that).
 */
export async function openOnGpu(gpu: GPU, backend: string, keepAlive: unknown, attempts: GpuAttempt[]): Promise<GpuContext | null> {
  const options: GPURequestAdapterOptions[] = [
    { powerPreference: 'high-performance' },
    { featureLevel: 'compatibility' } as GPURequestAdapterOptions,
  ];
  for (const option of options) {
    const label = 'featureLevel' in option ? `${backend} (compatibility)` : backend;
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await gpu.requestAdapter(option);
    } catch (error) {
      attempts.push({ backend: label, ok: false, detail: `requestAdapter failed: ${(error as Error).message}` });
      continue;
    }
    if (!adapter) {
      attempts.push({ backend: label, ok: false, detail: 'no adapter' });
      continue;
    }
    try {
      const ctx = await GpuContext.fromAdapter(adapter, backend, keepAlive);
      attempts.push({ backend: label, ok: true, detail: `${ctx.adapter.vendor} ${ctx.adapter.device || ctx.adapter.description}`.trim() });
      return ctx;
    } catch (error) {
      attempts.push({ backend: label, ok: false, detail: `requestDevice failed: ${(error as Error).message}` });
    }
  }
  return null;
}

/** The browser's opener: `navigator.gpu` when the page has it. */
export function browserGpuOpener(): GpuOpener {
  return async () => {
    const attempts: GpuAttempt[] = [];
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) {
      attempts.push({ backend: 'browser', ok: false, detail: 'navigator.gpu is not available in this browser' });
      return { ctx: null, attempts };
    }
    return { ctx: await openOnGpu(gpu, 'browser', gpu, attempts), attempts };
  };
}

export function describeAttempts(attempts: GpuAttempt[]): string {
  return attempts.map((a) => `${a.backend}: ${a.detail}`).join('; ') || 'no attempt was made';
}

export function noAdapterError(attempts: GpuAttempt[]): GpuUnavailableError {
  return new GpuUnavailableError(
    `tokenmix: no WebGPU adapter found (${describeAttempts(attempts)}). ` +
      'Use --backend cpu, or install a GPU driver (on Linux without a GPU: Mesa llvmpipe, Debian packages libegl1 libegl-mesa0 libgl1-mesa-dri libgles2).',
  );
}
