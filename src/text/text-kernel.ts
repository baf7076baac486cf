/**
 * The map's text kernel in WebAssembly (src/text/wasm/text-kernel.c). `scan` gives, for one
 * document, what `scanDocument` (document-scan.ts) and `shingleSet` (dedup/shingles.ts) give
 * together — the exact-dedup key text's UTF-8, the `words` token count, the shingle word
 * hashes and the sorted, duplicate-free shingle set — computed over the text's UTF-8 bytes
 * with no JS string or array made per word. Those TypeScript functions are its oracle
 * (test/text/text-kernel.test.ts), and they still serve every text the kernel hands back:
 * U+FFFD (what TextEncoder writes for an unpaired surrogate), characters `scanDocument` does not
 * handle, and astral characters once the kernel's table of them (8,192) is full.
 *
 * `facts` gives curate's map the key text, the `words` count and the counts behind
 * heuristics.ts `textStats` (its oracle) from one encoding. `oph` computes one-permutation
 * MinHash sketches for the CPU backend, with ophCpu (src/cpu/oph.ts) as its oracle
 * (test/oph.test.ts).
 *
 * One kernel per thread (a module instance with its own memory), made on first use and
 * replaced when a very long text has grown its memory past 64 MiB (`textKernel`).
 */
import type { OphConstants } from '../cpu/oph.js';
import type { TextCounts } from '../filters/heuristics.js';
import { astralEntry, unitEntry } from './document-scan.js';
import { TEXT_KERNEL_WASM_BASE64 } from './wasm/text-kernel.generated.js';

export interface KernelScan {
  /** UTF-8 of normalizeForExactDedup(text): a view the next call overwrites. */
  exact: Uint8Array;
  /** countWords(text). */
  tokens: number;
  /** shingleWordHashes(text): a view the next call overwrites. */
  words: Uint32Array;
  /** shingleSet(words, ngram, shingleSeed): a view the next call overwrites. */
  set: Uint32Array;
}

interface Exports {
  memory: WebAssembly.Memory;
  table(): number;
  results(): number;
  reserve(bytes: number): number;
  prepare(bytes: number): number;
  classifyAstral(codePoint: number, entry: number): number;
  ophBatch(docs: number, shingles: number, numBins: number): number;
  ophRanks(numBins: number): number;
  ophOrder(numBins: number): void;
  stats(length: number): number;
  oph(docs: number, numBins: number, binA: number, binB: number, binC: number, valueA: number, valueB: number, valueC: number): number;
  scan(length: number, ngram: number, shingleSeed: number): number;
  scanKey(length: number): number;
  jsonKeys(): number;
  jsonSpans(): number;
  jsonLine(length: number, textKey: number): number;
}

const DONE = 0;
const UNCLASSIFIED = 2;
/** Room the kernel has for `jsonKeys`' names (JSON_MAX_KEYS, JSON_NAME_BYTES in the C source). */
const JSON_MAX_KEYS = 8;
const JSON_NAME_BYTES = 1024;
/** The table entry that makes the kernel hand a text back: classified, not plain. */
const NOT_PLAIN = 1 << 31;

