/**
 * A byte-pair encoder for tiktoken rank files, with the semantics of tiktoken's
 * `encode_ordinary` (special tokens such as "<|endoftext|>" in the text are plain text).
 *
 * Why not js-tiktoken's own `encode`: it measured 0.6 MB/s here (it keys its rank map by
 * comma-joined byte lists and re-merges every piece). This encoder reads the same bundled
 * rank data, keys ranks by "binary strings" (one char per byte, straight from `atob`), and
 * memoizes pieces; test/text/tiktoken.test.ts checks it against js-tiktoken's `Tiktoken`
 * id for id. The merge loop is the reference algorithm (tiktoken's `_byte_pair_merge`):
 * repeatedly merge the adjacent pair with the lowest rank, leftmost on ties.
 */
import { invariant } from '../errors.js';

/** The shape of js-tiktoken's bundled rank modules (`js-tiktoken/ranks/<name>`). */
export interface TiktokenRankData {
  pat_str: string;
  special_tokens: Record<string, number>;
  /** Lines of `<label> <first rank> <base64 token> <base64 token> ...`, ranks consecutive. */
  bpe_ranks: string;
}

/** Pieces up to this many UTF-16 units are memoized; longer ones are rare and seldom repeat. */
const MAX_CACHED_PIECE_LENGTH = 64;
/** The piece memo is dropped when it reaches this many entries (bounded memory). */
const MAX_CACHED_PIECES = 100_000;
const NO_RANK = Number.MAX_SAFE_INTEGER;
/** Pieces longer than this (in bytes) merge with the O(n log n) heap loop. */
const LONG_PIECE_BYTES = 128;
/** Heap keys are rank * 2^32 + start: exact in a double for ranks below 2^21. */
const PAIR_KEY_SCALE = 2 ** 32;

/**
 * The pre-tokenizer pattern with tiktoken's (Rust regex) meaning of `\s`: Unicode White_Space.
 * JavaScript's `\s` also matches U+FEFF (a byte-order mark) and not U+0085 (NEL), so with the
 * pattern as written a text starting with a BOM splits "\uFEFF#" into two pieces where
 * tiktoken keeps one token (found against the WASM build of tiktoken on licenses-npm).
 */
export function referenceWhiteSpace(pattern: string): string {
  return pattern.replace(/\\s/g, '\\p{White_Space}').replace(/\\S/g, '\\P{White_Space}');
}

export class TiktokenBpe {
  /** Size of the id space: max(rank, special id) + 1, as tiktoken's `n_vocab`. */
  readonly vocabSize: number;
  private readonly ranks = new Map<string, number>();
  /** Binary string (one char per byte) of each rank, for `decode`. */
  private readonly bytesOfRank: string[] = [];
  private readonly specialTokens: Map<number, string>;
  private readonly pattern: RegExp;
  private readonly pieceCache = new Map<string, Uint32Array>();

  constructor(data: TiktokenRankData) {
    let maxId = -1;
    for (const line of data.bpe_ranks.split('\n')) {
      if (line === '') continue;
      const fields = line.split(' ');
      const firstRank = Number.parseInt(fields[1], 10);
      invariant(Number.isInteger(firstRank), `bad rank line: ${line.slice(0, 40)}`);
      for (let i = 2; i < fields.length; i++) {
        const bytes = atob(fields[i]);
        const rank = firstRank + i - 2;
        this.ranks.set(bytes, rank);
        this.bytesOfRank[rank] = bytes;
        if (rank > maxId) maxId = rank;
      }
    }
    this.specialTokens = new Map();
    for (const [text, id] of Object.entries(data.special_tokens)) {
      this.specialTokens.set(id, text);
      if (id > maxId) maxId = id;
    }
    this.vocabSize = maxId + 1;
    invariant(this.vocabSize <= 2 ** 21, 'ranks too large for the heap keys of mergeLongPiece');
    this.pattern = new RegExp(referenceWhiteSpace(data.pat_str), 'gu');
  }

  /** Token ids of `text` (special-token text encoded as ordinary text). */
  encode(text: string): Uint32Array {
    const ids: number[] = [];
    this.forEachPiece(text, (pieceIds) => {
      for (let i = 0; i < pieceIds.length; i++) ids.push(pieceIds[i]);
    });
    return Uint32Array.from(ids);
  }

  /** Number of tokens of `text`; allocates only for pieces not seen before. */
  count(text: string): number {
    let total = 0;
    this.forEachPiece(text, (pieceIds) => {
      total += pieceIds.length;
    });
    return total;
  }

