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

export function textStats(text: string): TextStats {
  const words = text.split(/\s+/u).filter((w) => w.length > 0);
  let letters = 0;
  for (const w of words) letters += [...w].length;
  const hashes = (text.match(/#/g) ?? []).length;
  const ellipses = (text.match(/\.\.\.|…/g) ?? []).length;
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  const seen = new Set<string>();
  let duplicates = 0;
  for (const line of lines) {
    if (seen.has(line)) duplicates++;
    else seen.add(line);
  }
  return {
    words: words.length,
    meanWordLength: words.length === 0 ? 0 : letters / words.length,
    symbolRatio: words.length === 0 ? 0 : (hashes + ellipses) / words.length,
    duplicateLineFraction: lines.length === 0 ? 0 : duplicates / lines.length,
  };
}

/** The first rule `text` fails, or null when it passes them all. */
export function heuristicVerdict(text: string, rules: HeuristicFilterConfig): HeuristicReason | null {
  const s = textStats(text);
  if (rules.min_words !== null && s.words < rules.min_words) return 'too_few_words';
  if (rules.max_words !== null && s.words > rules.max_words) return 'too_many_words';
  if (rules.min_mean_word_length !== null && s.meanWordLength < rules.min_mean_word_length) return 'mean_word_length';
  if (rules.max_mean_word_length !== null && s.meanWordLength > rules.max_mean_word_length) return 'mean_word_length';
  if (rules.max_symbol_ratio !== null && s.symbolRatio > rules.max_symbol_ratio) return 'symbol_ratio';
  if (rules.max_duplicate_line_fraction !== null && s.duplicateLineFraction > rules.max_duplicate_line_fraction) return 'duplicate_lines';
  return null;
}
