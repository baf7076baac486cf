/**
 * Splits a byte stream into text lines. Splitting happens on the byte 0x0A, which never occurs
 * inside a multibyte UTF-8 sequence, so a character cut across chunk boundaries is decoded
 * whole. In Node each line is decoded on its own (see decodeRegion); elsewhere each run of
 * complete lines is decoded by one strict `TextDecoder` call, and only when that fails are the
 * lines decoded one by one to find the bad ones.
 */
import { invariant } from '../errors.js';

/** A line whose bytes are not valid UTF-8. */
export const BAD_UTF8_LINE: unique symbol = Symbol('tokenmix.bad-utf8-line');
/** A line longer than the configured maximum; its bytes were dropped while reading. */
export const TOO_LONG_LINE: unique symbol = Symbol('tokenmix.too-long-line');

export type Line = string | typeof BAD_UTF8_LINE | typeof TOO_LONG_LINE;

/** A line not decoded yet (a raw splitter's): `bytes[start..end)`, valid until the next chunk is read. */
export interface RawLine {
  bytes: Uint8Array;
  start: number;
  end: number;
}

const NEWLINE = 0x0a;

/**
 * Node's `Buffer.prototype.utf8Slice` where it exists (this module also runs in the browser,
 * which decodes runs of lines with TextDecoder).
 */
const utf8Slice = (globalThis as { Buffer?: { prototype: { utf8Slice?: (this: Uint8Array, start: number, end: number) => string } } }).Buffer?.prototype.utf8Slice;

/**
 * Node's `Buffer.prototype.indexOf` where it exists: it looks for a byte with memchr, about five
 * times as fast as `TypedArray.prototype.indexOf` (64 MiB of licence texts: 53 → 8–11 ms; a
 * map worker's line splitting was 85 ms of each 64 MiB unit).
 */
const bufferIndexOf = (globalThis as { Buffer?: { prototype: { indexOf?: (this: Uint8Array, value: number, from?: number) => number } } }).Buffer?.prototype.indexOf;

/** The first newline in `bytes` at or after `from`, or −1. */
function newlineAt(bytes: Uint8Array, from = 0): number {
  return bufferIndexOf !== undefined ? bufferIndexOf.call(bytes, NEWLINE, from) : bytes.indexOf(NEWLINE, from);
}

/** What a splitter hands over: raw splitters also give undecoded lines. */
type Out<Raw extends boolean> = Raw extends true ? Line | RawLine : Line;

export class LineSplitter<Raw extends boolean = false> {
  // ignoreBOM: a U+FEFF must not vanish depending on where a chunk starts; the reader
  // strips a BOM at the start of the file itself.
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Inside a line that already exceeded the maximum: drop bytes until its newline. */
  private skipping = false;

  /**
   * A raw splitter (`raw`, in Node only) hands lines over undecoded, for the reader to look at
   * their bytes before it decodes them with `decode`.
   */
  constructor(private readonly maxLineBytes: number, private readonly raw?: Raw) {
    invariant(!raw || utf8Slice !== undefined, 'LineSplitter: raw lines need Node\'s Buffer');
  }