const encoder = new TextEncoder();
// ignoreBOM: a text may begin with U+FEFF, which is part of it.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export class TextKernel {
  private readonly exports: Exports;
  private readonly tableAt: number;
  private readonly resultsAt: number;
  private buffer: ArrayBuffer | null = null;
  private bytes = new Uint8Array(0);
  private u32 = new Uint32Array(0);

  constructor(module: WebAssembly.Module) {
    this.exports = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
    this.tableAt = this.exports.table() >>> 2;
    this.resultsAt = this.exports.results() >>> 2;
    this.views();
    // ASCII is classified up front (the kernel's fast path assumes nothing else about it).
    for (let unit = 0; unit < 0x80; unit++) this.u32[this.tableAt + unit] = unitEntry(unit);
    this.u32[this.tableAt + 0xfffd] = NOT_PLAIN;
  }

  /** Bytes of its memory. */
  memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  /** Views of the memory, made again after it grows (growing detaches the old buffer). */
  private views(): void {
    const buffer = this.exports.memory.buffer;
    if (buffer === this.buffer) return;
    this.buffer = buffer;
    this.bytes = new Uint8Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.spans = null;
  }

  /** The (K, probe seed) whose rank table the kernel holds. */
  private ranksKey = '';

  /**
   * One-permutation MinHash sketches of a CSR batch of shingle sets (N·K u32, row-major), as
   * src/cpu/oph.ts `ophCpu` computes them (its oracle); `ranks` gives densifyRanks' table for
   * (K, probe seed) named by `ranksKey`. Null when the memory cannot grow.
   */
  oph(offsets: Uint32Array, shingles: Uint32Array, c: OphKernelConstants, ranksKey: string, ranks: () => Uint32Array): Uint32Array | null {
    const docs = offsets.length - 1;
    const k = c.numHashes;
    if (ranksKey !== this.ranksKey) {
      const at = this.exports.ophRanks(k);
      if (at === 0) return null;
      this.views();
      this.u32.set(ranks(), at >>> 2);
      this.exports.ophOrder(k);
      this.ranksKey = ranksKey;
    }
    const at = this.exports.ophBatch(docs, shingles.length, k);
    if (at === 0) return null;
    this.views();
    this.u32.set(offsets, at >>> 2);
    this.u32.set(shingles, (at >>> 2) + docs + 1);
    const out = this.exports.oph(docs, k, c.binA, c.binB, c.binC, c.valueA, c.valueB, c.valueC) >>> 2;
    return this.u32.slice(out, out + docs * k);
  }

  /**
   * The exact-dedup key text and `words` token count of `text` and, with `counts`, the counts
   * of its text statistics, from one encoding; null when the TypeScript path must take it.
   */
  facts(text: string, counts: boolean): KernelFacts | null {
    const scan = this.run(text, (length) => this.exports.scanKey(length));
    if (scan === null) return null;
    const facts: KernelFacts = { exact: scan.exact, tokens: scan.tokens, counts: null };
    if (!counts) return facts;
    const exactAt = scan.exact.byteOffset;
    const exactEnd = exactAt + scan.exact.length;
    const status = this.exports.stats(this.written);
    this.views(); // the line table may have grown the memory (and detached the old views)
    facts.exact = this.bytes.subarray(exactAt, exactEnd);
    if (status === DONE) {
      const u32 = this.u32;
      const r = this.resultsAt;
      facts.counts = { words: u32[r], letters: u32[r + 1], symbols: u32[r + 2], lines: u32[r + 3], repeatedLines: u32[r + 4] };
    }
    return facts;
  }

  /** Bytes of the text the last `scan` encoded. */
  private written = 0;

  /** The scan and shingle set of `text` (none with `ngram` 0), or null when the TypeScript path must take it. */
  scan(text: string, ngram: number, shingleSeed: number): KernelScan | null {
    return this.run(text, (length) => this.exports.scan(length, ngram, shingleSeed >>> 0));
  }

  /** Encodes `text` into the kernel and calls `call` until every character it meets is classified. */
  private run(text: string, call: (length: number) => number): KernelScan | null {
    const at = this.exports.reserve(3 * text.length);
    if (at === 0) return null;
    this.views();
    const { written } = encoder.encodeInto(text, this.bytes.subarray(at, at + 3 * text.length));
    return this.scanWritten(written, call);
  }

  /** Calls `call` on the `written` bytes at the kernel's input until every character it meets is classified. */
  private scanWritten(written: number, call: (length: number) => number): KernelScan | null {
    this.written = written;
    if (this.exports.prepare(written) === 0) return null;
    this.views();
    for (;;) {
      const status = call(written);
      const r = this.resultsAt;
      if (status === DONE) {
        const u32 = this.u32;
        return {
          exact: this.bytes.subarray(u32[r], u32[r] + u32[r + 1]),
          words: u32.subarray(u32[r + 2] >>> 2, (u32[r + 2] >>> 2) + u32[r + 3]),
          tokens: u32[r + 4],
          set: u32.subarray(u32[r + 5] >>> 2, (u32[r + 5] >>> 2) + u32[r + 6]),
        };
      }
      if (status !== UNCLASSIFIED) return null;
      const char = this.u32[r];
      if (char < 0x10000) this.u32[this.tableAt + char] = unitEntry(char);
      else if (this.exports.classifyAstral(char, astralEntry(char)) === 0) return null; // its table is full
    }
  }

  /** The names `jsonLine` looks for, as last set, and the array they were last set from. */
  private jsonNames: readonly string[] | null = null;
  private jsonNamesFrom: readonly string[] | null = null;
  /** A view of the kernel's spans, made once per memory (jsonLine is called per line). */
  private spans: Uint32Array | null = null;

  /**
   * Sets the top-level keys `jsonLine` reports; false when they do not fit the kernel
   * (more than eight, or over 1 KiB of UTF-8 together). The array must not change afterwards:
   * asked again with it, the kernel takes its names as set.
   */
  jsonKeys(names: readonly string[]): boolean {
    // A caller asks per line with the same array: compare names only when it is another.
    if (names === this.jsonNamesFrom) return true;
    if (this.jsonNames !== null && this.jsonNames.length === names.length && this.jsonNames.every((name, k) => name === names[k])) {
      this.jsonNamesFrom = names;
      return true;
    }
    const encoded = names.map((name) => encoder.encode(name));
    if (encoded.length > JSON_MAX_KEYS || encoded.reduce((sum, name) => sum + name.length, 0) > JSON_NAME_BYTES) return false;
    const at = this.exports.jsonKeys();
    this.views();
    const u32 = this.u32;
    u32[at >>> 2] = encoded.length;
    let name = at + 4 + 4 * JSON_MAX_KEYS;
    encoded.forEach((bytes, k) => {
      u32[(at >>> 2) + 1 + k] = bytes.length;
      this.bytes.set(bytes, name);
      name += bytes.length;
    });
    this.jsonNames = [...names];
    this.jsonNamesFrom = names;
    return true;
  }

  /**
   * Reads the JSON line `line[start..end)` as JSON.parse would, or returns null when the kernel
   * is not sure it would (then JSON.parse must read it: bad JSON, bad UTF-8, an escaped top-level
   * key, an unpaired surrogate escape in the text, deep nesting). The spans, a view the next call
   * overwrites, hold for each key set by `jsonKeys` its value's kind (JSON_KIND), start and end
   * in the line (a string's without quotes); then, when key `textKey`'s value is a string, its
   * unescaped UTF-8 length, UTF-16 length and 1 when `trim` would leave some of it. That text is
   * left where `scanPlaced` and `placedText` read it.
   */
  jsonLine(line: Uint8Array, start: number, end: number, textKey: number): Uint32Array | null {
    const length = end - start;
    const at = this.exports.reserve(length);
    if (at === 0) return null;
    this.views();
    this.bytes.set(line.subarray(start, end), at);
    if (this.exports.jsonLine(length, textKey) !== DONE) return null;
    if (this.spans === null) {
      const spans = this.exports.jsonSpans() >>> 2;
      this.spans = this.u32.subarray(spans, spans + 3 * JSON_MAX_KEYS + 3);
    }
    return this.spans;
  }

  /** `scan` of the text `jsonLine` left in place (`bytes` long). */
  scanPlaced(bytes: number, ngram: number, shingleSeed: number): KernelScan | null {
    return this.scanWritten(bytes, (length) => this.exports.scan(length, ngram, shingleSeed >>> 0));
  }

  /** The text `jsonLine` left in place (`bytes` long), as a string. */
  placedText(bytes: number): string {
    const at = this.exports.reserve(0);
    return decoder.decode(this.bytes.subarray(at, at + bytes));
  }
}

