import { TokenmixError } from '../errors.js';
import { ExitCode, processIo, type CliIo } from './io.js';
import { VERSION } from '../version.js';

interface Command {
  summary: string;
  run: (args: string[], io: CliIo) => Promise<number>;
}

// Commands load lazily so `tokenmix --help` stays instant and never touches the GPU.
const COMMANDS: Record<string, Command> = {
  doctor: {
    summary: 'show the GPU adapter and limits, and self-test every kernel on GPU and CPU',
    run: async (args, io) => (await import('./doctor.js')).doctor(args, io),
  },
  curate: {
    summary: 'filter, score-threshold, decontaminate and dedup (exact, near) a corpus; manifest, keep lists, audit, report',
    run: async (args, io) => (await import('./curate.js')).curateCommand(args, io),
  },
  mix: {
    summary: 'curate, then evaluate the training mixture: losses, repetition, contamination, optimized weights, sampling plan',
    run: async (args, io) => (await import('./mix.js')).mixCommand(args, io),
  },
  dedup: {
    summary: 'near-duplicate (MinHash/LSH, verified) and exact dedup: clusters, keep lists, manifest',
    run: async (args, io) => (await import('./dedup.js')).dedupCommand(args, io),
  },
  report: {
    summary: 'write DIR/report.html: a self-contained page of plots and tables from a run\'s manifest',
    run: async (args, io) => (await import('./report.js')).reportCommand(args, io),
  },
  'run-task': {
    summary: 'run one task (map I, or the reduce) of the run planned in DIR: what Slurm, Kubernetes or a loop runs',
    run: async (args, io) => (await import('./run-task.js')).runTaskCommand(args, io),
  },
  status: {
    summary: 'per stage of a planned run: tasks done, running, failed, missing, with the log of each failed task',
    run: async (args, io) => (await import('./status.js')).statusCommand(args, io),
  },
  retry: {
    summary: 'resubmit to Slurm only the failed and missing tasks of a planned run, and its reduce',
    run: async (args, io) => (await import('./retry.js')).retryCommand(args, io),
  },
  fit: {
    summary: 'fit mixture laws (exponential + linear) to your own proxy-model runs (CSV) and optimize them',
    run: async (args, io) => (await import('./fit.js')).fitCommand(args, io),
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return [
    `tokenmix ${VERSION} — deduplicate, score and mix LLM pretraining corpora on the GPU (WebGPU) or CPU`,
    '',
    'Usage: tokenmix <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `tokenmix <command> --help` for the options of a command.',
    'Backends: --backend auto (default: GPU if an adapter exists, else CPU, and says so) | gpu | cpu.',
  ].join('\n');
}

/** Run the CLI; returns the exit code. User errors print one line, never a stack trace. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name ? ExitCode.ok : ExitCode.usage;
  }
  if (name === '--version' || name === '-v') {
    io.out(VERSION);
    return ExitCode.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`tokenmix: unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(', ')} (see tokenmix --help)`);
    return ExitCode.usage;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof TokenmixError) {
      io.err(error.message);
      return ExitCode.usage;
    }
    if (error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      io.err(`tokenmix: ${name}: ${error.message} (see tokenmix ${name} --help)`);
      return ExitCode.usage;
    }
    const fsMessage = fileSystemMessage(name, error);
    if (fsMessage !== null) {
      io.err(fsMessage.text);
      return fsMessage.code;
    }
    throw error;
  }
}

const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'it is a directory, where a file was expected',
  ERR_FS_EISDIR: 'it is a directory, where a file was expected',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'it already exists',
  ENOTEMPTY: 'the directory is not empty',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
};

/**
 * A file-system error that escaped a command (an --out that is a file, a manifest.json that is
 * a directory, a full disk) as one line naming the path: exit 2 when the path given is wrong,
 * 1 when the machine failed.
 */
function fileSystemMessage(command: string, error: unknown): { text: string; code: number } | null {
  if (!(error instanceof Error)) return null;
  const { code, path, syscall, dest } = error as NodeJS.ErrnoException & { dest?: string };
  if (typeof code !== 'string' || !Object.hasOwn(FS_REASONS, code)) return null;
  const where = (typeof path === 'string' ? ` ${path}` : '') + (typeof dest === 'string' ? ` to ${dest}` : '');
  const machine = code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO' || code === 'EMFILE';
  return {
    text: `tokenmix: ${command}: cannot ${syscall ?? 'access'}${where}: ${FS_REASONS[code]} (${code})`,
    code: machine ? ExitCode.failed : ExitCode.usage,
  };
}
