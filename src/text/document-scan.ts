/**
 * One pass over a document for the near-dedup map (src/dedup/signature-phase.ts), giving what
 * three separate scans gave before, identically:
 *   - the shingle word hashes: `shingleWordHashes(text)` (normalize.ts: lower case, maximal
 *     letter/number runs, MurmurHash3 of each run's UTF-8 bytes),
 *   - the `words` token count: `countWords(text)` (words.ts),
 *   - the UTF-8 bytes of `normalizeForExactDedup(text)` (NFC, white-space runs → one space,
 *     trimmed), whose SHA-256 is the exact-dedup key — written into a reused buffer, so no
 *     normalized string is built and no regex runs.
 *
 * It applies only to texts made of "plain" characters, where each of those functions is a
 * per-character map whose lower case is one character: every BMP unit that NFC leaves alone
 * except the surrogates, a BOM, combining marks (variation selectors excepted), Greek capital
 * sigma (whose lower case depends on its neighbours) and Hangul's conjoining vowels and final
 * consonants; and the astral characters NFC leaves alone that are not marks or cased letters
 * (emoji, symbols, mathematical alphanumerics, CJK extensions). Why that is enough for NFC: it
 * composes a character only with a following combining mark or Hangul jamo, and reorders only
 * combining marks; the only non-mark characters that ever come second in a canonical
 * composition are those jamo and two Kirat Rai vowels (not plain either). Any other character
 * makes `scanDocument` return null and the caller runs the three general functions. Only the
 * default shingle options are handled (no digit folding, no diacritic stripping).
 * test/text/document-scan.test.ts compares the two paths on every plain unit and on seeded
 * random texts mixing plain and other units.
 */
import { fmix32, murmur3Round, murmur3Tail, TOKEN_HASH_SEED } from './hash.js';
import { normalizeForExactDedup } from './normalize.js';

/** Per BMP unit, lazily: 0 = not classified yet; see `classify` for the packing. */
const table = new Int32Array(0x10000);
const KNOWN = 1 << 31;
const PLAIN = 1 << 30;
const WHITE = 1 << 29;
/** Classes of the `words` tokenizer (words.ts): word, punctuation/symbol, space. */
const WORD_CLASS_SHIFT = 24;
const SPACE = 2;
const LOWER_MASK = 0xffff;

const LETTER_OR_NUMBER = /^[\p{L}\p{N}]$/u;
const WHITE_SPACE = /^\p{White_Space}$/u;
const PUNCT_OR_SYMBOL = /^[\p{P}\p{S}]$/u;

const MARK = /^\p{M}$/u;

/**
 * Whether NFC leaves `char` (one BMP unit, not white space) alone next to any other plain
 * character, and lower-casing it does not depend on its neighbours. Latin below U+0300 is all
 * plain; test/text/document-scan.test.ts checks the rest against every canonical composition.
 */
function plainUnit(unit: number, char: string): boolean {
  if (unit < 0x300) return true;
  if (unit === 0x3a3) return false; // Σ → σ, or ς at the end of a word
  if ((unit >= 0x1161 && unit <= 0x1175) || (unit >= 0x11a8 && unit <= 0x11c2)) return false; // composes with the preceding jamo or syllable
  if (MARK.test(char)) return unit >= 0xfe00 && unit <= 0xfe0f; // variation selectors: class 0, never composed
  return char.normalize('NFC') === char;
}

/**
 * KNOWN | PLAIN? | WHITE? | words class << 24 | the lower-cased unit when it is a letter or
 * number (0 when it separates words; a letter/number is never U+0000).
 */
