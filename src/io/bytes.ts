/**
 * The decompressed bytes of a JSONL file as a stream of chunks (SPEC §7: streams shards,
 * bounded memory). gzip goes through Node's zlib, zstd through `zstd.ts` (fzstd plus the
 * checksum, size and framing checks fzstd lacks; Node 20's zlib has no zstd). Failures become one-line `TokenmixError`s that
 * name the file and what failed.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { InputCorruptError, invariant, TokenmixError } from '../errors.js';
import type { Compression, ResolvedInput } from './types.js';
import { createZstdDecoder, ZstdDataError } from './zstd.js';
import { fileChunks } from './file-chunks.js';

export interface ByteSource {
  /** Decompressed bytes, in order. Iterating it to the end (or breaking out) closes the file. */
  chunks: AsyncIterable<Uint8Array>;
  /** Compressed bytes read from disk so far. */
  bytesRead(): number;
  /** What the file turned out to be (magic bytes beat the extension). */
  compression: Compression;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/**
 * Opens `input` for streaming. The compression comes from the file's first bytes when they
 * are a gzip or zstd magic number, else from the extension — so a gzip file named `.jsonl`
 * still reads, and a `.jsonl.gz` that is not gzip fails with a clear error.
 */
export async function openByteSource(input: ResolvedInput, chunkBytes: number, range?: { start: number; end: number }): Promise<ByteSource> {
  const compression = await detectCompression(input);
  invariant(range === undefined || (compression === 'none' && range.end > range.start), `${input.displayPath}: only a non-empty byte range of an uncompressed file can be read on its own`);
  if (compression === 'none') {
    const progress = { bytesRead: 0 };
    return { chunks: plainChunks(input, chunkBytes, range, progress), bytesRead: () => progress.bytesRead, compression };
  }
  // createReadStream's `end` is inclusive.
  const file = createReadStream(input.path, { highWaterMark: chunkBytes, ...(range !== undefined ? { start: range.start, end: range.end - 1 } : {}) });
  const bytesRead = () => file.bytesRead;
  switch (compression) {
    case 'gzip':
      return { chunks: gunzipChunks(input, file), bytesRead, compression };
    case 'zstd':
      return { chunks: zstdChunks(input, file), bytesRead, compression };
  }
}

/** What a JSONL file's bytes are: its magic number beats its extension. */
export async function detectCompression(input: ResolvedInput): Promise<Compression> {
  return sniff(await readHead(input, 4)) ?? input.compression;
}

function sniff(head: Uint8Array): Compression | undefined {
  if (GZIP_MAGIC.every((byte, i) => head[i] === byte)) return 'gzip';
  if (ZSTD_MAGIC.every((byte, i) => head[i] === byte)) return 'zstd';
  return undefined;
}

async function readHead(input: ResolvedInput, bytes: number): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(input.path, 'r');
    const buffer = new Uint8Array(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } catch (error) {
    throw unreadable(input, 'could not be opened', error);
  } finally {
    await handle?.close();
  }
}

/** An uncompressed file (or a byte range of one), in chunks of one reused buffer (file-chunks.ts). */
async function* plainChunks(input: ResolvedInput, chunkBytes: number, range: { start: number; end: number } | undefined, progress: { bytesRead: number }): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of fileChunks(input.path, range, chunkBytes)) {
      progress.bytesRead += chunk.length;
      yield chunk;
    }
  } catch (error) {
    throw unreadable(input, 'could not be read', error);
  }
}

async function* gunzipChunks(input: ResolvedInput, file: ReadStream): AsyncGenerator<Uint8Array> {
  const gunzip = createGunzip();
  let fileError: unknown;
  file.on('error', (error) => {
    fileError = error;
    gunzip.destroy(error);
  });
  file.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Uint8Array;
  } catch (error) {
    if (fileError !== undefined) throw unreadable(input, 'could not be read', fileError);
    // zlib checks each member's CRC-32 and length and refuses data after the last member,
    // but does not say where: the bytes it had been handed bound the position.
    const reason = causeText(error);
    throw corruptAt(input, 'gzip', gunzip.bytesWritten, `${gzipWhat(reason)} (zlib: ${reason}; truncated or corrupt file)`, 'at or before');
  } finally {
    file.destroy();
    gunzip.destroy();
  }
}

async function* zstdChunks(input: ResolvedInput, file: ReadStream): AsyncGenerator<Uint8Array> {
  const decoder = await createZstdDecoder();
  try {
    // Hand out each block's output before decoding the next: memory stays bounded.
    for await (const chunk of file) yield* decoder.push(chunk as Uint8Array);
    yield* decoder.end();
  } catch (error) {
    if (error instanceof ZstdDataError) throw corruptAt(input, 'zstd', error.offset, error.message);
    if (error instanceof TokenmixError) throw error;
    throw unreadable(input, 'could not be read', error);
  } finally {
    file.destroy();
  }
}

/** `tokenmix: data/a.jsonl.zst is not valid zstd data at byte 1234: <what>` */
export function corruptAt(input: ResolvedInput, format: string, offset: number, what: string, at = 'at'): TokenmixError {
  return new InputCorruptError(`${input.displayPath} is not valid ${format} data ${at} byte offset ${offset}: it ${what}`, input.displayPath, offset);
}

/** zlib's terse reasons, said as what is wrong with the file. */
function gzipWhat(reason: string): string {
  if (/unexpected end/i.test(reason)) return 'ends inside a gzip member';
  if (/data check/i.test(reason)) return 'fails a CRC-32 check';
  if (/length check/i.test(reason)) return 'fails a length check';
  if (/header check|compression method|unknown/i.test(reason)) return 'has bytes that are not gzip (trailing garbage, or not a gzip file)';
  return 'has a corrupt gzip member';
}

/** `tokenmix: data/a.jsonl.gz is not valid gzip data (...): <cause>` */
export function unreadable(input: ResolvedInput, what: string, cause: unknown): TokenmixError {
  return new TokenmixError(`${input.displayPath} ${what}: ${causeText(cause)}`, { where: input.displayPath, cause });
}

/** Like `unreadable`, for damaged bytes: an `InputCorruptError`, which quarantine mode sets aside. */
export function corruptFile(input: ResolvedInput, what: string, cause: unknown): InputCorruptError {
  return new InputCorruptError(`${input.displayPath} ${what}: ${causeText(cause)}`, input.displayPath);
}

/** The first line of an error's message, without a library's own prefix noise. */
export function causeText(cause: unknown): string {
  const text = cause instanceof Error ? cause.message : String(cause);
  return text.split('\n')[0].trim() || 'unknown error';
}

/** Open an input for random access (Parquet, Arrow): its handle and size, or a located error. */
export async function openInput(input: ResolvedInput): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(input.path, 'r');
  } catch (error) {
    throw unreadable(input, 'could not be opened', error);
  }
  try {
    return { handle, size: (await handle.stat()).size };
  } catch (error) {
    await handle.close();
    throw unreadable(input, 'could not be read', error);
  }
}
