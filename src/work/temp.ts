/**
 * Temporary files of work in progress: named per process, so two processes writing the same
 * shard or output (duplicate ranks, retries, a reducer and a killed one's leftovers) never
 * write into one file, and removable once their process is gone.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { processAlive } from './lease.js';

const HOST_TAG = hostname().replace(/[^A-Za-z0-9]/g, '_');
const TEMP_NAME = /\.([A-Za-z0-9_]+)-(\d+)-[0-9a-f]{8}\.partial$/;

/** A temporary name next to `path`, unique to this process and call (renamed to `path` when complete). */
export function tempPath(path: string): string {
  return `${path}.${HOST_TAG}-${process.pid}-${randomBytes(4).toString('hex')}.partial`;
}

/** Write `data` to `path` all at once: a temporary name first, then a rename (readers see the old file or the whole new one). */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = tempPath(path);
  await writeFile(temp, data);
  await rename(temp, path);
}

/**
 * Remove the temporary files in `dirs` left by killed processes of this host (their pid is
 * gone); a live process's files, and any other host's, are left alone.
 */
export async function removeDeadTemps(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const match = TEMP_NAME.exec(name);
      if (match && match[1] === HOST_TAG && !processAlive(Number(match[2]))) await rm(join(dir, name), { force: true });
    }
  }
}