function classify(unit: number): number {
  const char = String.fromCharCode(unit);
  const white = WHITE_SPACE.test(char);
  const lower = char.toLowerCase();
  const plain = (unit < 0xd800 || unit > 0xdfff) && unit !== 0xfeff && (white || (plainUnit(unit, char) && lower.length === 1));
  const wordClass = white ? SPACE : PUNCT_OR_SYMBOL.test(char) ? 1 : 0;
  const alnum = plain && !white && LETTER_OR_NUMBER.test(lower) ? lower.charCodeAt(0) : 0;
  return KNOWN | (plain ? PLAIN : 0) | (white ? WHITE : 0) | (wordClass << WORD_CLASS_SHIFT) | alnum;
}

/** The table entry of a BMP unit (see `classify`), classified on first use. */
export function unitEntry(unit: number): number {
  let entry = table[unit];
  if (entry === 0) entry = table[unit] = classify(unit);
  return entry;
}

/** Entries of astral code points met so far (classifyAstral). */
const astralTable = new Map<number, number>();

/** The entry of an astral code point (see `classifyAstral`), classified on first use. */
export function astralEntry(codePoint: number): number {
  let entry = astralTable.get(codePoint);
  if (entry === undefined) astralTable.set(codePoint, (entry = classifyAstral(codePoint)));
  return entry;
}
/** In an astral entry: a letter or number (it has no case, so it is its own lower case). */
const ASTRAL_WORD = 1 << 28;

/**
 * An astral code point is plain when NFC leaves it alone next to any plain character (not a
 * mark, and not the Kirat Rai vowels U+16D67/U+16D68, which compose with what precedes them)
 * and, if it is a letter or number, it has no case (mathematical alphanumerics, CJK extensions,
 * …); emoji and other symbols are plain and separate words.
 */
function classifyAstral(codePoint: number): number {
  const char = String.fromCodePoint(codePoint);
  const word = LETTER_OR_NUMBER.test(char);
  const plain = !MARK.test(char) && codePoint !== 0x16d67 && codePoint !== 0x16d68 && char.normalize('NFC') === char && char.toLowerCase() === char;
  const wordClass = PUNCT_OR_SYMBOL.test(char) ? 1 : 0;
  return KNOWN | (plain ? PLAIN : 0) | (wordClass << WORD_CLASS_SHIFT) | (word ? ASTRAL_WORD : 0);
}

export interface DocumentScan {
  /** shingleWordHashes(text). */
  words: Uint32Array;
  /** countWords(text). */
  tokens: number;
  /** UTF-8 of normalizeForExactDedup(text): a view into a buffer the next call reuses. */
  exact: Uint8Array;
}

let exactBuffer = new Uint8Array(1 << 16);
/** Word hashes of the current call (at most one per two units, plus one); copied out at the end. */
let wordBuffer = new Uint32Array(1 << 14);

