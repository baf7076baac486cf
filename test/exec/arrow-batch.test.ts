import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { once } from 'node:events';
import { RecordBatch, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { listBatchMessage, listColumnCsr, listRecordBatch, messageRecordBatch, type ListBatchMessage } from '../../src/exec/arrow-batch.js';

/** A seeded CSR batch of `rows` documents of 0..40 hashes each. */
function csr(rows: number, seed: number) {
  const r = rng(seed);
  const lists = Array.from({ length: rows }, () => Array.from({ length: r.int(41) }, () => r.int(2 ** 32)));
  const offsets = new Uint32Array(rows + 1);
  lists.forEach((l, i) => (offsets[i + 1] = offsets[i] + l.length));
  return { lists, offsets, values: Uint32Array.from(lists.flat()) };
}

async function roundTrip(message: ListBatchMessage, transfer: ArrayBuffer[]): Promise<ListBatchMessage> {
  const { port1, port2 } = new MessageChannel();
  const received = once(port2 as MessagePort, 'message');
  port1.postMessage(message, transfer);
  const [got] = (await received) as [ListBatchMessage];
  port1.close();
  port2.close();
  return got;
}

describe('sign requests cross threads as Arrow record batches (list<uint32>), buffers transferred', () => {
  for (const rows of [0, 1, 63, 64, 65, 1000]) {
    it(`${rows} documents: the receiver's batch holds the same lists, the sender's buffers are moved, Arrow IPC reads it`, async () => {
      const { lists, offsets, values } = csr(rows, rows + 1);
      const expectedValues = values.slice();
      const batch = listRecordBatch('hashes', offsets, values);
      expect(batch).toBeInstanceOf(RecordBatch);
      expect(batch.numRows).toBe(rows);
      // Wrapping shares the arrays: no copy was made.
      expect(listColumnCsr(batch, 'hashes').values).toBe(values);
      const { message, transfer } = listBatchMessage(batch, 'hashes');
      const got = messageRecordBatch(await roundTrip(message, transfer));
      // Transferred, not cloned: the sender's buffers are detached.
      expect(values.byteLength).toBe(0);
      expect(offsets.byteLength).toBe(0);
      const column = got.getChild('hashes')!;
      expect(Array.from({ length: rows }, (_, i) => Array.from(column.get(i)!.toArray() as Uint32Array))).toEqual(lists);
      const back = listColumnCsr(got, 'hashes');
      expect(Array.from(back.values)).toEqual(Array.from(expectedValues));
      // A real Arrow batch: it survives Arrow's own IPC format.
      const ipc = tableFromIPC(tableToIPC(new Table(got)));
      expect(ipc.numRows).toBe(rows);
      expect(Array.from({ length: rows }, (_, i) => Array.from(ipc.getChild('hashes')!.get(i)!.toArray() as Uint32Array))).toEqual(lists);
    });
  }

  it('refuses offsets that do not end at the number of values', () => {
    expect(() => listRecordBatch('hashes', new Uint32Array([0, 3]), new Uint32Array(2))).toThrow(/offsets must end/);
  });
});
