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

type OptionSpec = NonNullable<ParseArgsConfig['options']>;
const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** Strict option parsing with `--help/-h` added; unknown options are usage errors. */
export function parse<T extends OptionSpec>(
  args: string[],
  options: T,
  allowPositionals = false,
): { values: ReturnType<typeof parseArgs<{ args: string[]; options: T & typeof HELP_OPTION; allowPositionals: boolean; strict: true }>>['values']; positionals: string[] } {
  const parsed = parseArgs({ args, options: { ...options, ...HELP_OPTION }, allowPositionals, strict: true });
  return { values: parsed.values as never, positionals: parsed.positionals };
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
