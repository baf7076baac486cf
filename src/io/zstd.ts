/**
 * Streaming zstd decoding that refuses corrupt data (RFC 8878). fzstd decodes blocks but never
 * checks a frame's content checksum, its declared content size, or what follows the last
 * frame, so a flipped byte in a raw or literal block decodes as plausible garbage. This file
 * walks the frame and block headers itself, hands fzstd one whole block at a time, and checks
 * each frame's XXH64 checksum (low 32 bits, seed 0) and content size. Every failure carries
 * the compressed byte offset where it was found. Browser-safe: no Node imports.
 */
import { Decompress } from 'fzstd';
import xxhash, { type XXHash, type XXHashAPI } from 'xxhash-wasm';
import { concat } from './lines.js';

/** A zstd stream that cannot be decoded; `offset` is the compressed byte where it went wrong. */
export class ZstdDataError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'ZstdDataError';
  }
}

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const MAX_BLOCK_BYTES = 128 * 1024;
/**
 * Windows above 1 GiB (`zstd --long=31`) are refused: fzstd allocates the whole window up
 * front, and a flipped window byte must not ask for gigabytes.
 */
export const MAX_ZSTD_WINDOW_BYTES = 1 << 30;

let hasher: Promise<XXHashAPI> | undefined;

/** Loads the XXH64 implementation once per process (a small WebAssembly module). */
export async function createZstdDecoder(): Promise<CheckedZstdDecoder> {
  hasher ??= xxhash();
  return new CheckedZstdDecoder(await hasher);
}

/** Decodes a whole zstd buffer with every check (the explorer's dropped files). */
export async function zstdDecompressChecked(bytes: Uint8Array): Promise<Uint8Array> {
  const decoder = await createZstdDecoder();
  const parts = [...decoder.push(bytes), ...decoder.end()];
  return concat(parts);
}

type State =
  | { kind: 'magic' }
  | { kind: 'skip'; remaining: number }
  | { kind: 'block' }
  | { kind: 'checksum' };

interface Frame {
  start: number;
  decompress: Decompress;
  hash: XXHash<bigint>;
  hasChecksum: boolean;
  contentBytes: number | undefined;
  blockLimit: number;
  producedBytes: number;
}

export class CheckedZstdDecoder {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Compressed offset of the first pending byte. */
  private offset = 0;
  private state: State = { kind: 'magic' };
  private frame: Frame | undefined;
  private frames = 0;
  private output: Uint8Array[] = [];

  constructor(private readonly xxh: XXHashAPI) {}

  /**
   * Decompressed chunks made complete by `chunk`, produced lazily block by block: at most one
   * block's output (128 KiB) exists before the caller takes it, whatever the compression
   * ratio (an RLE block expands 4 bytes into 128 KiB).
   */
  *push(chunk: Uint8Array): Generator<Uint8Array> {
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    while (this.step()) yield* this.take();
    yield* this.take();
  }

  /** The stream ended: anything but a frame boundary here is a truncated file. */
  *end(): Generator<Uint8Array> {
    while (this.step()) yield* this.take();
    yield* this.take();
    const endOffset = this.offset + this.pendingBytes;
    if (this.state.kind !== 'magic' || this.pendingBytes > 0) {
      const where = this.frame === undefined ? 'a frame header' : `the frame starting at byte ${this.frame.start}`;
      throw new ZstdDataError(`ends inside ${where} (truncated file?)`, endOffset);
    }
    if (this.frames === 0) throw new ZstdDataError('holds no zstd frame (empty file?)', 0);
  }

  private take(): Uint8Array[] {
    const out = this.output;
    this.output = [];
    return out;
  }

  /** Consumes one header, block, checksum or skipped stretch; false when more bytes are needed. */
  private step(): boolean {
    switch (this.state.kind) {
      case 'magic':
        return this.startFrame();
      case 'skip': {
        const skipped = Math.min(this.state.remaining, this.pendingBytes);
        if (skipped > 0) this.consume(skipped);
        this.state.remaining -= skipped;
        if (this.state.remaining > 0) return false;
        this.state = { kind: 'magic' };
        return true;
      }
      case 'block':
        return this.decodeBlock();
      case 'checksum':
        return this.checkFrame();
    }
  }

