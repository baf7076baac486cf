import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tiktokenToHuggingFaceJson } from '../../bench/tiktoken-to-hf.js';
import { pooledText } from '../../fixtures/random.js';
import { type HuggingFaceTokenizer } from '../../src/text/index.js';
import { huggingFaceTokenizer } from '../../src/text/huggingface.js';
import { loadTiktokenRanks } from '../../src/text/tiktoken.js';

// The reference: OpenAI's tiktoken (its Rust core built to WASM, npm `tiktoken`), whose
// `encode_ordinary` the converted tokenizer.json must reproduce id for id.
const { get_encoding } = createRequire(import.meta.url)('tiktoken') as typeof import('tiktoken');

/** Text that exercises what tiktoken's pattern distinguishes and where JavaScript's regex differs. */
const fixedTexts = [
  'hello world',
  "It's what they'LL say, we'd've DONE it.",
  'numbers 1234567 and 3.14159, ids x86_64',
  '  indented\n\tcode();\r\n\r\n   trailing   \n',
  '\ufeff# title after a byte-order mark',
  'a\u0085b\u00a0c\u2028d\u200be',
  'café naïve Σίσυφος 中文字符 日本語のテキスト 😀👍🏽',
  'before <|endoftext|> after <|endofprompt|>',
  'a'.repeat(300) + ' ' + '!'.repeat(100),
  'e\u0301 ǅ \ud800 lone surrogate',
];

/** Seeded mix of the same ingredients, joined without spaces so pieces meet at odd places. */
const SEEDED_POOL = ['a', 'B', 'hello', ' the', "'s", "'LL", '123456', ' ', '  ', '\n', '\r\n', '\t', '.', '!!', '/', 'é', 'Σ', '中文', '😀', '\u0301', '<|endoftext|>', '\u00a0', '\ufeff', '\u0085'];
function seededText(seed: number, length: number): string {
  return pooledText(seed, SEEDED_POOL, length);
}

describe.each([
  { name: 'cl100k_base' as const, helloWorld: [15339, 1917] },
  { name: 'o200k_base' as const, helloWorld: [24912, 2375] },
])('tokenizer.json built from $name ranks', ({ name, helloWorld }) => {
  let json: Record<string, unknown>;
  let tokenizer: HuggingFaceTokenizer;
  let reference: ReturnType<typeof get_encoding>;
  beforeAll(async () => {
    json = tiktokenToHuggingFaceJson(await loadTiktokenRanks(name));
    tokenizer = await huggingFaceTokenizer(json, { name, where: name });
    reference = get_encoding(name);
  });
  afterAll(() => reference.free());

  it('is a byte-level BPE: the space byte spells "Ġ", every multi-byte token has one merge', () => {
    const model = json.model as { vocab: Record<string, number>; merges: [string, string][] };
    expect(model.vocab['Ġ']).toBe(reference.encode_ordinary(' ')[0]);
    // Ranks are consecutive from 0 and the 256 single bytes have no merge.
    expect(model.merges.length).toBe(Object.keys(model.vocab).length - 256);
  });

  it('encodes a well-known string to its published ids', () => {
    expect(Array.from(tokenizer.encode('hello world'))).toEqual(helloWorld);
  });

  it.each(fixedTexts.map((text) => ({ text })))('matches tiktoken id for id on $text', ({ text }) => {
    expect(Array.from(tokenizer.encode(text))).toEqual(Array.from(reference.encode_ordinary(text)));
  });

  it.each([1, 2, 3])('matches tiktoken on seeded mixed text %i', (seed) => {
    const text = seededText(seed, 2000);
    expect(Array.from(tokenizer.encode(text))).toEqual(Array.from(reference.encode_ordinary(text)));
  });
});
