import { describe, expect, it } from 'vitest';
import { ContaminationIndex, ngramKeys } from '../src/filters/contamination.js';

const evalText = 'The quick brown fox jumps over the lazy dog near the quiet river bank today';

describe('contamination index', () => {
  it('counts the distinct word n-grams of a text', () => {
    expect(ngramKeys('a b c d', 2).size).toBe(3);
    expect(ngramKeys('a b a b a b', 2).size).toBe(2); // "a b" and "b a"
    expect(ngramKeys('a b', 5).size).toBe(1); // shorter than n: one n-gram of all words
    expect(ngramKeys('  ...  ', 3).size).toBe(0);
  });
  it('flags a document that quotes an eval passage, whatever its case and punctuation', () => {
    const index = new ContaminationIndex(13, 1);
    index.addEvalText(evalText);
    expect(index.size).toBe(3); // 15 words → 3 13-grams
    expect(index.flags(`Intro text. ${evalText.toUpperCase().replace(/ /g, ', ')}! Outro.`)).toBe(true);
    expect(index.flags('The quick brown fox jumps over the lazy dog near the quiet lake today')).toBe(false);
  });
  it('requires min_overlap distinct shared n-grams', () => {
    const index = new ContaminationIndex(3, 2);
    index.addEvalText('alpha beta gamma delta epsilon');
    expect(index.overlap('alpha beta gamma')).toBe(1);
    expect(index.flags('alpha beta gamma')).toBe(false);
    expect(index.flags('x alpha beta gamma delta y')).toBe(true);
  });
  it('an empty index flags nothing', () => {
    expect(new ContaminationIndex(13, 1).flags(evalText)).toBe(false);
  });
});
