/**
 * The JSON values of a file of JSON lines that tokenmix wrote itself (intermediates: one value
 * per line, no blank-line or BOM rules to honour), read in chunks through the input layer's
 * LineSplitter (one UTF-8 decode per run of whole lines): about 2.5× faster than node:readline,
 * with far less garbage, and synchronous, so a caller that batches records pays no promise per
 * record.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { invariant } from '../errors.js';
import { LineSplitter, type Line } from '../io/lines.js';

/** Bytes read at a time. */
const CHUNK_BYTES = 4 << 20;

export function* jsonLines<T>(path: string, chunkBytes = CHUNK_BYTES): Generator<T> {
  const splitter = new LineSplitter(Number.MAX_SAFE_INTEGER);
  const parse = (line: Line): T | undefined => {
    invariant(typeof line === 'string', `${path}: an intermediate line is not valid UTF-8`);
    return line.length > 0 ? (JSON.parse(line) as T) : undefined;
  };
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(chunkBytes);
    for (let read = readSync(fd, chunk, 0, chunkBytes, null); read > 0; read = readSync(fd, chunk, 0, chunkBytes, null)) {
      for (const line of splitter.push(chunk.subarray(0, read))) {
        const value = parse(line);
        if (value !== undefined) yield value;
      }
    }
    for (const line of splitter.end()) {
      const value = parse(line);
      if (value !== undefined) yield value;
    }
  } finally {
    closeSync(fd);
  }
}
