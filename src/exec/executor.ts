/**
 * Executors run tasks (units of work) on workers (concurrency), as datatrove separates them.
 * The in-process executor runs a task's handler on the calling thread (browser, tests,
 * `--workers 1`); the local executor runs them on a pool of worker threads (piscina) sized to
 * the cores, each with a heap bounded by its share of `--memory-mb`. A task talks back to the
 * thread that submitted it through a `TaskLink`: progress, and — for the one thread that owns
 * the GPU device — signature requests that it answers with the device's results.
 *
 * The cluster executors (Slurm) run the same tasks as separate processes (`tokenmix
 * run-task`); they plug in above this seam: a map task there is a list of units run by a local
 * executor.
 */
import { MessageChannel, type MessagePort, type Transferable } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { TokenmixError } from '../errors.js';
import type { ListBatchMessage } from './arrow-batch.js';
import { arrowBatch, SIGN_COLUMN } from './worker-link.js';

/** A request for MinHash signatures of a batch in CSR form (word hashes per document). */
export interface SignRequest {
  offsets: Uint32Array;
  tokens: Uint32Array;
}

/** What a running task can ask of the thread that submitted it. */
export interface TaskLink {
  /** Records and bytes done since the last call (progress). */
  advance(records: number, bytes: number): void;
  /** Signatures from the device owner; unset when the task computes them itself. */
  sign?(request: SignRequest): Promise<Uint32Array>;
}

/** Every task names its kind (the worker dispatches on it) and what to call it in messages. */
export interface Task {
  kind: string;
  /** e.g. `data/a.jsonl (part 2 of 4, bytes ...)`: named in the error if the task crashes. */
  label: string;
}

export type TaskHandler = (task: Task, link: TaskLink) => Promise<unknown>;

export interface Executor {
  readonly workers: number;
  run<R>(task: Task, link: TaskLink): Promise<R>;
  close(): Promise<void>;
}

/** `TOKENMIX_WORKERS` when set (like OMP_NUM_THREADS), else the cores available to this process. */
export function defaultWorkers(): number {
  const fromEnv = process.env.TOKENMIX_WORKERS;
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isSafeInteger(n) || n < 1) throw new TokenmixError(`TOKENMIX_WORKERS must be a positive integer (got ${JSON.stringify(fromEnv)})`);
    return n;
  }
  return availableParallelism();
}

/** Runs each task on the calling thread, one at a time. */
export function inProcessExecutor(handler: TaskHandler): Executor {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    workers: 1,
    run<R>(task: Task, link: TaskLink): Promise<R> {
      const result = queue.then(() => handler(task, link));
      queue = result.catch(() => {});
      return result as Promise<R>;
    },
    async close() {},
  };
}

export interface LocalExecutorOptions {
  workers: number;
  /** Heap limit of each worker thread, MiB (its share of --memory-mb). */
  workerHeapMb?: number;
  /** The worker entry module (src/exec/worker.ts, compiled or through tsx). */
  workerUrl: URL;
  execArgv?: string[];
}

/** Messages on a task's port, worker → submitter. */
export type LinkMessage =
  | { type: 'advance'; records: number; bytes: number }
  | { type: 'sign'; id: number; batch: ListBatchMessage };


/** Runs tasks on a pool of worker threads; a task's `port` carries its TaskLink calls. */
export function localExecutor(options: LocalExecutorOptions): Executor {
  const pool = new Piscina({
    filename: options.workerUrl.href,
    minThreads: options.workers,
    maxThreads: options.workers,
    // One task at a time per worker: a task is a whole unit (megabytes), not a record.
    concurrentTasksPerWorker: 1,
    idleTimeout: 60_000,
    ...(options.workerHeapMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: options.workerHeapMb } } : {}),
    ...(options.execArgv ? { execArgv: options.execArgv } : {}),
  });
  return {
    workers: options.workers,
    async run<R>(task: Task, link: TaskLink): Promise<R> {
      const { port1, port2 } = new MessageChannel();
      port1.on('message', (message: LinkMessage) => answer(port1, message, link));
      try {
        return (await pool.run({ ...task, port: port2 }, { transferList: [port2] as unknown as Transferable[] })) as R;
      } catch (error) {
        throw taskError(task, error, options.workerHeapMb);
      } finally {
        port1.close();
      }
    },
    async close() {
      await pool.destroy();
    },
  };
}

function answer(port: MessagePort, message: LinkMessage, link: TaskLink): void {
  if (message.type === 'advance') {
    link.advance(message.records, message.bytes);
    return;
  }
  if (!link.sign) {
    port.postMessage({ type: 'signed', id: message.id, error: 'this task has no device to sign with' });
    return;
  }
  const sign = link.sign.bind(link);
  // Requests are answered in order: each waits on the same import before signing.
  arrowBatch().then(({ listColumnCsr, messageRecordBatch }) => {
    const { offsets, values } = listColumnCsr(messageRecordBatch(message.batch), SIGN_COLUMN);
    return sign({ offsets, tokens: values });
  }).then(
    (signatures) => port.postMessage({ type: 'signed', id: message.id, signatures }, [signatures.buffer as ArrayBuffer]),
    (error: unknown) => port.postMessage({ type: 'signed', id: message.id, error: error instanceof Error ? error.message : String(error) }),
  );
}

/**
 * An error from a worker as one line: a `tokenmix:` message passes through as it was (it
 * already names the file and record); anything else (a crash, a bug, memory) is named by the
 * task, with what to do about memory.
 */
export function taskError(task: Task, error: unknown, workerHeapMb?: number): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith('tokenmix:')) return new TokenmixError(message);
  const code = (error as { code?: string } | null)?.code;
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new TokenmixError(`a worker ran out of memory (${workerHeapMb ?? '?'} MiB heap) while processing ${task.label}; raise --memory-mb or lower --workers`);
  }
  const first = message.split('\n')[0];
  return new TokenmixError(`a worker failed while processing ${task.label}: ${first} (rerun to resume from the finished units)`);
}
