import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { normalizeForExactDedup, normalizeForShingles } from '../../src/text/index.js';
import { alnumRuns, shingleWordHashes, type ShingleNormalizeOptions } from '../../src/text/normalize.js';
import { hashTokens } from '../../src/text/hash.js';
import { fixturesDir, licensesCorpus } from './corpus.js';

interface GoldenCase {
  name: string;
  text: string;
  tokens: string[];
}
/** Tokens computed by the ground truth's Python (fixtures/tokenizers/make-shingle-golden.py). */
const golden = JSON.parse(readFileSync(resolve(fixturesDir, 'shingle-tokens-cases.json'), 'utf8')) as {
  cases: GoldenCase[];
};

describe('normalizeForShingles (default) reproduces tools/common.py tokens()', () => {
  it('golden file has the hand-picked and random cases', () => expect(golden.cases.length).toBeGreaterThan(200));
  it.each(golden.cases)('$name', ({ text, tokens }) => {
    expect(normalizeForShingles(text)).toEqual(tokens);
  });
});

const corpus = licensesCorpus();
describe.skipIf(!corpus)('normalizeForShingles on the real licenses-npm corpus', () => {
  it('matches the Python token count and digest of every document', () => {
    const expected = new Map<string, { count: number; digest: string }>();
    for (const line of readFileSync(resolve(fixturesDir, 'shingle-tokens-licenses-npm.tsv'), 'utf8').split('\n')) {
      if (line === '') continue;
      const [id, count, digest] = line.split('\t');
      expected.set(id, { count: Number(count), digest });
    }
    expect(expected.size).toBe(corpus!.length);
    const mismatches: string[] = [];
    for (const doc of corpus!) {
      const tokens = normalizeForShingles(doc.text);
      const digest = createHash('sha256').update(tokens.join(' '), 'utf8').digest('hex').slice(0, 16);
      const want = expected.get(doc.id);
      if (!want || want.count !== tokens.length || want.digest !== digest) mismatches.push(doc.id);
    }
    expect(mismatches).toEqual([]);
  });
});

describe('alnumRuns (the scanner behind normalizeForShingles)', () => {
  // The regex formulation of common.py's definition, as its docstring gives it for JavaScript.
  const byRegex = (text: string) => text.replace(/[^\p{L}\p{N}]+/gu, ' ').split(' ').filter((word) => word !== '');
  it.each([1, 2, 3, 4, 5])('equals the regex replace + split on seeded random text %i', (seed) => {
    const random = rng(seed);
    let text = '';
    for (let i = 0; i < 5000; i++) {
      const roll = random.next();
      // Mostly BMP, some astral (letters, digits, emoji), some unpaired surrogates.
      const codePoint = roll < 0.85 ? random.int(0x10000) : roll < 0.97 ? 0x10000 + random.int(0x20000) : 0xd800 + random.int(0x800);
      text += codePoint >= 0xd800 && codePoint < 0xe000 ? String.fromCharCode(codePoint) : String.fromCodePoint(codePoint);
      if (random.next() < 0.2) text += ' a';
    }
    expect(alnumRuns(text)).toEqual(byRegex(text));
  });
});

describe('normalizeForShingles options', () => {
  const cases: { name: string; text: string; options: Parameters<typeof normalizeForShingles>[1]; expected: string[] }[] = [
    { name: 'digits fold ASCII and other scripts', text: 'Rev 2024-05, ٣٤ ½', options: { digits: true }, expected: ['rev', '0000', '00', '00', '½'] },
    { name: 'digits off keeps them', text: 'Rev 2024', options: {}, expected: ['rev', '2024'] },
    { name: 'diacritics: NFD input no longer splits', text: 'Cafe\u0301 café Ñandú', options: { diacritics: true }, expected: ['cafe', 'cafe', 'nandu'] },
    { name: 'diacritics off: NFD mark is a separator (as the ground truth)', text: 'Cafe\u0301 café', options: {}, expected: ['cafe', 'café'] },
    { name: 'diacritics keep Hangul syllables whole', text: '한국어', options: { diacritics: true }, expected: ['한국어'] },
    { name: 'both', text: 'Él tenía 3 años', options: { digits: true, diacritics: true }, expected: ['el', 'tenia', '0', 'anos'] },
    { name: 'empty', text: '', options: { digits: true, diacritics: true }, expected: [] },
  ];
  it.each(cases)('$name', ({ text, options, expected }) => {
    expect(normalizeForShingles(text, options)).toEqual(expected);
  });
});

describe('normalizeForExactDedup', () => {
  const cases = [
    { name: 'collapses whitespace runs and newlines', text: '  a \t b\r\n\r\nc  ', expected: 'a b c' },
    { name: 'NFC makes composed and decomposed equal', text: 'cafe\u0301', expected: 'caf\u00e9' },
    { name: 'keeps case and punctuation', text: 'Hello,  World!', expected: 'Hello, World!' },
    { name: 'drops a leading BOM only', text: '\ufeffa\ufeffb', expected: 'a\ufeffb' },
    { name: 'NEL, NBSP and ideographic space are whitespace', text: 'a\u0085b\u00a0c\u3000d', expected: 'a b c d' },
    { name: 'only whitespace', text: ' \n\t ', expected: '' },
    { name: 'empty', text: '', expected: '' },
  ];
  it.each(cases)('$name', ({ text, expected }) => {
    expect(normalizeForExactDedup(text)).toBe(expected);
  });
});

describe('shingleWordHashes: one pass, the same hashes as hashing normalizeForShingles words', () => {
  const slow = (text: string, options: ShingleNormalizeOptions = {}) => Array.from(hashTokens(normalizeForShingles(text, options)));
  it.each(golden.cases.map((c) => [c.name, c.text] as const))('golden case %s', (_, text) => {
    expect(Array.from(shingleWordHashes(text))).toEqual(slow(text));
    expect(Array.from(shingleWordHashes(text, { digits: true, diacritics: true }))).toEqual(slow(text, { digits: true, diacritics: true }));
  });

  it('seeded random mixtures of scripts, marks, surrogates and punctuation', () => {
    const random = rng(11);
    const pool = ['abc', 'Hello', ' ', '\n', '-', "'", '123', 'ÉCOLE', 'naïve', 'Σίσυφος', '中文字', '😀', '\ud800', '\udc00x', 'e\u0301', '_', 'ǅ', 'İ', 'ß', 'ﬁ', '\u00a0', 'abcd', 'abcdefgh'];
    for (let doc = 0; doc < 300; doc++) {
      let text = '';
      for (let i = 0, n = random.int(60); i < n; i++) text += pool[random.int(pool.length)];
      expect(Array.from(shingleWordHashes(text))).toEqual(slow(text));
    }
  });

  const corpus = licensesCorpus();
  it.skipIf(!corpus)('every document of the real corpus', () => {
    for (const doc of corpus!) expect(Array.from(shingleWordHashes(doc.text))).toEqual(slow(doc.text));
  });
});
