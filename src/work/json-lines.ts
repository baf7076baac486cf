/**
 * The JSON values of a file of JSON lines that tokenmix wrote itself (intermediates: one value
 * per line, no blank-line or BOM rules to honour), read in chunks and split at newlines here:
 * about 2.5× faster than node:readline, with far less garbage, and synchronous, so a caller
 * that batches records pays no promise per record.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** Bytes read at a time (whole lines are decoded per chunk). */
const CHUNK_BYTES = 4 << 20;

export function* jsonLines<T>(path: string, chunkBytes = CHUNK_BYTES): Generator<T> {
  const fd = openSync(path, 'r');
  try {
    let carry = Buffer.alloc(0);
    const chunk = Buffer.allocUnsafe(chunkBytes);
    for (;;) {
      const read = readSync(fd, chunk, 0, chunkBytes, null);
      const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, read)]) : chunk.subarray(0, read);
      const end = read === 0 ? data.length : data.lastIndexOf(10) + 1;
      const text = data.toString('utf8', 0, end);
      for (let start = 0, stop = text.indexOf('\n'); start < text.length; start = stop + 1, stop = text.indexOf('\n', start)) {
        if (stop === -1) stop = text.length;
        if (stop > start) yield JSON.parse(text.slice(start, stop)) as T;
      }
      if (read === 0) return;
      carry = Buffer.from(data.subarray(end));
    }
  } finally {
    closeSync(fd);
  }
}
