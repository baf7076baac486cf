/**
 * Renewal of a held lease from a worker thread: the main thread of a reduce may run long
 * synchronous steps (grouping, union-find) during which its own timers would not fire.
 * Renewal rewrites the lease's bytes in place (same bytes, so a reader never sees them torn),
 * which makes the filesystem stamp a fresh mtime from its own clock. When the file is gone or
 * holds another token, the lease was taken over: the worker reports it and stops.
 */
import { Worker } from 'node:worker_threads';

// Plain CommonJS evaluated in the worker: no module file to locate from dist/ or from tsx.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { path, token, renewMs } = workerData;
const renew = () => {
  let fd;
  try {
    fd = fs.openSync(path, 'r+');
  } catch (error) {
    return error.code === 'ENOENT' ? 'the lease file is gone' : 'cannot open the lease file: ' + error.code;
  }
  try {
    const text = fs.readFileSync(fd, 'utf8');
    let holder = null;
    try { holder = JSON.parse(text); } catch {}
    if (!holder || holder.token !== token) return 'another process holds it now';
    const bytes = Buffer.from(text);
    fs.writeSync(fd, bytes, 0, bytes.length, 0);
    return null;
  } finally {
    fs.closeSync(fd);
  }
};
const timer = setInterval(() => {
  const lost = renew();
  if (lost) {
    clearInterval(timer);
    parentPort.postMessage({ lost });
  }
}, renewMs);
parentPort.on('message', (message) => {
  if (message === 'stop') {
    clearInterval(timer);
    parentPort.close();
  }
});
`;

export interface Heartbeat {
  /** Why renewal failed, or null while the lease is held. */
  lost(): string | null;
  stop(): Promise<void>;
}

export function startHeartbeat(path: string, token: string, renewMs: number): Heartbeat {
  let lost: string | null = null;
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, token, renewMs } });
  worker.unref();
  worker.on('message', (message: { lost: string }) => {
    lost = message.lost;
  });
  worker.on('error', (error) => {
    lost = `renewal failed: ${error.message}`;
  });
  return {
    lost: () => lost,
    stop: async () => {
      worker.postMessage('stop');
      await worker.terminate();
    },
  };
}
