import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseBackendChoice, resolveBackend, describeBackend, type Backend } from '../backend.js';
import { dawnGpuOpener } from '../node/dawn.js';
import { TokenmixError } from '../errors.js';
import { checkDataFormat } from '../pipeline/output-config.js';
import { resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import type { CliIo } from './io.js';

/** Options every command that runs kernels accepts. */
export const BACKEND_OPTIONS = {
  backend: { type: 'string', default: 'auto' },
  adapter: { type: 'string' },
  verbose: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

export const BACKEND_HELP = [
  '  --backend auto|gpu|cpu  where kernels run (default auto: GPU if an adapter exists, else CPU, reported)',
  '  --adapter NAME          Dawn backend to use: auto (default: platform default, then opengles),',
  '                          default, vulkan, metal, d3d12, opengles, opengl (or env TOKENMIX_ADAPTER)',
  "  --verbose               also print the native WebGPU library's adapter-probe messages",
];

/** Slurm resources of each task (also taken by tokenmix retry). */
export const SLURM_OPTIONS = {
  partition: { type: 'string' },
  time: { type: 'string' },
  'cpus-per-task': { type: 'string' },
  mem: { type: 'string' },
  gres: { type: 'string' },
  throttle: { type: 'string' },
  'sbatch-arg': { type: 'string', multiple: true },
  'task-setup': { type: 'string' },
  'reduce-time': { type: 'string' },
  'reduce-cpus-per-task': { type: 'string' },
  'reduce-mem': { type: 'string' },
  'reduce-gres': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/** Where the work runs: here, or as Slurm job arrays (curate, mix, dedup). */
export const EXECUTOR_OPTIONS = {
  executor: { type: 'string' },
  tasks: { type: 'string' },
  wait: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  ...SLURM_OPTIONS,
} as const satisfies ParseArgsConfig['options'];

export const SLURM_HELP = [
  '  --partition P --time T --cpus-per-task N --mem M --gres G   resources of each Slurm task',
  '  --throttle N            run at most N tasks of an array at once (the array\'s %N)',
  '  --sbatch-arg ARG        extra sbatch argument, written with = (--sbatch-arg=-Aproj: account',
  '                          proj); repeatable',
  '  --task-setup CMD        shell line each task runs first (e.g. "module load nodejs")',
  '  --reduce-time T --reduce-cpus-per-task N --reduce-mem M --reduce-gres G   the reduce job\'s',
  '                          own resources (default: as the map tasks)',
];

export const EXECUTOR_HELP = [
  '  --executor local|slurm|plan  run here (default); or plan the run in DIR/.tokenmix/plan.json',
  '                          and submit one Slurm job array per stage (map tasks, then the',
  '                          reduce); or only plan it, for another engine (tokenmix run-task)',
  '  --tasks N               map tasks of a planned run (default: one per 256 MiB of input, at',
  '                          most one per input file)',
  '  --wait                  follow the Slurm jobs, print progress, exit 0 only if the run completed',
  '  --dry-run               print the Slurm scripts and sbatch commands; submit nothing',
  ...SLURM_HELP,
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

/** Dawn backends `--adapter` / TOKENMIX_ADAPTER may name (a typo must not pass as "no GPU"). */
export const ADAPTER_NAMES = ['auto', 'default', 'vulkan', 'metal', 'd3d12', 'd3d11', 'opengles', 'opengl'] as const;

export function adapterOption(value: string | undefined): string {
  const name = value ?? process.env.TOKENMIX_ADAPTER ?? 'auto';
  if (!(ADAPTER_NAMES as readonly string[]).includes(name)) {
    const from = value === undefined ? 'TOKENMIX_ADAPTER' : '--adapter';
    throw new TokenmixError(`${from} must be one of ${ADAPTER_NAMES.join(', ')} (got ${JSON.stringify(name)})`);
  }
  return name;
}

/** Resolve --backend/--adapter, printing which backend was picked on stderr. */
export async function openBackend(values: { backend?: string; adapter?: string; verbose?: boolean }, io: CliIo): Promise<Backend> {
  const choice = parseBackendChoice(values.backend ?? 'auto');
  const opener = dawnGpuOpener(adapterOption(values.adapter), values.verbose ? io.err : undefined);
  const backend = await resolveBackend(choice, opener, io.err);
  if (backend.kind === 'gpu') io.err(`tokenmix: backend ${describeBackend(backend)}`);
  return backend;
}

export function intOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new TokenmixError(`--${name} must be an integer >= ${min} (got ${JSON.stringify(value)})`);
  return n;
}

/** How the map phase uses this machine's cores (curate, mix, dedup). */
export const WORKER_OPTIONS = {
  workers: { type: 'string' },
  'unit-mb': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const WORKER_HELP = [
  `  --workers N             worker threads for the map phase (default: the cores available, ${availableParallelism()} here;`,
  '                          1 runs everything on the main thread); outputs do not depend on it',
  '  --unit-mb M             split inputs into work units of about M MiB: uncompressed JSONL by',
  '                          line ranges, Parquet by row groups (default 64); outputs do not depend on it',
];

export interface WorkerArgs {
  workers?: number;
  unitBytes?: number;
}

export function workerArgs(values: { workers?: string; 'unit-mb'?: string }): WorkerArgs {
  return {
    ...(values.workers !== undefined ? { workers: intOption(values.workers, 'workers', 1, 1) } : {}),
    ...(values['unit-mb'] !== undefined ? { unitBytes: intOption(values['unit-mb'], 'unit-mb', 64, 1) * 2 ** 20 } : {}),
  };
}

/** Options of the commands that run the pipeline from a config (curate, mix). */
export const RUN_OPTIONS = {
  config: { type: 'string' },
  out: { type: 'string' },
  rank: { type: 'string' },
  'world-size': { type: 'string' },
  'memory-mb': { type: 'string' },
  'no-report': { type: 'boolean' },
  ...WORKER_OPTIONS,
  'output-format': { type: 'string' },
  ...BACKEND_OPTIONS,
  ...EXECUTOR_OPTIONS,
} as const satisfies ParseArgsConfig['options'];

export const RUN_HELP = [
  '  --config FILE           the run configuration (JSON; see README "Configuration")',
  '  --out DIR               output directory',
  '  --rank R --world-size W process rank R\'s share of the work units (balanced by bytes); the',
  '                          last rank to finish (or a run without --rank) writes the outputs',
  ...WORKER_HELP,
  '  --memory-mb M           heap budget of the workers together (each gets M / N;',
  '                          a worker that needs more fails the run with a clear message)',
  '  --no-report             do not write DIR/report.html (tokenmix report DIR writes it later)',
  '  --output-format F       write the curated records under DIR/data/ as F: input, jsonl, jsonl.gz,',
  '                          jsonl.zst or parquet (overrides the config\'s output.format)',
  ...BACKEND_HELP,
  ...EXECUTOR_HELP,
];

export interface RunArgs extends WorkerArgs {
  configPath: string;
  outDir: string;
  rank: number;
  worldSize: number;
  memoryMb?: number;
  outputFormat?: string;
}

/**
 * Validate the run options and the config file itself, so that usage and config errors are
 * reported before the GPU is opened (and before Dawn prints anything).
 */
export async function checkedRunArgs(command: string, values: Parameters<typeof runArgs>[1]): Promise<RunArgs> {
  const run = runArgs(command, values);
  // Loaded here, not on import: the curation pipeline (and its output writers: Arrow, Parquet,
  // zstd) took ~0.2 s of every dedup run's start-up through this module.
  const { loadConfig } = await import('../pipeline/curate.js');
  await loadConfig(resolve(run.configPath));
  return run;
}

/** Validate the run options; usage errors come before the GPU is opened. */
export function runArgs(
  command: string,
  values: { config?: string; out?: string; rank?: string; 'world-size'?: string; workers?: string; 'unit-mb'?: string; 'memory-mb'?: string; 'output-format'?: string },
): RunArgs {
  if (!values.config) throw new TokenmixError(`${command} needs --config FILE (see tokenmix ${command} --help)`);
  if (!values.out) throw new TokenmixError(`${command} needs --out DIR (see tokenmix ${command} --help)`);
  const worldSize = intOption(values['world-size'], 'world-size', 1, 1);
  const rank = intOption(values.rank, 'rank', 0, 0);
  if (rank >= worldSize) throw new TokenmixError(`--rank must be an integer in 0..${worldSize - 1} (got ${rank})`);
  const outputFormat = values['output-format'];
  if (outputFormat !== undefined) checkDataFormat(outputFormat, '--output-format');
  return {
    configPath: values.config,
    outDir: values.out,
    rank,
    worldSize,
    ...workerArgs(values),
    ...(values['memory-mb'] !== undefined ? { memoryMb: intOption(values['memory-mb'], 'memory-mb', 0, 1) } : {}),
    ...(outputFormat !== undefined ? { outputFormat } : {}),
  };
}
