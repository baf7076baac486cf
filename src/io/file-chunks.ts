/**
 * A file's bytes (or a byte range of them) in chunks read into one buffer, reused: each chunk is
 * valid only until the next is asked for. Reading into a fresh buffer per chunk (as a
 * `createReadStream` does) allocates, zeroes or faults in a chunk's worth of memory per chunk
 * read, which on hashing a large input cost as much as the hashing itself. Errors (a missing
 * file, a failed read) are thrown as Node raises them; callers say which file and what failed.
 */
import { open } from 'node:fs/promises';

export const FILE_CHUNK_BYTES = 1 << 20;

export async function* fileChunks(path: string, range?: { start: number; end: number }, chunkBytes = FILE_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(chunkBytes);
    let position = range?.start ?? 0;
    const end = range?.end ?? Infinity;
    while (position < end) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(chunkBytes, end - position), position);
      if (bytesRead === 0) break;
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
