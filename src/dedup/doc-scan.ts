/**
 * What dedup's map makes of one document (signature-phase.ts): its shingle set (the
 * verification input, and what one-permutation MinHash signs), its words (what K-permutation
 * MinHash signs), its `words` token count and its exact-text hash. Most texts take the
 * WebAssembly kernel (text/text-kernel.ts); the others the one-pass scan
 * (text/document-scan.ts) or, with digits or diacritics kept, the three general functions.
 *
 * `JsonLineShortcut` reads plain JSON lines with the same kernel, from their bytes: no decoded
 * line, no JSON.parse, no text string (about half of a map thread's time on licence-sized
 * documents went to decoding and parsing). Every line it is not sure of takes the general path.
 */
import { hash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import type { FieldMap, LineShortcut, ShortcutRecord } from '../io/types.js';
import { exactDedupUtf8, scanDocument, type DocumentScan } from '../text/document-scan.js';
import { JSON_KIND, JSON_TEXT_SPAN, textKernel, type KernelScan, type TextKernel } from '../text/text-kernel.js';
import { countWords } from '../text/words.js';
import type { ResolvedDedupOptions } from './options.js';
import { shingleSet, shingleWords } from './shingles.js';

export interface DocScan {
  /** Sorted, duplicate-free shingle hashes. */
  set: Uint32Array;
  /** The shingle words, when asked for (K-permutation MinHash). */
  words: Uint32Array | null;
  tokens: number;
  /** The first 16 bytes of the SHA-256 of the exact-dedup normalization. */
  hash: Uint8Array;
}

/** What the map needs to scan a document: the run's options and MinHash's shingle seed. */
export interface ScanSettings {
  options: ResolvedDedupOptions;
  shingleSeed: number;
  /** Keep each document's words (K-permutation MinHash signs them). */
  keepWords: boolean;
}

/** 128 bits of SHA-256 of the exact-dedup normalization (the same key as curate's exact dedup). */
export function exactTextHash(text: string): Buffer {
  return sha256Prefix(exactDedupUtf8(text));
}

/** exactTextHash from the normalization's UTF-8 bytes (scanDocument's `exact`). */
function sha256Prefix(bytes: Uint8Array): Buffer {
  return hash('sha256', bytes, 'buffer').subarray(0, 16);
}

/** Whether the kernel and the one-pass scan may take texts (they do not keep digits or diacritics). */
export function kernelScans(options: ResolvedDedupOptions): boolean {
  return !options.digits && !options.diacritics;
}

/**
 * One text's scan. Its set may be a view that the kernel's next call overwrites. A text the
 * kernel hands back has a character the one-pass scan hands back too (they classify alike), so
 * it goes straight to the general functions (licenses-npm: `scanDocument` spent 37 ms a worker
 * getting partway through such texts); without a kernel, the one-pass scan is tried first.
 */
export function scanText(text: string, kernel: TextKernel | null, settings: ScanSettings): DocScan {
  const fast = kernel?.scan(text, settings.options.ngram, settings.shingleSeed) ?? null;
  if (fast) return fromKernel(fast, settings.keepWords);
  return generalScan(text, settings, kernel === null && kernelScans(settings.options) ? scanDocument(text) : null);
}

/** A text's scan by the general functions, or from the one-pass scan's results when there are some. */
function generalScan(text: string, settings: ScanSettings, scan: DocumentScan | null = null): DocScan {
  const { options, shingleSeed } = settings;
  const words = scan ? scan.words : shingleWords(text, options);
  return {
    set: shingleSet(words, options.ngram, shingleSeed),
    words: settings.keepWords ? words : null,
    tokens: scan ? scan.tokens : countWords(text),
    hash: scan ? sha256Prefix(scan.exact) : exactTextHash(text),
  };
}

function fromKernel(fast: KernelScan, keepWords: boolean): DocScan {
  return { set: fast.set, words: keepWords ? fast.words.slice() : null, tokens: fast.tokens, hash: sha256Prefix(fast.exact) };
}

type Slice = (this: Uint8Array, start: number, end: number) => string;
const { utf8Slice, latin1Slice } = Buffer.prototype as unknown as { utf8Slice: Slice; latin1Slice: Slice };

/** u32 elements of one block of JsonLineShortcut's arena (256 KiB). */
const ARENA_ELEMENTS = 1 << 16;

/** Keys looked up, in this order: the id, the text, then the source (when configured) and the quality scores. */
const ID = 0;
const TEXT = 1;

/**
 * Reads a JSON line's record and scans its text in the kernel, for the lines where that gives
 * exactly what JSON.parse, the record checks (io/batch.ts) and `scanText` would: a valid JSON
 * object (checked in the kernel) whose id is a string without escapes (or, with numeric ids
 * allowed, an integer of at most 15 digits, which prints as written), whose source is such a
 * string or absent with the input naming one, whose text is a string that is not blank and
 * whose scores are finite numbers. Any other line — and every problem — is left to JSON.parse.
 * A record's `made` is its DocScan, owning its arrays.
 */
export class JsonLineShortcut implements LineShortcut {
  private readonly names: string[];
  private readonly sourceKey: number;
  private readonly firstQualityKey: number;

  /** A shortcut for one input's lines, or null where none applies (no kernel, digits or diacritics kept, repeated or too many field names). */
  static create(fields: FieldMap, inputSource: string | undefined, allowNumericIds: boolean, settings: ScanSettings): JsonLineShortcut | null {
    if (!kernelScans(settings.options)) return null;
    const shortcut = new JsonLineShortcut(fields, inputSource, allowNumericIds, settings);
    if (new Set(shortcut.names).size !== shortcut.names.length) return null;
    const kernel = textKernel();
    return kernel !== null && kernel.jsonKeys(shortcut.names) ? shortcut : null;
  }

  private constructor(fields: FieldMap, private readonly inputSource: string | undefined, private readonly allowNumericIds: boolean, private readonly settings: ScanSettings) {
    this.names = [fields.id, fields.text];
    this.sourceKey = fields.source === undefined ? -1 : this.names.push(fields.source) - 1;
    this.firstQualityKey = this.names.length;
    this.names.push(...(fields.quality ?? []));
  }

  take(line: Uint8Array, start: number, end: number): ShortcutRecord | null {
    const kernel = textKernel(); // a new one after a long text grew the last past its bound
    if (kernel === null || !kernel.jsonKeys(this.names)) return null;
    const spans = kernel.jsonLine(line, start, end, TEXT);
    if (spans === null) return null;
    const textKind = spans[3 * TEXT];
    if ((textKind !== JSON_KIND.string && textKind !== JSON_KIND.escaped) || spans[JSON_TEXT_SPAN + 2] === 0) return null;
    const id = this.id(line, start, spans);
    if (id === null) return null;
    const source = this.source(line, start, spans);
    if (source === null) return null;
    const scores: number[] = [];
    for (let k = this.firstQualityKey; k < this.names.length; k++) {
      const kind = spans[3 * k];
      if (kind !== JSON_KIND.integer && kind !== JSON_KIND.number) return null;
      const score = Number(latin1Slice.call(line, start + spans[3 * k + 1], start + spans[3 * k + 2]));
      if (!Number.isFinite(score)) return null;
      scores.push(score);
    }
    // The spans are a view of the kernel's memory, which the scan may grow (detaching it).
    const textBytes = spans[JSON_TEXT_SPAN];
    const textUnits = spans[JSON_TEXT_SPAN + 1];
    const { options, shingleSeed } = this.settings;
    const fast = kernel.scanPlaced(textBytes, options.ngram, shingleSeed);
    let made: DocScan;
    if (fast !== null) {
      made = { set: this.keep(fast.set), words: this.settings.keepWords ? this.keep(fast.words) : null, tokens: fast.tokens, hash: sha256Prefix(fast.exact) };
    } else {
      // A character the kernel hands back: the general path, on the same text.
      made = generalScan(kernel.placedText(textBytes), this.settings);
    }
    return { id, source, scores, textUnits, made };
  }

  /** Room for the copies of sets and words (a record keeps its scan until its batch is processed). */
  private arena = new Uint32Array(ARENA_ELEMENTS);
  private arenaAt = 0;

  /**
   * A copy of a kernel view, in the arena: a view of a shared block costs a tenth of what
   * `slice()` does (each slice is a new ArrayBuffer: ~2 µs, more than the rest of a short
   * record's read). A full arena is left to the records that view it and a new one started.
   */
  private keep(values: Uint32Array): Uint32Array {
    if (this.arenaAt + values.length > this.arena.length) {
      this.arena = new Uint32Array(Math.max(ARENA_ELEMENTS, values.length));
      this.arenaAt = 0;
    }
    const copy = this.arena.subarray(this.arenaAt, this.arenaAt + values.length);
    copy.set(values);
    this.arenaAt += values.length;
    return copy;
  }

  private id(line: Uint8Array, start: number, spans: Uint32Array): string | null {
    const kind = spans[3 * ID];
    const from = start + spans[3 * ID + 1];
    const to = start + spans[3 * ID + 2];
    if (kind === JSON_KIND.string) return to > from ? utf8Slice.call(line, from, to) : null;
    if (kind !== JSON_KIND.integer || !this.allowNumericIds || to - from > 15) return null;
    const digits = latin1Slice.call(line, from, to);
    return digits === '-0' ? null : digits;
  }

  private source(line: Uint8Array, start: number, spans: Uint32Array): string | null {
    if (this.sourceKey < 0) return this.inputSource ?? null;
    const kind = spans[3 * this.sourceKey];
    const from = start + spans[3 * this.sourceKey + 1];
    const to = start + spans[3 * this.sourceKey + 2];
    if (kind === JSON_KIND.string && to > from) return utf8Slice.call(line, from, to);
    return kind === JSON_KIND.absent ? this.inputSource ?? null : null;
  }
}
