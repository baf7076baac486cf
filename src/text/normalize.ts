/**
 * Text normalization for deduplication (SPEC §2).
 *
 * `normalizeForShingles` with default options reproduces exactly the tokens of the shared
 * ground truth (/work/shared/data/tools/common.py `tokens()`):
 *   Python:  re.sub(r"[\W_]+", " ", text.lower()).split()
 *   here:    text.toLowerCase(), runs of /[^\p{L}\p{N}]+/gu → " ", split, drop empties.
 * Checked per code point and on the whole licenses-npm corpus (fixtures/tokenizers/README.md).
 * The one known difference is the Unicode version: characters assigned after the runtime
 * Python's Unicode database (3.11 ships 14.0; Node 20 here ships ICU with 17.0) are letters
 * here and separators there. Nothing else differs, final-sigma handling included.
 *
 * Note that, as in the ground truth, combining marks are separators: NFD input ("e" + U+0301)
 * splits words that NFC input keeps whole. `diacritics: true` removes that sensitivity.
 */

import { CharClassTable } from './char-classes.js';
import { fmix32, hashToken, murmur3Round, murmur3Tail, TOKEN_HASH_SEED } from './hash.js';

export interface ShingleNormalizeOptions {
  /** Fold every decimal digit (`\p{Nd}`, any script) to ASCII "0". Default false. */
  digits?: boolean;
  /**
   * Strip diacritics: NFD, drop non-spacing marks (`\p{Mn}`), NFC again (so Hangul and other
   * composed letters without marks come back whole). Default false.
   */
  diacritics?: boolean;
}

const LETTER_OR_NUMBER = /^[\p{L}\p{N}]$/u;
const OTHER = 0;
const ALNUM = 1;
/** Class of each code point: letter/number or not (what `/[^\p{L}\p{N}]+/gu` replaces). */
const alnumClasses = new CharClassTable((char) => (LETTER_OR_NUMBER.test(char) ? ALNUM : OTHER), OTHER);
const NON_SPACING_MARKS = /\p{Mn}+/gu;
const DECIMAL_DIGIT = /\p{Nd}/gu;

/**
 * Word tokens for near-dedup shingles (MinHash input). With default options, identical to
 * the ground truth's `common.tokens(text)`.
 */
export function normalizeForShingles(text: string, options: ShingleNormalizeOptions = {}): string[] {
  return alnumRuns(shingleText(text, options));
}

/** Lower case, then the optional diacritic stripping and digit folding: what both word paths split. */
function shingleText(text: string, options: ShingleNormalizeOptions): string {
  let normalized = text.toLowerCase();
  if (options.diacritics) normalized = normalized.normalize('NFD').replace(NON_SPACING_MARKS, '').normalize('NFC');
  if (options.digits) normalized = normalized.replace(DECIMAL_DIGIT, '0');
  return normalized;
}

/**
 * The maximal runs of letters/numbers of `text`: the same as
 * `text.replace(/[^\p{L}\p{N}]+/gu, ' ').split(' ')` without empty strings, 3–4× faster.
 */
export function alnumRuns(text: string): string[] {
  const table = alnumClasses.table();
  const words: string[] = [];
  const length = text.length;
  let wordStart = -1;
  let i = 0;
  while (i < length) {
    const unit = text.charCodeAt(i);
    let cls = table[unit] - 1;
    let width = 1;
    if (cls < 0 || (unit & 0xfc00) === 0xd800) {
      const packed = alnumClasses.classAt(text, i);
      cls = packed >> 1;
      width = (packed & 1) + 1;
    }
    if (cls === ALNUM) {
      if (wordStart < 0) wordStart = i;
    } else if (wordStart >= 0) {
      words.push(text.slice(wordStart, i));
      wordStart = -1;
    }
    i += width;
  }
  if (wordStart >= 0) words.push(text.slice(wordStart, length));
  return words;
}

/**
 * `hashTokens(alnumRuns(text))` in one pass, without making a string per word: ASCII runs (most
 * words) are hashed from their char codes as they are scanned; a run with other characters is
 * sliced and hashed as before. The near-dedup map phase spends much of its time here.
 */
export function alnumRunHashes(text: string): Uint32Array {
  const table = alnumClasses.table();
  let out = new Uint32Array(Math.max(16, text.length >> 3));
  let words = 0;
  const length = text.length;
  let wordStart = -1;
  let ascii = true;
  let h = 0;
  let block = 0;
  let bytes = 0;
  const emit = (end: number) => {
    let hash: number;
    if (ascii) {
      if ((bytes & 3) !== 0) h = murmur3Tail(h, block);
      hash = fmix32(h ^ bytes);
    } else {
      hash = hashToken(text.slice(wordStart, end));
    }
    if (words === out.length) {
      const grown = new Uint32Array(out.length * 2);
      grown.set(out);
      out = grown;
    }
    out[words++] = hash;
  };
  let i = 0;
  while (i < length) {
    const unit = text.charCodeAt(i);
    let cls = table[unit] - 1;
    let width = 1;
    if (cls < 0 || (unit & 0xfc00) === 0xd800) {
      const packed = alnumClasses.classAt(text, i);
      cls = packed >> 1;
      width = (packed & 1) + 1;
    }
    if (cls === ALNUM) {
      if (wordStart < 0) {
        wordStart = i;
        ascii = true;
        h = TOKEN_HASH_SEED;
        block = 0;
        bytes = 0;
      }
      if (ascii) {
        if (unit < 0x80) {
          block |= unit << ((bytes & 3) << 3);
          if ((bytes & 3) === 3) {
            h = murmur3Round(h, block);
            block = 0;
          }
          bytes++;
        } else ascii = false;
      }
    } else if (wordStart >= 0) {
      emit(i);
      wordStart = -1;
    }
    i += width;
  }
  if (wordStart >= 0) emit(length);
  return out.subarray(0, words);
}

/** Word hashes for near-dedup shingles: `hashTokens(normalizeForShingles(text, options))`, faster. */
export function shingleWordHashes(text: string, options: ShingleNormalizeOptions = {}): Uint32Array {
  return alnumRunHashes(shingleText(text, options));
}

const WHITE_SPACE_RUN = /\p{White_Space}+/gu;

/**
 * The text whose hash is exact dedup's key (SPEC §2 "hash of the normalized text"):
 * Unicode NFC, a leading byte-order mark (U+FEFF) dropped, every run of `\p{White_Space}`
 * (newlines included) → one space, no space at either end.
 *
 * Case is kept on purpose: "exact" means the same text up to encoding and layout artifacts
 * (composed vs decomposed accents, CRLF vs LF, re-wrapped lines, trailing blanks). Copies
 * that differ in case or punctuation are near duplicates, near dedup's job, and folding
 * case here would merge code or identifiers that differ only in case.
 */
export function normalizeForExactDedup(text: string): string {
  let normalized = text.normalize('NFC');
  if (normalized.charCodeAt(0) === 0xfeff) normalized = normalized.slice(1);
  normalized = normalized.replace(WHITE_SPACE_RUN, ' ');
  // Not String.prototype.trim: it also strips U+FEFF, which is text (ZWNBSP) past the start.
  const start = normalized.startsWith(' ') ? 1 : 0;
  const end = normalized.endsWith(' ') ? normalized.length - 1 : normalized.length;
  return start < end ? normalized.slice(start, end) : '';
}
