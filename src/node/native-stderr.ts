/**
 * Dawn's native code logs adapter-probe warnings (a missing libvulkan, limits it lowered for
 * OpenGL ES) straight to file descriptor 2, below anything Node can intercept, and has no
 * run-time switch for it. Users should see one line naming the adapter, so the probe runs
 * with fd 2 pointed at a temporary file (dup/dup2 through koffi's C FFI: Node cannot move a
 * file descriptor itself); the captured text goes to `tokenmix doctor` and `--verbose`.
 * Where koffi or libc cannot be loaded (e.g. Windows) the work runs uncaptured, as before.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

interface Libc {
  dup: (fd: number) => number;
  dup2: (from: number, to: number) => number;
  close: (fd: number) => number;
}

const LIBC_NAMES: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'libc.so.6',
  darwin: 'libSystem.B.dylib',
  freebsd: 'libc.so.7',
};

let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  const name = LIBC_NAMES[process.platform];
  if (!name) return libc;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load(name);
    libc = {
      dup: lib.func('int dup(int fd)'),
      dup2: lib.func('int dup2(int oldfd, int newfd)'),
      close: lib.func('int close(int fd)'),
    };
  } catch {
    // No FFI here: the probe's native messages reach stderr as they did before.
  }
  return libc;
}

export interface Captured<T> {
  value: T;
  /** Dawn's log messages written to fd 2 meanwhile; null when fd 2 could not be captured. */
  nativeLog: string | null;
}

/**
 * Run `work` with fd 2 redirected to a temporary file and return Dawn's messages from it.
 * Anything else written there meanwhile goes back to stderr: nothing but Dawn's log is hidden.
 */
export async function captureNativeStderr<T>(work: () => Promise<T>): Promise<Captured<T>> {
  // fd 2 belongs to the whole process: worker threads (which cannot see this thread's lock)
  // leave it alone, and captures on the main thread take turns.
  if (!isMainThread) return { value: await work(), nativeLog: null };
  const turn = queue.then(() => captureOnce(work));
  queue = turn.then(() => undefined, () => undefined);
  return turn;
}

let queue: Promise<void> = Promise.resolve();

async function captureOnce<T>(work: () => Promise<T>): Promise<Captured<T>> {
  const c = loadLibc();
  const dir = c ? mkdtempSync(join(tmpdir(), 'tokenmix-stderr-')) : null;
  const target = dir ? openSync(join(dir, 'stderr.txt'), 'w+') : -1;
  const saved = c ? c.dup(2) : -1;
  const redirected = c !== null && saved >= 0 && c.dup2(target, 2) >= 0;
  let text = '';
  let value: T;
  try {
    value = await work();
  } finally {
    if (redirected) c.dup2(saved, 2);
    if (c && saved >= 0) c.close(saved);
    if (dir) {
      closeSync(target);
      text = readFileSync(join(dir, 'stderr.txt'), 'utf8');
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const { dawn, others } = splitDawnLog(text);
  if (others.length > 0) process.stderr.write(others);
  return { value, nativeLog: redirected ? dawn : null };
}

/**
 * Dawn logs `Severity: message`, continued by indented lines (a source location) and a blank
 * line. Split those blocks from any other text.
 */
export function splitDawnLog(text: string): { dawn: string; others: string } {
  const dawn: string[] = [];
  const others: string[] = [];
  let inBlock = false;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    if (/^(Warning|Error|Info|Debug): /.test(line)) inBlock = true;
    else if (inBlock && line.length > 0 && !/^\s/.test(line)) inBlock = false;
    (inBlock ? dawn : others).push(line);
  }
  const join = (list: string[]) => (list.length > 0 ? `${list.join('\n')}\n` : '');
  return { dawn: join(dawn), others: join(others) };
}
