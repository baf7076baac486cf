/**
 * Heuristic quality rules in the style of Gopher (Rae et al. 2021, "Scaling Language
 * Models", appendix A): cheap document-level checks, each with a configurable bound
 * (`filters.heuristics` in the config; a null bound is not checked). SPEC §2: a stage
 * drops a document with the reason of the first rule it fails, in the order below.
 *
 * Words here are whitespace-separated runs (independent of the run's tokenizer), as in
 * Gopher. The symbol ratio counts '#' characters and ellipses ('...' or '…') per word.
 */

/** Gopher-style bounds (config `filters.heuristics`); null disables a rule. */
export interface HeuristicFilterConfig {
  min_words: number | null;
  max_words: number | null;
  min_mean_word_length: number | null;
  max_mean_word_length: number | null;
  max_symbol_ratio: number | null;
  max_duplicate_line_fraction: number | null;
}

export const HEURISTIC_REASONS = [
  'too_few_words',
  'too_many_words',
  'mean_word_length',
  'symbol_ratio',
  'duplicate_lines',
] as const;
export type HeuristicReason = (typeof HEURISTIC_REASONS)[number];

export interface TextStats {
  words: number;
  meanWordLength: number;
  symbolRatio: number;
  duplicateLineFraction: number;
}

/**
 * JavaScript's `\s` (what Gopher-style splitting on whitespace means here): Unicode
 * White_Space plus U+FEFF.
 */
function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * One pass over the UTF-16 units (the map phase runs this on every record): words are runs of
 * non-whitespace, a word's length is in code points (a surrogate pair counts once, a lone
 * surrogate once), and ellipses are matched left to right without overlap.
 */
export function textStats(text: string): TextStats {
  let words = 0;
  let letters = 0;
  let symbols = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      inWord = false;
      continue;
    }
    if (!inWord) words++;
    inWord = true;
    // The low half of a pair is not a code point of its own.
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const before = text.charCodeAt(i - 1);
      if (before >= 0xd800 && before <= 0xdbff) continue;
    }
    letters++;
    if (c === 0x23 || c === 0x2026) symbols++; // '#', '…'
    else if (c === 0x2e && text.charCodeAt(i + 1) === 0x2e && text.charCodeAt(i + 2) === 0x2e) {
      symbols++;
      letters += 2;
      i += 2;
    }
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  const seen = new Set<string>();
  let duplicates = 0;
  for (const line of lines) {
    if (seen.has(line)) duplicates++;
    else seen.add(line);
  }
  return statsFromCounts({ words, letters, symbols, lines: lines.length, repeatedLines: duplicates });
}

/** Counts behind TextStats (what the WebAssembly kernel computes, src/text/text-kernel.ts). */
export interface TextCounts {
  words: number;
  /** Code points in words ("..." counts three). */
  letters: number;
  symbols: number;
  /** Non-empty trimmed lines, and how many of them repeat an earlier one. */
  lines: number;
  repeatedLines: number;
}

export function statsFromCounts(c: TextCounts): TextStats {
  return {
    words: c.words,
    meanWordLength: c.words === 0 ? 0 : c.letters / c.words,
    symbolRatio: c.words === 0 ? 0 : c.symbols / c.words,
    duplicateLineFraction: c.lines === 0 ? 0 : c.repeatedLines / c.lines,
  };
}

/** The first rule `text` fails, or null when it passes them all. */
export function heuristicVerdict(text: string, rules: HeuristicFilterConfig): HeuristicReason | null {
  return statsVerdict(textStats(text), rules);
}

/** The first rule text of these statistics fails, or null. */
export function statsVerdict(s: TextStats, rules: HeuristicFilterConfig): HeuristicReason | null {
  if (rules.min_words !== null && s.words < rules.min_words) return 'too_few_words';
  if (rules.max_words !== null && s.words > rules.max_words) return 'too_many_words';
  if (rules.min_mean_word_length !== null && s.meanWordLength < rules.min_mean_word_length) return 'mean_word_length';
  if (rules.max_mean_word_length !== null && s.meanWordLength > rules.max_mean_word_length) return 'mean_word_length';
  if (rules.max_symbol_ratio !== null && s.symbolRatio > rules.max_symbol_ratio) return 'symbol_ratio';
  if (rules.max_duplicate_line_fraction !== null && s.duplicateLineFraction > rules.max_duplicate_line_fraction) return 'duplicate_lines';
  return null;
}
