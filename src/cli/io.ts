/** Where the CLI writes: stdout for results, stderr for progress and notices. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether stderr is a terminal (progress lines only then). */
  interactive: boolean;
}

// A text starting with a carriage return is a progress line that the next update overwrites:
// written as it is, without a newline.
export const line = (text: string) => (text.endsWith('\n') || text.startsWith('\r') ? text : `${text}\n`);

export const processIo: CliIo = {
  out: (text) => process.stdout.write(line(text)),
  err: (text) => process.stderr.write(line(text)),
  interactive: Boolean(process.stderr.isTTY),
};

/** Exit codes: 0 ok, 1 the work failed (e.g. a self-test mismatch), 2 bad usage or bad input. */
export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const;
