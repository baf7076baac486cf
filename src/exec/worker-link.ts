/**
 * The worker side of a TaskLink: progress and signature requests go out over the task's
 * port; signatures come back with their buffers transferred (no copies).
 */
import type { MessagePort } from 'node:worker_threads';
import type { LinkMessage, SignRequest, TaskLink } from './executor.js';

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
        port.postMessage({ type: 'sign', id, offsets: request.offsets, tokens: request.tokens } satisfies LinkMessage, [
          request.offsets.buffer as ArrayBuffer,
          request.tokens.buffer as ArrayBuffer,
        ]);
      });
    },
  };
}
