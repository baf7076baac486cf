import { type GpuOpener, noAdapterError, describeAttempts } from './gpu/acquire.js';
import type { GpuContext } from './gpu/context.js';
import { TokenmixError } from './errors.js';

/** What the user asks for. `gpu` fails when there is no adapter; `auto` falls back to CPU. */
export type BackendChoice = 'cpu' | 'gpu' | 'auto';

/** What a kernel runs on. */
export type Backend = { kind: 'gpu'; ctx: GpuContext } | { kind: 'cpu'; reason: string };

export const BACKEND_CHOICES: readonly BackendChoice[] = ['cpu', 'gpu', 'auto'];

export function parseBackendChoice(value: string, where = '--backend'): BackendChoice {
  if ((BACKEND_CHOICES as readonly string[]).includes(value)) return value as BackendChoice;
  throw new TokenmixError(`${where} must be one of cpu, gpu, auto (got ${JSON.stringify(value)})`);
}

/**
 * Turn a choice into a backend. `auto` reports its fallback through `notify` (once per call
 * site: callers resolve once per run and pass the result around).
 */
export async function resolveBackend(
  choice: BackendChoice,
  open: GpuOpener,
  notify: (message: string) => void = () => {},
): Promise<Backend> {
  if (choice === 'cpu') return { kind: 'cpu', reason: 'requested (--backend cpu)' };
  const { ctx, attempts } = await open();
  if (ctx) return { kind: 'gpu', ctx };
  if (choice === 'gpu') throw noAdapterError(attempts);
  const reason = `no WebGPU adapter (${describeAttempts(attempts)})`;
  notify(`tokenmix: using the CPU backend: ${reason}`);
  return { kind: 'cpu', reason };
}

export function describeBackend(backend: Backend): string {
  if (backend.kind === 'cpu') return `cpu (${backend.reason})`;
  const a = backend.ctx.adapter;
  return `gpu: ${[a.vendor, a.device || a.description].filter(Boolean).join(' ')} via ${a.backend}, ${a.featureLevel}${a.isSoftware ? ', software rasterizer' : ''}`;
}

export function releaseBackend(backend: Backend): void {
  if (backend.kind === 'gpu') backend.ctx.destroy();
}
