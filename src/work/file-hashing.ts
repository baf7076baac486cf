/**
 * Where the reduce's checks of its inputs and intermediates (work/markers.ts inputStaleReason)
 * read and hash files: on this thread, one file after another, or as tasks on the run's
 * workers, all at once. Hashing every input and every intermediate is O(bytes) — about 1 GB/s
 * per core — so on one thread it becomes a serial step between the map and the reduce; as
 * tasks it spreads over the cores like the map. Results are the same either way.
 */
import type { Executor, Task, TaskLink } from '../exec/executor.js';
import { describeIntermediate, fileAndRangeSha256, stableStatKey } from './fingerprint.js';

export interface FileHashing {
  fileAndRangeSha256(path: string, ranges: [number, number][]): Promise<{ sha256: string; ranges: string[] }>;
  describeIntermediate(path: string): Promise<{ bytes: number; sha256: string } | null>;
  /** Whether to ask for every file at once (workers queue them) rather than one after another. */
  concurrent: boolean;
}

export const ON_THIS_THREAD: FileHashing = { fileAndRangeSha256, describeIntermediate, concurrent: false };

/** SHA-256 of a file and of byte ranges of it (fingerprint.ts fileAndRangeSha256), on any thread. */
export interface HashFileTask extends Task {
  kind: 'hash-file';
  path: string;
  ranges: [number, number][];
  /** Also return the file's stableStatKey from before the read (`stat`, null when it is racy). */
  withStat?: boolean;
}

/** Size and SHA-256 of an intermediate file, or null when it is missing, on any thread. */
export interface DescribeFileTask extends Task {
  kind: 'describe-file';
  path: string;
}

export async function runHashTask(task: HashFileTask | DescribeFileTask): Promise<unknown> {
  if (task.kind === 'describe-file') return describeIntermediate(task.path);
  if (!task.withStat) return fileAndRangeSha256(task.path, task.ranges);
  const stat = await stableStatKey(task.path);
  return { ...(await fileAndRangeSha256(task.path, task.ranges)), stat };
}

/**
 * The SHA-256 of whole inputs, hashed while the map runs (dedup with several workers: the task
 * queues before the units, so a core hashes while the others map, instead of one core hashing
 * alone between the map and the reduce), and the stat key each had before it was read.
 */
export function hashWholeFiles(executor: Executor, paths: string[]): Map<string, Promise<{ sha256: string; stat: string | null } | null>> {
  return new Map(paths.map((path) => {
    const hashed = executor.run({ kind: 'hash-file', label: `${path} (SHA-256)`, path, ranges: [], withStat: true } as HashFileTask, quiet) as Promise<{ sha256: string; stat: string | null }>;
    // A failure here is not the run's: the reduce hashes the file again and reports what it finds.
    return [path, hashed.catch(() => null)];
  }));
}

const quiet: TaskLink = { advance: () => {} };

/** An executor of hashing tasks on this thread (its reads are asynchronous: the thread goes on between chunks). */
export const HASH_HERE: Executor = { workers: 1, run: <R>(task: Task) => runHashTask(task as HashFileTask) as Promise<R>, close: async () => {} };

/** FileHashing as tasks of `executor` (an executor of one thread hashes here, one file at a time). */
export function hashingOn(executor: Executor): FileHashing {
  if (executor.workers <= 1) return ON_THIS_THREAD;
  return {
    concurrent: true,
    fileAndRangeSha256: (path, ranges) => executor.run({ kind: 'hash-file', label: `${path} (SHA-256)`, path, ranges } as HashFileTask, quiet),
    describeIntermediate: (path) => executor.run({ kind: 'describe-file', label: `${path} (SHA-256)`, path } as DescribeFileTask, quiet),
  };
}