/** The three results in one pass, or null when `text` has a unit this path does not handle. */
export function scanDocument(text: string): DocumentScan | null {
  const length = text.length;
  if (exactBuffer.length < 3 * length) exactBuffer = new Uint8Array(Math.max(3 * length, 2 * exactBuffer.length));
  const exact = exactBuffer;
  let exactLength = 0;
  let pendingSpace = false;
  if (wordBuffer.length < (length >> 1) + 1) wordBuffer = new Uint32Array(Math.max((length >> 1) + 1, 2 * wordBuffer.length));
  const words = wordBuffer;
  let wordCount = 0;
  let inWord = false;
  let h = 0;
  let block = 0;
  let bytes = 0;
  let tokens = 0;
  let previousClass = SPACE;
  scan: for (let i = 0; i < length; i++) {
    let unit = text.charCodeAt(i);
    // Inside a word, ASCII letters and digits (most of any text) take a short path: they are
    // word characters of the words tokenizer (no new token) and need no table lookup.
    while (inWord) {
      let lower: number;
      if (unit - 97 >>> 0 < 26 || unit - 48 >>> 0 < 10) lower = unit;
      else if (unit - 65 >>> 0 < 26) lower = unit | 0x20;
      else break;
      exact[exactLength++] = unit;
      block |= lower << ((bytes & 3) << 3);
      if ((bytes & 3) === 3) {
        h = murmur3Round(h, block);
        block = 0;
      }
      bytes++;
      if (++i === length) break scan;
      unit = text.charCodeAt(i);
    }
    const entry = unitEntry(unit);
    if ((entry & PLAIN) === 0) {
      // A surrogate pair: an astral code point (a word character only if it has no case). This
      // repeats the steps below for four bytes rather than sharing them: one shared path with a
      // general UTF-8 loop made the whole scan a third slower.
      const low = i + 1 < length ? text.charCodeAt(i + 1) : 0;
      if ((unit & 0xfc00) !== 0xd800 || (low & 0xfc00) !== 0xdc00) return null;
      const codePoint = ((unit - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
      const astral = astralEntry(codePoint);
      if ((astral & PLAIN) === 0) return null;
      const wordClass = (astral >>> WORD_CLASS_SHIFT) & 3;
      if (wordClass !== previousClass) tokens++;
      previousClass = wordClass;
      if (pendingSpace) {
        exact[exactLength++] = 0x20;
        pendingSpace = false;
      }
      const b0 = 0xf0 | (codePoint >> 18);
      const b1 = 0x80 | ((codePoint >> 12) & 0x3f);
      const b2 = 0x80 | ((codePoint >> 6) & 0x3f);
      const b3 = 0x80 | (codePoint & 0x3f);
      exact[exactLength++] = b0;
      exact[exactLength++] = b1;
      exact[exactLength++] = b2;
      exact[exactLength++] = b3;
      if ((astral & ASTRAL_WORD) !== 0) {
        if (!inWord) {
          inWord = true;
          h = TOKEN_HASH_SEED;
          block = 0;
          bytes = 0;
        }
        for (const byte of [b0, b1, b2, b3]) {
          block |= byte << ((bytes & 3) << 3);
          if ((bytes & 3) === 3) {
            h = murmur3Round(h, block);
            block = 0;
          }
          bytes++;
        }
      } else if (inWord) {
        words[wordCount++] = fmix32(((bytes & 3) !== 0 ? murmur3Tail(h, block) : h) ^ bytes);
        inWord = false;
      }
      i++;
      continue;
    }
    const wordClass = (entry >>> WORD_CLASS_SHIFT) & 3;
    if (wordClass !== SPACE && wordClass !== previousClass) tokens++;
    previousClass = wordClass;
    if ((entry & WHITE) !== 0) {
      pendingSpace = exactLength > 0;
    } else {
      if (pendingSpace) {
        exact[exactLength++] = 0x20;
        pendingSpace = false;
      }
      if (unit < 0x80) exact[exactLength++] = unit;
      else if (unit < 0x800) {
        exact[exactLength++] = 0xc0 | (unit >> 6);
        exact[exactLength++] = 0x80 | (unit & 0x3f);
      } else {
        exact[exactLength++] = 0xe0 | (unit >> 12);
        exact[exactLength++] = 0x80 | ((unit >> 6) & 0x3f);
        exact[exactLength++] = 0x80 | (unit & 0x3f);
      }
    }
    const lower = entry & LOWER_MASK;
    if (lower !== 0) {
      if (!inWord) {
        inWord = true;
        h = TOKEN_HASH_SEED;
        block = 0;
        bytes = 0;
      }
      // The lower-cased unit's UTF-8 bytes into MurmurHash3's little-endian 4-byte blocks.
      if (lower < 0x80) {
        block |= lower << ((bytes & 3) << 3);
        if ((bytes & 3) === 3) {
          h = murmur3Round(h, block);
          block = 0;
        }
        bytes++;
      } else {
        const b0 = lower < 0x800 ? 0xc0 | (lower >> 6) : 0xe0 | (lower >> 12);
        const n = lower < 0x800 ? 2 : 3;
        for (let k = 0; k < n; k++) {
          const byte = k === 0 ? b0 : k === n - 1 ? 0x80 | (lower & 0x3f) : 0x80 | ((lower >> 6) & 0x3f);
          block |= byte << ((bytes & 3) << 3);
          if ((bytes & 3) === 3) {
            h = murmur3Round(h, block);
            block = 0;
          }
          bytes++;
        }
      }
    } else if (inWord) {
      words[wordCount++] = fmix32(((bytes & 3) !== 0 ? murmur3Tail(h, block) : h) ^ bytes);
      inWord = false;
    }
  }
  if (inWord) {
    words[wordCount++] = fmix32(((bytes & 3) !== 0 ? murmur3Tail(h, block) : h) ^ bytes);
  }
  return { words: words.slice(0, wordCount), tokens, exact: exact.subarray(0, exactLength) };
}

/**
 * The UTF-8 bytes of `normalizeForExactDedup(text)` (exact dedup's key text), the same bytes
 * `scanDocument` gives as `exact`: for texts of plain characters one pass over the units,
 * writing into a buffer the next call reuses (so use the result before calling again); for
 * others the general normalization, encoded. Curate's map hashes every record's key this way.
 */
export function exactDedupUtf8(text: string): Uint8Array {
  const length = text.length;
  if (exactBuffer.length < 3 * length) exactBuffer = new Uint8Array(Math.max(3 * length, 2 * exactBuffer.length));
  const exact = exactBuffer;
  let exactLength = 0;
  let pendingSpace = false;
  for (let i = 0; i < length; i++) {
    let unit = text.charCodeAt(i);
    // Printable ASCII (most of any text) needs no table lookup.
    while (unit - 0x21 >>> 0 < 0x5e) {
      if (pendingSpace) {
        exact[exactLength++] = 0x20;
        pendingSpace = false;
      }
      exact[exactLength++] = unit;
      if (++i === length) return exact.subarray(0, exactLength);
      unit = text.charCodeAt(i);
    }
    const entry = unitEntry(unit);
    if ((entry & WHITE) !== 0) {
      pendingSpace = exactLength > 0;
      continue;
    }
    let codePoint = unit;
    if ((entry & PLAIN) === 0) {
      const low = i + 1 < length ? text.charCodeAt(i + 1) : 0;
      if ((unit & 0xfc00) !== 0xd800 || (low & 0xfc00) !== 0xdc00) return generalExactUtf8(text);
      codePoint = ((unit - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
      const astral = astralEntry(codePoint);
      if ((astral & PLAIN) === 0) return generalExactUtf8(text);
      i++;
    }
    if (pendingSpace) {
      exact[exactLength++] = 0x20;
      pendingSpace = false;
    }
    exactLength = putUtf8(exact, exactLength, codePoint);
  }
  return exact.subarray(0, exactLength);
}

/** Writes the UTF-8 bytes of `code` (a code point, not a surrogate) at `at`; returns the end. */
function putUtf8(out: Uint8Array, at: number, code: number): number {
  if (code < 0x80) {
    out[at] = code;
    return at + 1;
  }
  if (code < 0x800) {
    out[at] = 0xc0 | (code >> 6);
    out[at + 1] = 0x80 | (code & 0x3f);
    return at + 2;
  }
  if (code < 0x10000) {
    out[at] = 0xe0 | (code >> 12);
    out[at + 1] = 0x80 | ((code >> 6) & 0x3f);
    out[at + 2] = 0x80 | (code & 0x3f);
    return at + 3;
  }
  out[at] = 0xf0 | (code >> 18);
  out[at + 1] = 0x80 | ((code >> 12) & 0x3f);
  out[at + 2] = 0x80 | ((code >> 6) & 0x3f);
  out[at + 3] = 0x80 | (code & 0x3f);
  return at + 4;
}

const encoder = new TextEncoder();

function generalExactUtf8(text: string): Uint8Array {
  return encoder.encode(normalizeForExactDedup(text));
}
