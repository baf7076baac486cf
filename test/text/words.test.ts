import { describe, expect, it } from 'vitest';
import { pooledText, rng } from '../../fixtures/random.js';
import { Vocabulary, WordsTokenizer, compareCodePoints, countWords, wordTokens } from '../../src/text/index.js';

describe('words tokenizer: policy table', () => {
  const cases: { name: string; input: string; expected: string[] }[] = [
    { name: 'empty', input: '', expected: [] },
    { name: 'only whitespace', input: ' \t\n\r\u00a0\u3000', expected: [] },
    { name: 'the brief example', input: 'Hello, world!!', expected: ['hello', ',', 'world', '!!'] },
    { name: 'apostrophe splits', input: "Don't", expected: ['don', "'", 't'] },
    { name: 'symbols and punctuation form one run', input: 'x+=1;', expected: ['x', '+=', '1', ';'] },
    { name: 'mixed P and S run', input: 'a.),$b', expected: ['a', '.),$', 'b'] },
    { name: 'digits are word characters', input: 'v2 3.14', expected: ['v2', '3', '.', '14'] },
    { name: 'underscore is punctuation (Pc)', input: 'snake_case', expected: ['snake', '_', 'case'] },
    { name: 'NEL and NBSP separate', input: 'a\u0085b\u00a0c', expected: ['a', 'b', 'c'] },
    { name: 'BOM and ZWSP are not whitespace', input: '\ufeffa\u200bb', expected: ['\ufeffa\u200bb'] },
    { name: 'combining marks stay in words', input: 'Cafe\u0301!', expected: ['cafe\u0301', '!'] },
    { name: 'full Unicode lower-casing', input: 'İSTANBUL ΣΑΣ', expected: ['i\u0307stanbul', 'σας'] },
    { name: 'astral letters and emoji symbols', input: '𐐀𐐁 😀😀x', expected: ['𐐨𐐩', '😀😀', 'x'] },
    { name: 'unpaired surrogates are word characters', input: 'a\ud800 \udc00!', expected: ['a\ud800', '\udc00', '!'] },
    { name: 'CJK is one run without spaces', input: '中文字符，日本', expected: ['中文字符', '，', '日本'] },
  ];
  it.each(cases)('$name', ({ input, expected }) => {
    const tokenizer = new WordsTokenizer();
    expect(tokenizer.tokenize(input)).toEqual(expected);
    expect(wordTokens(input)).toEqual(expected);
    expect(tokenizer.count(input)).toBe(expected.length);
    expect(countWords(input)).toBe(expected.length);
  });
});

/** Random text over a pool that exercises every class and the surrogate paths. */
const RANDOM_POOL = ['a', 'Z', '9', ' ', '\n', '.', ',', '$', '_', 'é', 'İ', 'Σ', '\u0301', '中', '。', '\u00a0', '😀', '𐐀', '\ud800', '\udc00', '\u0085', '\ufeff', 'ǅ', 'Ⓐ'];
function randomText(seed: number, length: number): string {
  return pooledText(seed, RANDOM_POOL, length);
}

describe('words tokenizer: count and encode agree with tokenize', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('seeded random text %i', (seed) => {
    const text = randomText(seed, 2000);
    const tokenizer = new WordsTokenizer();
    const tokens = tokenizer.tokenize(text);
    expect(tokens.length).toBeGreaterThan(100);
    expect(tokenizer.count(text)).toBe(tokens.length);
    const ids = tokenizer.encode(text);
    expect(Array.from(ids, (id) => tokenizer.vocabulary.tokenOf(id))).toEqual(tokens);
    // No token contains whitespace, and each is either all punctuation/symbols or has none.
    for (const token of tokens) {
      expect(token).not.toMatch(/\p{White_Space}/u);
      expect(/^[\p{P}\p{S}]+$/u.test(token) || !/[\p{P}\p{S}]/u.test(token)).toBe(true);
    }
  });

  it('lower-casing never changes a character class (why count may skip it), every code point', () => {
    const classOf = (char: string) => (/\p{White_Space}/u.test(char) ? 2 : /[\p{P}\p{S}]/u.test(char) ? 1 : 0);
    const changed: number[] = [];
    for (let codePoint = 0; codePoint < 0x110000; codePoint++) {
      if (codePoint >= 0xd800 && codePoint <= 0xdfff) continue;
      const char = String.fromCodePoint(codePoint);
      const lower = char.toLowerCase();
      if (lower === char) continue;
      for (const part of lower) if (classOf(part) !== classOf(char)) changed.push(codePoint);
    }
    expect(changed).toEqual([]);
  });
});

describe('Vocabulary', () => {
  it('hands out dense ids in first-seen order', () => {
    const vocabulary = new Vocabulary();
    expect(vocabulary.size).toBe(0);
    expect(vocabulary.intern('b')).toBe(0);
    expect(vocabulary.intern('a')).toBe(1);
    expect(vocabulary.intern('b')).toBe(0);
    expect(vocabulary.size).toBe(2);
    expect(vocabulary.idOf('a')).toBe(1);
    expect(vocabulary.idOf('zzz')).toBeUndefined();
    expect(vocabulary.tokenOf(0)).toBe('b');
    expect(vocabulary.tokenOf(7)).toBeUndefined();
  });

  it('WordsTokenizer.encode interns into the vocabulary it was given', () => {
    const vocabulary = Vocabulary.from(['world']);
    const tokenizer = new WordsTokenizer(vocabulary);
    expect(Array.from(tokenizer.encode('Hello, WORLD!! hello'))).toEqual([1, 2, 0, 3, 1]);
    expect(vocabulary.tokenList()).toEqual(['world', 'hello', ',', '!!']);
  });

  it('sortedRemap orders by code point, i.e. by UTF-8 bytes (not UTF-16 units)', () => {
    const tokens = ['b', 'a', '\uffff', '😀', '\ue000', 'ab', '', 'A', '\ud7ff', 'é'];
    const vocabulary = Vocabulary.from(tokens);
    const remap = vocabulary.sortedRemap();
    const byBytes = [...tokens].sort((x, y) => Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8')));
    const sortedByRemap: string[] = [];
    tokens.forEach((token, oldId) => (sortedByRemap[remap[oldId]] = token));
    expect(sortedByRemap).toEqual(byBytes);
    // The UTF-16 order would differ exactly here: U+E000..U+FFFF sort before astral by code point.
    expect(compareCodePoints('\uffff', '😀')).toBeLessThan(0);
    expect('\uffff' < '😀').toBe(false);
  });

  it('sortedRemap gives the same final ids whatever order documents were seen in', () => {
    const random = rng(42);
    const docs = Array.from({ length: 30 }, (_, i) => randomText(100 + i, 200));
    const finalIds = (order: string[]) => {
      const tokenizer = new WordsTokenizer();
      const encoded = order.map((doc) => tokenizer.encode(doc));
      const remap = tokenizer.vocabulary.sortedRemap();
      return { encoded: encoded.map((ids) => Array.from(ids, (id) => remap[id])), size: tokenizer.vocabulary.size };
    };
    const forward = finalIds(docs);
    const shuffledOrder = random.shuffle(docs.map((_, i) => i));
    const shuffled = finalIds(shuffledOrder.map((i) => docs[i]));
    expect(shuffled.size).toBe(forward.size);
    shuffledOrder.forEach((docIndex, position) => expect(shuffled.encoded[position]).toEqual(forward.encoded[docIndex]));
    expect(Vocabulary.from(['b', 'a', 'b']).sorted().tokenList()).toEqual(['a', 'b']);
  });
});
