import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseBackendChoice, resolveBackend, describeBackend, type Backend } from '../backend.js';
import { dawnGpuOpener } from '../node/dawn.js';
import { TokenmixError } from '../errors.js';
import type { CliIo } from './io.js';

/** Options every command that runs kernels accepts. */
export const BACKEND_OPTIONS = {
  backend: { type: 'string', default: 'auto' },
  adapter: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const BACKEND_HELP = [
  '  --backend auto|gpu|cpu  where kernels run (default auto: GPU if an adapter exists, else CPU, reported)',
  '  --adapter NAME          Dawn backend to use: auto (default: platform default, then opengles),',
  '                          default, vulkan, metal, d3d12, opengles, opengl (or env TOKENMIX_ADAPTER)',
];

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals = false) {
  return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
}

/** Resolve --backend/--adapter, printing which backend was picked on stderr. */
export async function openBackend(values: { backend?: string; adapter?: string }, io: CliIo): Promise<Backend> {
  const choice = parseBackendChoice(values.backend ?? 'auto');
  const backend = await resolveBackend(choice, dawnGpuOpener(values.adapter ?? process.env.TOKENMIX_ADAPTER ?? 'auto'), io.err);
  if (backend.kind === 'gpu') io.err(`tokenmix: backend ${describeBackend(backend)}`);
  return backend;
}

export function intOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new TokenmixError(`--${name} must be an integer >= ${min} (got ${JSON.stringify(value)})`);
  return n;
}
