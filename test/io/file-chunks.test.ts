/**
 * fileChunks: a file's bytes (or a byte range) in chunks of one reused buffer. Every expectation
 * is `readFileSync(path).subarray(start, end)`, computed by Node, never by the code under test.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FILE_CHUNK_BYTES, fileChunks } from '../../src/io/file-chunks.js';
import { mulberry32 } from '../../fixtures/random.js';
import { tempDir } from './helpers.js';

const temp = tempDir();
afterAll(() => temp.cleanup());

/** A file of `length` seeded random bytes. */
function randomFile(name: string, length: number, seed: number): string {
  const random = mulberry32(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  const path = join(temp.dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** Copies of every chunk (a chunk is valid only until the next is asked for). */
async function collect(path: string, range?: { start: number; end: number }, chunkBytes?: number): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of fileChunks(path, range, chunkBytes)) chunks.push(chunk.slice());
  return chunks;
}

/** The chunks joined (Node's own Buffer.concat: independent of the code under test). */
const concat = (chunks: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(chunks));

const LENGTH = 10_000;
const path = randomFile('random.bin', LENGTH, 1234);
const whole = new Uint8Array(readFileSync(path));

describe('fileChunks', () => {
  it('the default chunk size is 1 MiB', () => {
    expect(FILE_CHUNK_BYTES).toBe(1 << 20);
  });

  it('whole file with the default chunk size: one chunk equal to the file', async () => {
    const chunks = await collect(path);
    expect(chunks).toHaveLength(1);
    expect(concat(chunks)).toEqual(whole);
  });

  it.each([1, 7, 64, 1000, 4096, LENGTH - 1, LENGTH, LENGTH + 1, 3 * LENGTH])('whole file in chunks of %i bytes', async (chunkBytes) => {
    const chunks = await collect(path, undefined, chunkBytes);
    expect(concat(chunks)).toEqual(whole);
    // Full chunks except the last, none empty.
    expect(chunks).toHaveLength(Math.ceil(LENGTH / chunkBytes));
    for (const c of chunks.slice(0, -1)) expect(c.length).toBe(chunkBytes);
    for (const c of chunks) expect(c.length).toBeGreaterThan(0);
  });

  it.each([
    { start: 0, end: LENGTH },
    { start: 13, end: 500 }, // both ends mid-chunk
    { start: 0, end: 321 }, // ends mid-chunk
    { start: 4321, end: LENGTH }, // starts mid-chunk
    { start: 100, end: 164 }, // exactly one chunk of 64, not chunk-aligned
    { start: 128, end: 192 }, // exactly one chunk of 64, chunk-aligned
    { start: 9999, end: LENGTH }, // last byte
    { start: 5000, end: 5001 }, // one byte
    { start: 9000, end: 20_000 }, // end past the file: stops at its end
  ])('range $start to $end', async (range) => {
    for (const chunkBytes of [1, 7, 64, 1000, LENGTH, 2 * LENGTH]) {
      const chunks = await collect(path, range, chunkBytes);
      expect(concat(chunks)).toEqual(whole.subarray(range.start, Math.min(range.end, LENGTH)));
      for (const c of chunks) {
        expect(c.length).toBeGreaterThan(0);
        expect(c.length).toBeLessThanOrEqual(chunkBytes);
      }
    }
  });

  it('a range of exactly one chunk yields one chunk', async () => {
    const chunks = await collect(path, { start: 100, end: 164 }, 64);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toEqual(whole.subarray(100, 164));
  });

  it('an empty range (start === end) yields nothing', async () => {
    for (const at of [0, 17, LENGTH]) {
      for (const chunkBytes of [1, 7, LENGTH]) expect(await collect(path, { start: at, end: at }, chunkBytes)).toEqual([]);
    }
  });

  it('a range starting at or past the end of the file yields nothing', async () => {
    expect(await collect(path, { start: LENGTH, end: LENGTH + 10 }, 7)).toEqual([]);
    expect(await collect(path, { start: LENGTH + 5, end: LENGTH + 10 }, 7)).toEqual([]);
  });

  it('an empty file yields nothing', async () => {
    const empty = join(temp.dir, 'empty.bin');
    writeFileSync(empty, new Uint8Array(0));
    expect(await collect(empty)).toEqual([]);
    expect(await collect(empty, undefined, 1)).toEqual([]);
    expect(await collect(empty, { start: 0, end: 0 }, 7)).toEqual([]);
    expect(await collect(empty, { start: 0, end: 100 }, 7)).toEqual([]);
  });

  it('contract: every chunk is a view of one reused buffer, overwritten by the next', async () => {
    const buffers = new Set<ArrayBufferLike>();
    let first: Uint8Array | undefined;
    let firstCopy: Uint8Array | undefined;
    let count = 0;
    for await (const chunk of fileChunks(path, { start: 0, end: 700 }, 100)) {
      buffers.add(chunk.buffer);
      expect(chunk.byteOffset).toBe(0);
      expect(chunk.buffer.byteLength).toBe(100);
      if (first === undefined) {
        first = chunk;
        firstCopy = chunk.slice();
      }
      count++;
    }
    expect(count).toBe(7);
    expect(buffers.size).toBe(1);
    // The first view now shows the last chunk's bytes: it was valid only until the next chunk.
    expect(firstCopy).toEqual(whole.subarray(0, 100));
    expect(first).toEqual(whole.subarray(600, 700));
  });

  it('a missing file rejects with ENOENT', async () => {
    const missing = join(temp.dir, 'no-such-file.bin');
    await expect(collect(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('stopping early closes the file (the generator can be left mid-way)', async () => {
    const openFds = () => readdirSync('/proc/self/fd').length;
    const before = openFds();
    let seen = 0;
    for await (const chunk of fileChunks(path, undefined, 10)) {
      expect(chunk).toEqual(whole.subarray(seen, seen + 10));
      seen += chunk.length;
      if (seen >= 30) break;
    }
    expect(seen).toBe(30);
    expect(openFds()).toBe(before);
  });
});
