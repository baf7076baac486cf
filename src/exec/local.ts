/**
 * The executor a command uses on this machine: tasks on the calling thread for one worker,
 * else a pool of worker threads, each with its share of the memory budget.
 */
import { defaultWorkers, inProcessExecutor, localExecutor, type Executor, type TaskHandler } from './executor.js';
import { TokenmixError } from '../errors.js';

export interface WorkerOptions {
  /** Worker threads (default: the cores available). 1 runs everything on the calling thread. */
  workers?: number;
  /** Memory budget of the map phase's workers together, MiB (default 1024 per worker, at least 4096). */
  memoryMb?: number;
}

/** Below this a worker's heap is too small to hold a batch and a tokenizer. */
const MIN_WORKER_HEAP_MB = 256;

export function resolveWorkers(options: WorkerOptions): number {
  const workers = options.workers ?? defaultWorkers();
  if (!Number.isSafeInteger(workers) || workers < 1 || workers > 1024) throw new TokenmixError(`--workers must be an integer from 1 to 1024 (got ${workers})`);
  return workers;
}

/** An executor for `tasks` tasks: never more workers than tasks. */
export function createExecutor(options: WorkerOptions, inProcess: TaskHandler, tasks = Infinity): Executor {
  const workers = Math.min(resolveWorkers(options), Math.max(1, tasks));
  if (workers === 1) return inProcessExecutor(inProcess);
  const heap = options.memoryMb === undefined ? undefined : Math.floor(options.memoryMb / workers);
  if (heap !== undefined && heap < MIN_WORKER_HEAP_MB) {
    throw new TokenmixError(`--memory-mb ${options.memoryMb} gives each of ${workers} workers ${heap} MiB; each needs at least ${MIN_WORKER_HEAP_MB} MiB: raise --memory-mb or lower --workers`);
  }
  const fromSources = import.meta.url.endsWith('.ts');
  return localExecutor({
    workers,
    ...(heap !== undefined ? { workerHeapMb: heap } : {}),
    workerUrl: new URL(fromSources ? './ts-worker.mjs' : './worker.js', import.meta.url),
  });
}
