/**
 * The worker side of a TaskLink: progress and signature requests go out over the task's
 * port (a request as an Arrow record batch, arrow-batch.ts); signatures come back with their
 * buffers transferred (no copies).
 */
import type { MessagePort } from 'node:worker_threads';
import type { LinkMessage, SignRequest, TaskLink } from './executor.js';

/** The column of a sign request's record batch: each document's shingle (or word) hashes. */
export const SIGN_COLUMN = 'hashes';

/**
 * arrow-batch.ts and apache-arrow (~140 ms to load), loaded by the first signature request on
 * either side of a link: a CPU run never sends one.
 */
let arrow: Promise<typeof import('./arrow-batch.js')> | null = null;
export function arrowBatch(): Promise<typeof import('./arrow-batch.js')> {
  return (arrow ??= import('./arrow-batch.js'));
}

type Reply = { type: 'signed'; id: number; signatures?: Uint32Array; error?: string };

export function portLink(port: MessagePort): TaskLink {
  const waiting = new Map<number, { resolve: (s: Uint32Array) => void; reject: (e: Error) => void }>();
  let next = 0;
  port.on('message', (reply: Reply) => {
    const entry = waiting.get(reply.id);
    if (!entry) return;
    waiting.delete(reply.id);
    if (reply.signatures) entry.resolve(reply.signatures);
    else entry.reject(new Error(reply.error ?? 'no signatures'));
  });
  return {
    advance(records, bytes) {
      port.postMessage({ type: 'advance', records, bytes } satisfies LinkMessage);
    },
    sign(request: SignRequest) {
      const id = next++;
      return new Promise<Uint32Array>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        // As an Arrow record batch (one list<uint32> column), its buffers transferred; requests
        // go out in call order (each waits on the same import).
        arrowBatch().then(({ listBatchMessage, listRecordBatch }) => {
          const { message, transfer } = listBatchMessage(listRecordBatch(SIGN_COLUMN, request.offsets, request.tokens), SIGN_COLUMN);
          port.postMessage({ type: 'sign', id, batch: message } satisfies LinkMessage, transfer);
        }).catch((error: Error) => {
          waiting.delete(id);
          reject(error);
        });
      });
    },
  };
}