/** Kinds of value in `TextKernel.jsonLine`'s spans. */
export const JSON_KIND = { absent: 0, string: 1, escaped: 2, integer: 3, number: 4, other: 5 } as const;
/** Where `jsonLine`'s spans hold the placed text's UTF-8 length, UTF-16 length and whether it is more than white space. */
export const JSON_TEXT_SPAN = 3 * JSON_MAX_KEYS;

/** What curate's map needs of a record's text (src/pipeline/shard.ts). */
export interface KernelFacts {
  /** UTF-8 of normalizeForExactDedup(text): a view the next call overwrites. */
  exact: Uint8Array;
  /** countWords(text). */
  tokens: number;
  /** textStats' counts, when asked for and the kernel could make them (else null: use textStats). */
  counts: TextCounts | null;
}

/** What `TextKernel.oph` needs of a one-permutation MinHash run: ophConstants' mixers (the rank table stands for the probe seed). */
export type OphKernelConstants = Omit<OphConstants, 'probeSeed'>;

let kernel: TextKernel | undefined;

/** Past this much memory (after a very long text) a thread's kernel is replaced by a new one, so the memory goes back. */
const KERNEL_MEMORY_BYTES = 64 * 2 ** 20;

let module: WebAssembly.Module | null | undefined;

/**
 * This thread's kernel, or null where WebAssembly is unavailable or may not be compiled
 * synchronously (a browser's main thread refuses modules over 4 KB): the callers then take
 * the TypeScript functions, which give the same results. A kernel's memory only grows, so one
 * that a very long text grew past 64 MiB is dropped here (views of its results from the last
 * call stay valid) and a new one starts.
 */
export function textKernel(): TextKernel | null {
  if (module === undefined) {
    try {
      module = typeof WebAssembly === 'object' ? new WebAssembly.Module(decodeBase64(TEXT_KERNEL_WASM_BASE64)) : null;
    } catch {
      module = null;
    }
  }
  if (module === null) return null;
  if (kernel === undefined || kernel.memoryBytes() > KERNEL_MEMORY_BYTES) kernel = new TextKernel(module);
  return kernel;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
