/**
 * User-facing errors carry a `tokenmix:` prefix and say what was wrong, where, and how to
 * fix it. The CLI prints their message on one line, without a stack trace.
 */
export class TokenmixError extends Error {
  /** Optional location of the problem, e.g. `data/a.jsonl:17` or `shard.parquet row 3`. */
  readonly where?: string;
  constructor(message: string, options?: { where?: string; cause?: unknown }) {
    const text = message.startsWith('tokenmix:') ? message : `tokenmix: ${message}`;
    super(text, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TokenmixError';
    this.where = options?.where;
  }
}

/**
 * An input file whose bytes are damaged (bad checksum, truncated, trailing garbage, a length
 * that points outside the file). With `on_error: quarantine` the whole file is set aside and
 * counted; it is never read past the damage.
 */
export class InputCorruptError extends TokenmixError {
  constructor(message: string, readonly file: string, readonly offset?: number) {
    super(message, { where: offset === undefined ? file : `${file} byte ${offset}` });
    this.name = 'InputCorruptError';
  }
}

/** Thrown when the GPU was required (`backend: 'gpu'`) but is unavailable or failed. */
export class GpuUnavailableError extends TokenmixError {
  constructor(message: string) {
    super(message);
    this.name = 'GpuUnavailableError';
  }
}

/** Internal consistency check: a failure is a bug in tokenmix, not bad input. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`tokenmix internal error: ${message}`);
}
