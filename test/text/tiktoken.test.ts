import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { TiktokenTokenizer, createTokenizer } from '../../src/text/index.js';
import { binaryUtf8 } from '../../src/text/tiktoken-bpe.js';

// The reference: OpenAI's tiktoken itself (its Rust core built to WASM, npm `tiktoken`), not
// js-tiktoken, whose JavaScript regex reads `\s` differently (U+FEFF, U+0085).
const { get_encoding } = createRequire(import.meta.url)('tiktoken') as typeof import('tiktoken');
import { corpusSample, licensesCorpus } from './corpus.js';

/** Seeded text mixing everything tiktoken's pre-tokenizer regex distinguishes. */
function randomText(seed: number, length: number): string {
  const random = rng(seed);
  const pool = ['a', 'B', 'hello', ' the', "'s", "'LL", '123456', ' ', '  ', '\n', '\r\n', '\t', '.', '!!', '/', 'é', 'Σ', '中文', '😀', '\u0301', '\ud800', '<|endoftext|>', 'ǅ', '\u00a0', '\ufeff', '\u0085', '\u2028', '\u200b'];
  let text = '';
  for (let i = 0; i < length; i++) text += pool[random.int(pool.length)];
  return text;
}

const corpus = licensesCorpus();

describe.each([
  { name: 'cl100k_base' as const, vocabSize: 100277, helloWorld: [15339, 1917] },
  { name: 'o200k_base' as const, vocabSize: 200019, helloWorld: [24912, 2375] },
])('$name', ({ name, vocabSize, helloWorld }) => {
  let tokenizer: TiktokenTokenizer;
  let reference: ReturnType<typeof get_encoding>;
  beforeAll(async () => {
    tokenizer = (await createTokenizer(name)) as TiktokenTokenizer;
    reference = get_encoding(name);
  });
  afterAll(() => reference.free());
  const referenceIds = (text: string) => Array.from(reference.encode_ordinary(text));

  it('keeps a byte-order mark with the punctuation after it, as tiktoken does', () => {
    for (const text of ['\ufeff# title', 'a\u0085b', ' \ufeff \n']) expect(Array.from(tokenizer.encode(text))).toEqual(referenceIds(text));
  });

  it('reports kind, name and vocabulary size (max id + 1, specials included)', () => {
    expect(tokenizer.kind).toBe('tiktoken');
    expect(tokenizer.name).toBe(name);
    expect(tokenizer.vocabSize).toBe(vocabSize);
    expect(tokenizer.tokenize()).toBeNull();
  });

  it('encodes a well-known string to its published ids', () => {
    expect(Array.from(tokenizer.encode('hello world'))).toEqual(helloWorld);
    expect(tokenizer.count('')).toBe(0);
    expect(tokenizer.encode('').length).toBe(0);
  });

  it('treats special-token text as plain text (no throw, no special id)', () => {
    const text = 'before <|endoftext|> after <|endofprompt|>';
    const ids = Array.from(tokenizer.encode(text));
    expect(ids).toEqual(referenceIds(text));
    expect(ids.every((id) => id < vocabSize - 20)).toBe(true); // specials sit at the top of the id space
    expect(tokenizer.decode(ids)).toBe(text);
    expect(tokenizer.count(text)).toBe(ids.length);
  });

  it.each([1, 2, 3, 4])('matches tiktoken on seeded random text %i', (seed) => {
    const text = randomText(seed, 3000);
    const ids = tokenizer.encode(text);
    expect(Array.from(ids)).toEqual(referenceIds(text));
    expect(tokenizer.count(text)).toBe(ids.length);
  });

  it('matches tiktoken on long repeated runs (deep merges, uncached pieces)', () => {
    for (const text of ['a'.repeat(500), ' '.repeat(300) + 'x', '\n'.repeat(100), '!'.repeat(200), 'é'.repeat(150)]) {
      expect(Array.from(tokenizer.encode(text))).toEqual(referenceIds(text));
    }
  });

  it('matches tiktoken on long seeded letter runs (heap merge path)', () => {
    const random = rng(7);
    for (const alphabet of ['ab', 'etaoinshrd', 'xyzq']) {
      let text = '';
      for (let i = 0; i < 700; i++) text += alphabet[random.int(alphabet.length)];
      expect(Array.from(tokenizer.encode(text))).toEqual(referenceIds(text));
    }
  });

  it('counts a 200 000-character piece quickly (no quadratic merge)', () => {
    const started = performance.now();
    const spaces = tokenizer.count(' '.repeat(200_000) + 'x');
    const letters = tokenizer.count('ab'.repeat(100_000));
    expect(spaces).toBeGreaterThan(0);
    expect(letters).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it.skipIf(!corpus)('matches tiktoken on 200 kB of the real corpus', () => {
    const text = corpusSample(corpus!, 200_000);
    const ids = tokenizer.encode(text);
    expect(Array.from(ids)).toEqual(referenceIds(text));
    expect(tokenizer.count(text)).toBe(ids.length);
    expect(tokenizer.decode(ids)).toBe(text);
  });
});

describe('binaryUtf8', () => {
  it.each(['', 'abc', 'é', '中', '😀', 'a\ud800b', '\udc00', 'x\ud83d'])('equals TextEncoder bytes for %j', (text) => {
    const bytes = Array.from(new TextEncoder().encode(text));
    expect(Array.from(binaryUtf8(text), (char) => char.charCodeAt(0))).toEqual(bytes);
  });
});
