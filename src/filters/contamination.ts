/**
 * Eval-set contamination (SPEC §2): documents that share long word n-grams with evaluation
 * texts are flagged. Text is normalized as for near dedup (lower-case, runs of non-letters
 * and non-digits become separators: src/text/normalize.ts), so punctuation and case do not
 * hide an overlap. An eval text shorter than n words contributes one n-gram of all its words.
 *
 * N-grams are keyed by two independent 32-bit MurmurHash3 values folded into a 52-bit
 * integer (exact as a JS number): at 10^6 indexed n-grams the chance that a random corpus
 * n-gram collides with one is about 2e-10, so false flags are negligible.
 */
import { shingleWordHashes } from '../text/normalize.js';
import { fmix32, murmur3Round } from '../text/hash.js';

const SEED_HIGH = 0x636f6e74; // "cont"
const SEED_LOW = 0x616d696e; // "amin"

function ngramKey(words: Uint32Array, start: number, count: number): number {
  let high = SEED_HIGH;
  let low = SEED_LOW;
  for (let i = start; i < start + count; i++) {
    high = murmur3Round(high, words[i]);
    low = murmur3Round(low, words[i] ^ 0x9e3779b9);
  }
  high = fmix32((high ^ (count * 4)) >>> 0);
  low = fmix32((low ^ (count * 4)) >>> 0);
  return high * 2 ** 20 + (low >>> 12);
}

/** The distinct n-gram keys of a text (one key for a text of 1..n-1 words, none when empty). */
export function ngramKeys(text: string, n: number): Set<number> {
  const words = shingleWordHashes(text);
  const keys = new Set<number>();
  if (words.length === 0) return keys;
  if (words.length < n) {
    keys.add(ngramKey(words, 0, words.length));
    return keys;
  }
  for (let i = 0; i + n <= words.length; i++) keys.add(ngramKey(words, i, n));
  return keys;
}

/** The n-grams of every eval text, by eval name. */
export class ContaminationIndex {
  private readonly keys = new Set<number>();

  constructor(readonly ngram: number, readonly minOverlap: number) {}

  addEvalText(text: string): void {
    for (const key of ngramKeys(text, this.ngram)) this.keys.add(key);
  }

  get size(): number {
    return this.keys.size;
  }

  /** Number of distinct n-grams the document shares with the eval sets (stops at minOverlap). */
  overlap(text: string): number {
    if (this.keys.size === 0) return 0;
    const words = shingleWordHashes(text);
    if (words.length === 0) return 0;
    const seen = new Set<number>();
    const count = words.length < this.ngram ? 1 : words.length - this.ngram + 1;
    const width = Math.min(this.ngram, words.length);
    for (let i = 0; i < count; i++) {
      const key = ngramKey(words, i, width);
      if (this.keys.has(key) && !seen.has(key)) {
        seen.add(key);
        if (seen.size >= this.minOverlap) break;
      }
    }
    return seen.size;
  }

  /** Whether the document is eval-like: it shares at least `minOverlap` n-grams. */
  flags(text: string): boolean {
    return this.overlap(text) >= this.minOverlap;
  }
}
