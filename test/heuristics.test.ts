/**
 * The one-pass textStats (src/filters/heuristics.ts) against a plain reference written from
 * the rule's definition with regular expressions (split on `\s+`, code points by spreading,
 * '#', '...' and '…' counted by a global match): equal on random texts that mix whitespace of
 * every kind, surrogate pairs, lone surrogates, dots and hashes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { textStats, type TextStats } from '../src/filters/heuristics.js';

function reference(text: string): TextStats {
  const words = text.split(/\s+/u).filter((w) => w.length > 0);
  let letters = 0;
  for (const w of words) letters += [...w].length;
  const symbols = (text.match(/#/g) ?? []).length + (text.match(/\.\.\.|…/g) ?? []).length;
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  const duplicates = lines.length - new Set(lines).size;
  return {
    words: words.length,
    meanWordLength: words.length === 0 ? 0 : letters / words.length,
    symbolRatio: words.length === 0 ? 0 : symbols / words.length,
    duplicateLineFraction: lines.length === 0 ? 0 : duplicates / lines.length,
  };
}

const pieces = ['a', 'word', 'é', '😀', '\ud83d', '\ude00', '#', '.', '..', '...', '…', ' ', '\t', '\n', '\r\n', '\u00a0', '\u2003', '\u3000', '\ufeff', '\u200b', '\u0085', 'line', '\v', '\f'];

describe('textStats', () => {
  it('equals the regular-expression reference on random texts', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 60 }), (parts) => {
      const text = parts.join('');
      expect(textStats(text)).toEqual(reference(text));
    }), { numRuns: 3000, seed: 9 });
  });

  it('hand-checked cases', () => {
    expect(textStats('')).toEqual({ words: 0, meanWordLength: 0, symbolRatio: 0, duplicateLineFraction: 0 });
    // "a....b" is one word of 6 code points with one ellipsis; "😀#" is a word of 2 code points.
    expect(textStats('a....b 😀#')).toEqual({ words: 2, meanWordLength: 4, symbolRatio: 1, duplicateLineFraction: 0 });
    expect(textStats('x\n x \ny\nx')).toMatchObject({ words: 4, duplicateLineFraction: 0.5 });
  });
});
