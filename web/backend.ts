/**
 * The page's backend: WebGPU when the browser gives an adapter and the kernels pass the
 * self-test (GPU output = CPU oracle on seeded inputs), else the CPU path — and the page says
 * which, with the adapter or the reason.
 */
import { resolveBackend, type Backend } from '../src/backend.js';
import { browserGpuOpener } from '../src/gpu/acquire.js';
import { selfTest } from '../src/selftest.js';

export interface PageBackend {
  backend: Backend;
  /** The adapter line (data-testid="adapter"). */
  line: string;
  /** Extra detail for the tooltip: self-test timings or the attempts made. */
  detail: string;
}

/**
 * What the page runs on the GPU: quality thresholds, the retained-token histograms and MinHash.
 * Losses are computed in f64 on the CPU (as `tokenmix mix` does), so the mixing kernel is not
 * needed here and its self-test result does not decide the backend.
 */
const KERNELS_USED: readonly string[] = ['threshold', 'histogram', 'minhash'];

export function cpuBackend(reason: string): PageBackend {
  return { backend: { kind: 'cpu', reason }, line: `CPU fallback: ${reason}`, detail: 'kernels run on their CPU oracles (src/cpu)' };
}

export async function acquireBackend(): Promise<PageBackend> {
  let backend: Backend;
  try {
    backend = await resolveBackend('auto', browserGpuOpener());
  } catch (error) {
    return cpuBackend(`WebGPU failed to start (${(error as Error).message})`);
  }
  if (backend.kind === 'cpu') return cpuBackend(backend.reason);
  const ctx = backend.ctx;
  const started = performance.now();
  const check = await selfTest(ctx);
  const ms = performance.now() - started;
  const failed = (names: readonly string[]) =>
    Object.entries(check.kernels).filter(([name, k]) => names.includes(name) && !k.ok).map(([name, k]) => `${name}: ${k.detail}`);
  const broken = failed(KERNELS_USED);
  if (broken.length > 0) {
    ctx.destroy();
    return cpuBackend(`the GPU failed the kernel self-test (${broken.join('; ')})`);
  }
  const unused = failed(Object.keys(check.kernels).filter((name) => !KERNELS_USED.includes(name)));
  const a = ctx.adapter;
  const name = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ') || 'unnamed adapter';
  const kind = `WebGPU ${a.featureLevel}${a.isSoftware ? ', software rasterizer' : ''}`;
  const timings = Object.entries(check.kernels).map(([k, c]) => `${k} ${c.gpuMs.toFixed(1)} ms`).join(', ');
  const note = unused.length > 0 ? `; kernels this page does not use failed: ${unused.join('; ')}` : '';
  return { backend, line: `gpu: ${name} (${kind})`, detail: `self-test of ${KERNELS_USED.join(', ')} passed in ${ms.toFixed(0)} ms (${timings})${note}` };
}
