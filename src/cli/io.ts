/** Where the CLI writes: stdout for results, stderr for progress and notices. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether stderr is a terminal (progress lines only then). */
  interactive: boolean;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  interactive: Boolean(process.stderr.isTTY),
};

/** Exit codes: 0 ok, 1 the work failed (e.g. a self-test mismatch), 2 bad usage or bad input. */
export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const;