  /** Text of `ids` (invalid UTF-8 from partial sequences becomes U+FFFD). */
  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const binary = this.bytesOfRank[ids[i]] ?? binaryUtf8(this.specialTokens.get(ids[i]) ?? '');
      for (let j = 0; j < binary.length; j++) bytes.push(binary.charCodeAt(j));
    }
    return new TextDecoder().decode(Uint8Array.from(bytes));
  }

  private forEachPiece(text: string, visit: (ids: Uint32Array) => void): void {
    const pattern = this.pattern;
    pattern.lastIndex = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      const piece = match[0];
      invariant(piece.length > 0, 'tiktoken pattern matched the empty string');
      const cacheable = piece.length <= MAX_CACHED_PIECE_LENGTH;
      let ids = cacheable ? this.pieceCache.get(piece) : undefined;
      if (ids === undefined) {
        ids = this.encodePiece(binaryUtf8(piece));
        if (cacheable) {
          if (this.pieceCache.size >= MAX_CACHED_PIECES) this.pieceCache.clear();
          this.pieceCache.set(piece, ids);
        }
      }
      visit(ids);
    }
  }

  /** Byte-pair merge of one piece, given as a binary string. */
  private encodePiece(bytes: string): Uint32Array {
    const whole = this.ranks.get(bytes);
    if (whole !== undefined) return Uint32Array.of(whole);
    return bytes.length > LONG_PIECE_BYTES ? this.mergeLongPiece(bytes) : this.mergeShortPiece(bytes);
  }

  /** The reference loop: O(n²), fastest for the short pieces that make up nearly all text. */
  private mergeShortPiece(bytes: string): Uint32Array {    // starts[k] = byte offset where part k begins; pairRanks[k] = rank of parts k and k+1 merged.
    const starts: number[] = [];
    for (let i = 0; i <= bytes.length; i++) starts.push(i);
    const pairRanks: number[] = [];
    for (let k = 0; k + 1 < bytes.length; k++) pairRanks.push(this.rankOf(bytes, starts, k));
    while (pairRanks.length > 0) {
      let best = 0;
      for (let k = 1; k < pairRanks.length; k++) if (pairRanks[k] < pairRanks[best]) best = k;
      if (pairRanks[best] === NO_RANK) break;
      starts.splice(best + 1, 1);
      pairRanks.splice(best, 1);
      if (best < pairRanks.length) pairRanks[best] = this.rankOf(bytes, starts, best);
      if (best > 0) pairRanks[best - 1] = this.rankOf(bytes, starts, best - 1);
    }
    const ids = new Uint32Array(starts.length - 1);
    for (let k = 0; k + 1 < starts.length; k++) {
      const rank = this.ranks.get(bytes.slice(starts[k], starts[k + 1]));
      invariant(rank !== undefined, 'tiktoken ranks lack a single byte');
      ids[k] = rank;
    }
    return ids;
  }

  /**
   * Same merges as `mergeShortPiece` in O(n log n), for long pieces (runs of spaces or
   * letters thousands of bytes long would take seconds in the O(n²) loop). A min-heap holds
   * (rank, start) of every adjacent pair ever formed; a popped entry is applied only if that
   * pair still exists with that rank (ranks identify byte strings, so a changed pair has a
   * different rank). Lowest rank first, then lowest start: the reference's leftmost rule.
   */
  private mergeLongPiece(bytes: string): Uint32Array {
    const n = bytes.length;
    // Parts as a linked list of start offsets; next[start] = start of the following part (n at the end).
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    const heap = new MinHeap();
    const pairRank = (start: number): number =>
      next[start] >= n ? NO_RANK : (this.ranks.get(bytes.slice(start, next[next[start]])) ?? NO_RANK);
    const push = (start: number) => {
      const rank = pairRank(start);
      if (rank !== NO_RANK) heap.push(rank * PAIR_KEY_SCALE + start);
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    const dead = new Uint8Array(n);
    while (heap.size > 0) {
      const key = heap.pop();
      const rank = Math.floor(key / PAIR_KEY_SCALE);
      const start = key - rank * PAIR_KEY_SCALE;
      if (dead[start] || pairRank(start) !== rank) continue; // stale entry
      const absorbed = next[start];
      dead[absorbed] = 1;
      next[start] = next[absorbed];
      if (next[start] < n) prev[next[start]] = start;
      push(start);
      if (prev[start] >= 0) push(prev[start]);
    }
    const ids: number[] = [];
    for (let start = 0; start < n; start = next[start]) {
      const rank = this.ranks.get(bytes.slice(start, next[start]));
      invariant(rank !== undefined, 'tiktoken ranks lack a single byte');
      ids.push(rank);
    }
    return Uint32Array.from(ids);
  }

  private rankOf(bytes: string, starts: number[], k: number): number {
    return this.ranks.get(bytes.slice(starts[k], starts[k + 2])) ?? NO_RANK;
  }
}

/** A binary min-heap of numbers (pair keys), grown as needed. */
class MinHeap {
  private items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(value: number): void {
    const items = this.items;
    let i = items.length;
    items.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent] <= value) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = value;
  }

  pop(): number {
    const items = this.items;
    const top = items[0];
    const last = items.pop() as number;
    const length = items.length;
    if (length > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= length) break;
        if (child + 1 < length && items[child + 1] < items[child]) child++;
        if (items[child] >= last) break;
        items[i] = items[child];
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}

/**
 * UTF-8 bytes of `text` as a binary string (one char per byte). Unpaired surrogates become
 * U+FFFD, as with TextEncoder (which js-tiktoken and tiktoken's Python bindings use).
 */
export function binaryUtf8(text: string): string {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdfff) {
      const low = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (code <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        code = ((code - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
        i++;
      } else {
        code = 0xfffd;
      }
    }
    if (code < 0x80) out += String.fromCharCode(code);
    else if (code < 0x800) out += String.fromCharCode(0xc0 | (code >> 6), 0x80 | (code & 63));
    else if (code < 0x10000)
      out += String.fromCharCode(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    else
      out += String.fromCharCode(
        0xf0 | (code >> 18),
        0x80 | ((code >> 12) & 63),
        0x80 | ((code >> 6) & 63),
        0x80 | (code & 63),
      );
  }
  return out;
}