  private startFrame(): boolean {
    if (this.pendingBytes < 4) return false;
    const head = this.peek(Math.min(this.pendingBytes, 18));
    const magic = u32(head, 0);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (head.length < 8) return false;
      this.consume(8);
      this.state = { kind: 'skip', remaining: u32(head, 4) };
      return true;
    }
    if (magic !== FRAME_MAGIC) {
      const what = this.frames === 0 ? 'does not start with a zstd frame' : 'has data after the last zstd frame that is not a frame (trailing garbage or corruption)';
      throw new ZstdDataError(what, this.offset);
    }
    if (head.length < 5) return false;
    const descriptor = head[4];
    const singleSegment = (descriptor >> 5) & 1;
    const dictionaryBytes = [0, 1, 2, 4][descriptor & 3];
    const contentSizeFlag = descriptor >> 6;
    const contentSizeBytes = contentSizeFlag === 0 ? singleSegment : 1 << contentSizeFlag;
    const headerBytes = 5 + (singleSegment ? 0 : 1) + dictionaryBytes + contentSizeBytes;
    if (head.length < headerBytes) return false;
    if (descriptor & 0x08) throw new ZstdDataError('has a frame header with its reserved bit set (corrupt)', this.offset);
    let at = 5;
    let windowBytes = 0;
    if (!singleSegment) {
      const exponent = 10 + (head[at] >> 3);
      const base = 2 ** exponent;
      windowBytes = base + (base / 8) * (head[at] & 7);
      at++;
    }
    const dictionaryId = readLittleEndian(head, at, dictionaryBytes);
    at += dictionaryBytes;
    let contentBytes: number | undefined;
    if (contentSizeBytes > 0) contentBytes = readLittleEndian(head, at, contentSizeBytes) + (contentSizeBytes === 2 ? 256 : 0);
    if (singleSegment) windowBytes = contentBytes ?? 0;
    if (dictionaryId !== 0) throw new ZstdDataError(`needs zstd dictionary ${dictionaryId}, which tokenmix does not have (recompress without --dict)`, this.offset);
    if (windowBytes > MAX_ZSTD_WINDOW_BYTES) {
      throw new ZstdDataError(`asks for a ${Math.round(windowBytes / 2 ** 20)} MiB window; tokenmix decodes windows up to ${MAX_ZSTD_WINDOW_BYTES / 2 ** 20} MiB (recompress with a smaller --long, or the file is corrupt)`, this.offset);
    }
    const decompress = new Decompress((data) => {
      if (data.length === 0) return;
      this.output.push(data);
      frame.hash.update(data);
      frame.producedBytes += data.length;
    });
    const frame: Frame = {
      start: this.offset,
      decompress,
      hash: this.xxh.create64(0n),
      hasChecksum: ((descriptor >> 2) & 1) === 1,
      contentBytes,
      blockLimit: Math.min(MAX_BLOCK_BYTES, Math.max(windowBytes, 1)),
      producedBytes: 0,
    };
    this.frame = frame;
    this.frames++;
    this.feed(this.take_(headerBytes), false);
    this.state = { kind: 'block' };
    return true;
  }

  private decodeBlock(): boolean {
    if (this.pendingBytes < 3) return false;
    const head = this.peek(3);
    const header = head[0] | (head[1] << 8) | (head[2] << 16);
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    const blockOffset = this.offset;
    if (type === 3) throw new ZstdDataError('has a block of the reserved type (corrupt)', blockOffset);
    const frame = this.frame!;
    if (type !== 1 && size > frame.blockLimit) throw new ZstdDataError(`has a block of ${size} bytes, larger than the frame allows (corrupt)`, blockOffset);
    const payload = type === 1 ? 1 : size;
    if (this.pendingBytes < 3 + payload) return false;
    const block = this.take_(3 + payload);
    this.feed(block, false, blockOffset);
    if (last) this.state = { kind: 'checksum' };
    return true;
  }

  /** Ends the frame: fzstd finishes it (it expects the checksum bytes), then sizes and checksum are compared. */
  private checkFrame(): boolean {
    const frame = this.frame!;
    const checksumBytes = frame.hasChecksum ? 4 : 0;
    if (this.pendingBytes < checksumBytes) return false;
    const checksumOffset = this.offset;
    const checksum = this.take_(checksumBytes);
    this.feed(checksum, true, checksumOffset);
    if (frame.contentBytes !== undefined && frame.producedBytes !== frame.contentBytes) {
      throw new ZstdDataError(`has a frame that declares ${frame.contentBytes} bytes but decodes to ${frame.producedBytes} (corrupt)`, frame.start);
    }
    if (frame.hasChecksum && u32(checksum, 0) !== Number(frame.hash.digest() & 0xffffffffn)) {
      throw new ZstdDataError(`failed its checksum in the frame starting at byte ${frame.start} (the data is corrupt)`, checksumOffset);
    }
    this.frame = undefined;
    this.state = { kind: 'magic' };
    return true;
  }

  private feed(bytes: Uint8Array, final: boolean, offset = this.offset): void {
    try {
      this.frame!.decompress.push(bytes, final);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new ZstdDataError(`has a block that does not decode (${detail}; corrupt)`, offset);
    }
  }

  /** The first `bytes` pending bytes, without consuming them. */
  private peek(bytes: number): Uint8Array {
    if (this.pending[0].length >= bytes) return this.pending[0].subarray(0, bytes);
    const joined = concat(this.pending);
    this.pending = [joined];
    return joined.subarray(0, bytes);
  }

  /** Removes and returns the first `bytes` pending bytes. */
  private take_(bytes: number): Uint8Array {
    if (bytes === 0) return new Uint8Array(0);
    // No copy: file chunks are fresh buffers, and fzstd copies what it keeps.
    const out = this.peek(bytes);
    this.consume(bytes);
    return out;
  }

  private consume(bytes: number): void {
    this.offset += bytes;
    this.pendingBytes -= bytes;
    let left = bytes;
    while (left > 0) {
      const first = this.pending[0];
      if (first.length <= left) {
        this.pending.shift();
        left -= first.length;
      } else {
        this.pending[0] = first.subarray(left);
        left = 0;
      }
    }
  }
}

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

function readLittleEndian(bytes: Uint8Array, at: number, count: number): number {
  let value = 0;
  for (let i = count - 1; i >= 0; i--) value = value * 256 + bytes[at + i];
  return value;
}
