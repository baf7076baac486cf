/**
 * Entry of a worker thread of the local executor: runs one task at a time (dispatch.ts), talking
 * to the calling thread through the task's port.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Task } from './executor.js';
import { runTaskHere } from './dispatch.js';
import { portLink } from './worker-link.js';

export default async function runTask(task: Task & { port: MessagePort }): Promise<unknown> {
  try {
    return await runTaskHere(task, portLink(task.port));
  } finally {
    task.port.close();
  }
}
