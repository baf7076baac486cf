import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureNativeStderr } from './native-stderr.js';
import { openOnGpu, type GpuAttempt, type GpuOpenResult, type GpuOpener } from '../gpu/acquire.js';

/**
 * Which Dawn backend to use. `auto` tries the platform default (Vulkan, Metal, D3D12) and
 * then OpenGL ES (Mesa llvmpipe on machines without a GPU). Any other value is passed to
 * Dawn as `backend=<value>`. Set with `--adapter` or TOKENMIX_ADAPTER.
 */
export type AdapterPreference = 'auto' | 'default' | string;

/**
 * Mesa's EGL needs a runtime directory and, headless, the surfaceless platform. Set them
 * only when the user has not; Node's process.env writes reach native code.
 */
function prepareEnvironment(): void {
  if (process.platform !== 'linux') return;
  if (!process.env.XDG_RUNTIME_DIR) {
    process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'tokenmix-xdg-'));
  }
  process.env.EGL_PLATFORM ??= 'surfaceless';
}

/**
 * Open a GPU context through Dawn. The Dawn instance stays referenced by the context. Dawn's
 * own probe messages are kept off the terminal (see native-stderr.ts): they are in the
 * result's `nativeLog`, and go to `onNativeLog` when given (`--verbose`).
 */
export function dawnGpuOpener(preference: AdapterPreference = process.env.TOKENMIX_ADAPTER || 'auto', onNativeLog?: (text: string) => void): GpuOpener {
  return async (): Promise<GpuOpenResult> => {
    const { value, nativeLog } = await captureNativeStderr(() => probe(preference));
    if (nativeLog && onNativeLog) onNativeLog(nativeLog);
    return { ...value, nativeLog };
  };
}

async function probe(preference: AdapterPreference): Promise<GpuOpenResult> {
  const attempts: GpuAttempt[] = [];
  let webgpu: typeof import('webgpu');
  try {
    webgpu = await import('webgpu');
  } catch (error) {
    attempts.push({ backend: 'dawn', ok: false, detail: `cannot load the 'webgpu' package: ${(error as Error).message}` });
    return { ctx: null, attempts };
  }
  prepareEnvironment();
  const backends = preference === 'auto' ? ['default', 'opengles'] : [preference];
  for (const backend of backends) {
    let gpu: GPU;
    try {
      gpu = webgpu.create(backend === 'default' ? [] : [`backend=${backend}`]);
    } catch (error) {
      attempts.push({ backend, ok: false, detail: `Dawn refused: ${(error as Error).message}` });
      continue;
    }
    const ctx = await openOnGpu(gpu, backend, gpu, attempts);
    if (ctx) return { ctx, attempts };
  }
  return { ctx: null, attempts };
}
