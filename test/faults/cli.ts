/**
 * Running the `tokenmix` command for the fault-injection suite: in-process through `main()`
 * (the CLI's own entry, captured output; most cases) or as a real child process from the
 * sources (`node --import tsx test/pipeline/cli-entry.ts`; a representative subset). Both give
 * the exit code and the stderr lines, and `expectCleanFailure` states what every failure must
 * look like: exit 2, one `tokenmix:` line, no stack trace.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';

export interface CliResult {
  code: number;
  out: string;
  /** Non-empty stderr lines. */
  err: string[];
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = join(root, 'test', 'pipeline', 'cli-entry.ts');

export async function cli(args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), interactive: false };
  let code: number;
  try {
    code = await main(args, io);
  } catch (error) {
    // main() must never throw: a throw here is what a user would see as a stack trace.
    return { code: -1, out: out.join('\n'), err: [String((error as Error)?.stack ?? error)] };
  }
  return { code, out: out.join('\n'), err: err.join('\n').split('\n').filter((l) => l.length > 0) };
}

/** The real command in a child process (slower: about a second per run). */
export function spawnCli(args: string[]): CliResult {
  const child = spawnSync(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: child.status ?? -1, out: child.stdout, err: child.stderr.split('\n').filter((l) => l.length > 0) };
}

/** Exit 2 and one `tokenmix:` line without a stack trace; returns that line. */
export function expectCleanFailure(result: CliResult): string {
  expect(result.err.join('\n')).not.toMatch(/^\s+at |internal error|\n\s+at /m);
  expect(result.code).toBe(2);
  const errors = result.err.filter((l) => !l.startsWith('tokenmix: warning'));
  expect(errors).toHaveLength(1);
  expect(errors[0].startsWith('tokenmix: ')).toBe(true);
  return errors[0];
}

/** Exit 0 and no stack trace (warnings and progress lines allowed). */
export function expectSuccess(result: CliResult): void {
  expect(result.err.join('\n')).not.toMatch(/^\s+at |internal error/m);
  expect(result.code).toBe(0);
}

export function tempDir(prefix = 'tokenmix-faults-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