  /** Lines completed by `chunk`, in order. */
  push(chunk: Uint8Array): Out<Raw>[] {
    const lines: Out<Raw>[] = [];
    let start = 0;
    if (this.skipping) {
      const end = newlineAt(chunk);
      if (end < 0) return lines;
      lines.push(TOO_LONG_LINE);
      this.skipping = false;
      start = end + 1;
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (last < start) {
      this.hold(copyOf(chunk, start));
      return lines;
    }
    // The line continuing from earlier chunks ends at the first newline of this chunk.
    const firstEnd = newlineAt(chunk, start);
    if (this.pendingBytes + firstEnd - start > this.maxLineBytes) {
      lines.push(TOO_LONG_LINE);
      this.pending = [];
      this.pendingBytes = 0;
      start = firstEnd + 1;
    }
    if (start <= last && this.pendingBytes > 0) {
      // Only the line that began in earlier chunks is joined (copying the whole chunk for it
      // cost a copy and a chunk-sized allocation per chunk); the rest is decoded in place.
      this.decodeRegion(concat([...this.pending, chunk.subarray(start, firstEnd)], this.pendingBytes + firstEnd - start), lines);
      start = firstEnd + 1;
      if (start <= last) this.decodeRegion(chunk.subarray(start, last), lines);
    } else if (start <= last) {
      this.decodeRegion(chunk.subarray(start, last), lines);
    }
    this.pending = [];
    this.pendingBytes = 0;
    // Copy the tail: the chunk's buffer may be reused by its producer.
    this.hold(copyOf(chunk, last + 1));
    return lines;
  }

  /** The last line when the input does not end with a newline. */
  end(): Out<Raw>[] {
    if (this.skipping) {
      this.skipping = false;
      return [TOO_LONG_LINE];
    }
    if (this.pendingBytes === 0) return [];
    const region = concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    const lines: Out<Raw>[] = [];
    this.decodeRegion(region, lines);
    return lines;
  }

  /** A raw line, decoded. */
  decode(line: RawLine): Line {
    return this.decodeLine(line.bytes, line.start, line.end);
  }

  private hold(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.pendingBytes + bytes.length > this.maxLineBytes) {
      this.pending = [];
      this.pendingBytes = 0;
      this.skipping = true;
      return;
    }
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
  }

  /** Decodes newline-separated complete lines (no trailing newline) into `lines`. */
  private decodeRegion(region: Uint8Array, lines: Out<Raw>[]): void {
    // In Node, line by line: V8 makes a one-byte string of a line that is all ASCII, while a
    // run of lines decoded whole is two-byte as soon as one character needs it, and parsing
    // two-byte strings costs about twice as much (licenses-npm × 12: decode + parse 265 →
    // 135 ms per 64 MB). Elsewhere one strict decode of the whole run, unless it fails.
    if (utf8Slice === undefined) {
      let text: string | undefined;
      try {
        text = this.decoder.decode(region);
      } catch {
        text = undefined;
      }
      if (text !== undefined) {
        for (const line of text.split('\n')) lines.push(this.checkLength(line));
        return;
      }
    }
    let start = 0;
    for (;;) {
      const end = newlineAt(region, start);
      const stop = end < 0 ? region.length : end;
      if (stop - start > this.maxLineBytes) lines.push(TOO_LONG_LINE);
      else lines.push(this.raw ? { bytes: region, start, end: stop } as Out<Raw> : this.decodeLine(region, start, stop));
      if (end < 0) return;
      start = end + 1;
    }
  }

  /**
   * One line's bytes. Node's decoder is lenient: a line showing U+FFFD is decoded again
   * strictly, to tell a real U+FFFD from bytes that are not UTF-8.
   */
  private decodeLine(region: Uint8Array, start: number, stop: number): Line {
    if (utf8Slice !== undefined) {
      const line = utf8Slice.call(region, start, stop);
      if (!line.includes('\ufffd')) return line;
    }
    try {
      return this.decoder.decode(region.subarray(start, stop));
    } catch {
      return BAD_UTF8_LINE;
    }
  }

  /** A UTF-8 line takes between 1 and 3 bytes per UTF-16 unit: measure only when it could be too long. */
  private checkLength(line: string): Line {
    if (line.length * 3 <= this.maxLineBytes) return line;
    // TextEncoder, not Buffer: this module also runs in the browser explorer.
    return new TextEncoder().encode(line).length > this.maxLineBytes ? TOO_LONG_LINE : line;
  }
}

/** A copy of chunk[start..] (Uint8Array's slice: a Node Buffer's own slice() is a view). */
function copyOf(chunk: Uint8Array, start: number): Uint8Array {
  return Uint8Array.prototype.slice.call(chunk, start);
}

/** `parts` joined into one array (the part itself when there is one). */
export function concat(parts: Uint8Array[], totalBytes = parts.reduce((sum, part) => sum + part.length, 0)): Uint8Array {
  if (parts.length === 1) return parts[0];
  const joined = new Uint8Array(totalBytes);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}
