/**
 * The `words` tokenizer: SPEC §1's default, and what the toy uses.
 *
 * Policy (also in docs/tokenizers.md):
 *  1. The text is lower-cased with `String.prototype.toLowerCase()` (full Unicode mapping,
 *     locale-independent; `İ` → `i̇`, final `Σ` → `ς`).
 *  2. Whitespace is every character with the Unicode `White_Space` property (`\p{White_Space}`:
 *     includes U+0085 and U+00A0, excludes U+FEFF and zero-width U+200B). It separates tokens and
 *     is never part of one.
 *  3. Punctuation is kept: each maximal run of punctuation/symbol characters (`\p{P}` or
 *     `\p{S}`) is its own token. Everything else (letters, digits, marks, controls, format
 *     characters, unpaired surrogates) is a word character, and each maximal run of word
 *     characters is a token.
 *
 * So `"Hello, world!!"` → `["hello", ",", "world", "!!"]`, `"don't"` → `["don", "'", "t"]`,
 * `"x+=1;"` → `["x", "+=", "1", ";"]`.
 *
 * `count` scans the original text without lower-casing or allocating: lower-casing never
 * changes a character's class (checked for every code point in test/text/words.test.ts).
 */
import type { Tokenizer } from './tokenizer.js';
import { Vocabulary } from './vocabulary.js';
import { CharClassTable } from './char-classes.js';

const WORD = 0;
const PUNCT = 1;
const SPACE = 2;

const WHITE_SPACE = /^\p{White_Space}$/u;
const PUNCT_OR_SYMBOL = /^[\p{P}\p{S}]$/u;

const wordClasses = new CharClassTable(
  (char) => (WHITE_SPACE.test(char) ? SPACE : PUNCT_OR_SYMBOL.test(char) ? PUNCT : WORD),
  WORD, // unpaired surrogates are word characters
);

/**
 * Walks the tokens of `text` (no lower-casing here); calls `emit(start, end)` per token when
 * given, and returns the number of tokens.
 */
export function scanWords(text: string, emit?: (start: number, end: number) => void): number {
  const table = wordClasses.table();
  const length = text.length;
  let tokens = 0;
  let tokenStart = -1;
  let tokenClass = 0;
  let i = 0;
  while (i < length) {
    const unit = text.charCodeAt(i);
    let cls = table[unit] - 1;
    let width = 1;
    if (cls < 0 || (unit & 0xfc00) === 0xd800) {
      const packed = wordClasses.classAt(text, i);
      cls = packed >> 1;
      width = (packed & 1) + 1;
    }
    if (cls === SPACE) {
      if (tokenStart >= 0) {
        emit?.(tokenStart, i);
        tokens++;
        tokenStart = -1;
      }
    } else if (tokenStart < 0) {
      tokenStart = i;
      tokenClass = cls;
    } else if (cls !== tokenClass) {
      emit?.(tokenStart, i);
      tokens++;
      tokenStart = i;
      tokenClass = cls;
    }
    i += width;
  }
  if (tokenStart >= 0) {
    emit?.(tokenStart, length);
    tokens++;
  }
  return tokens;
}

/** The `words` token strings of `text` (lower-cased; punctuation runs kept as tokens). */
export function wordTokens(text: string): string[] {
  const lower = text.toLowerCase();
  const tokens: string[] = [];
  scanWords(lower, (start, end) => tokens.push(lower.slice(start, end)));
  return tokens;
}

/** Number of `words` tokens of `text`; no allocation. */
export function countWords(text: string): number {
  return scanWords(text);
}

export class WordsTokenizer implements Tokenizer {
  readonly name = 'words';
  readonly kind = 'words' as const;
  /** Open vocabulary: V is known only after the corpus and eval sets were read (SPEC §3). */
  readonly vocabSize = null;
  /** Ids handed out by `encode`, in first-seen order. */
  readonly vocabulary: Vocabulary;

  constructor(vocabulary: Vocabulary = new Vocabulary()) {
    this.vocabulary = vocabulary;
  }

  tokenize(text: string): string[] {
    return wordTokens(text);
  }

  /** Ids from `this.vocabulary`, interning tokens never seen before. */
  encode(text: string): Uint32Array {
    const lower = text.toLowerCase();
    const ids = new Uint32Array(scanWords(lower));
    let next = 0;
    scanWords(lower, (start, end) => {
      ids[next++] = this.vocabulary.intern(lower.slice(start, end));
    });
    return ids;
  }

  count(text: string): number {
    return scanWords(text);
  }
}
