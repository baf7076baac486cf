import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TokenmixError } from '../../src/errors.js';
import { HuggingFaceTokenizer, createTokenizer } from '../../src/text/index.js';
import { loadTokenizer } from '../../src/text/load-node.js';
import { fixturesDir, repoRoot } from './corpus.js';

// Ids of fixtures/tokenizers/tiny-bpe.json, by hand: byte symbols in GPT-2 order
// ('!' = 0, so 'e' = 101 - 33 = 68, 'h' = 71, 'i' = 72, 'n' = 77, 't' = 83, 'Ġ' = 220), then the merges
// 256 Ġt, 257 he, 258 Ġthe, 259 lo, 260 low, 261 er, 262 Ġlow, 263 Ġlower, 264 in, 265 ing; 266 <|endoftext|>.
const cases = [
  // "the": only (h,e) merges → t he.
  { name: 'no leading space: t + he', text: 'the', ids: [83, 257], pieces: ['t', 'he'] },
  // " the": (Ġ,t) rank 0 first, then (h,e) 1, then (Ġt,he) 2.
  { name: 'merge chain to Ġthe', text: ' the', ids: [258], pieces: ['Ġthe'] },
  // " lower": lo(3) → low(4) → er(5) → Ġlow(6) → Ġlower(7).
  { name: 'lowest rank first, five merges', text: ' lower', ids: [263], pieces: ['Ġlower'] },
  // " thing": Ġt(0); (Ġt,h) is no merge; in(8) → ing(9).
  { name: 'partial merges', text: ' thing', ids: [256, 71, 265], pieces: ['Ġt', 'h', 'ing'] },
  { name: 'words split by the ByteLevel regex', text: 'the lower thing', ids: [83, 257, 263, 256, 71, 265], pieces: ['t', 'he', 'Ġlower', 'Ġt', 'h', 'ing'] },
  // "é" is bytes C3 A9. GPT-2 order: bytes 33..126 → ids 0..93, 161..172 → 94..105, 174..255 → 106..187;
  // so 0xC3 = 195 → 'Ã' = 106 + 195 - 174 = 127 and 0xA9 = 169 → '©' = 94 + 169 - 161 = 102.
  { name: 'non-ASCII goes through byte symbols', text: 'é', ids: [127, 102], pieces: ['Ã', '©'] },
  { name: 'special token text is matched as the added token', text: 'the<|endoftext|>', ids: [83, 257, 266], pieces: ['t', 'he', '<|endoftext|>'] },
  { name: 'empty', text: '', ids: [], pieces: [] },
];

describe('Hugging Face tokenizer.json (tiny BPE fixture)', () => {
  let tokenizer: HuggingFaceTokenizer;
  beforeAll(async () => {
    tokenizer = (await loadTokenizer('fixtures/tokenizers/tiny-bpe.json', { baseDir: repoRoot })) as HuggingFaceTokenizer;
  });

  it('reports kind, name (the spec as written) and vocabulary size', () => {
    expect(tokenizer.kind).toBe('huggingface');
    expect(tokenizer.name).toBe('fixtures/tokenizers/tiny-bpe.json');
    expect(tokenizer.vocabSize).toBe(267);
    expect(tokenizer.tokenize()).toBeNull();
  });

  it.each(cases)('$name', ({ text, ids, pieces }) => {
    expect(tokenizer.pieces(text)).toEqual(pieces);
    expect(Array.from(tokenizer.encode(text))).toEqual(ids);
    expect(tokenizer.count(text)).toBe(ids.length);
  });

  it('the browser-safe createTokenizer accepts the parsed JSON', async () => {
    const json = JSON.parse(readFileSync(resolve(fixturesDir, 'tiny-bpe.json'), 'utf8'));
    const fromJson = await createTokenizer({ name: 'tiny-bpe.json', tokenizerJson: json });
    expect(fromJson.name).toBe('tiny-bpe.json');
    expect(Array.from(fromJson.encode('the lower thing'))).toEqual([83, 257, 263, 256, 71, 265]);
  });
});

describe('tokenizer specs and their errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenmix-tokenizers-'));
  writeFileSync(join(dir, 'broken.json'), '{"model": {"type": "BPE", ');
  writeFileSync(join(dir, 'array.json'), '[1, 2]');
  writeFileSync(join(dir, 'no-vocab.json'), '{"model": {"type": "BPE"}}');
  writeFileSync(join(dir, 'bad-type.json'), '{"model": {"type": "Nonsense", "vocab": {"a": 0}}}');
  writeFileSync(join(dir, 'bad-pre.json'), '{"pre_tokenizer": {"type": "Nonsense"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}');

  const rejects = async (promise: Promise<unknown>, ...fragments: string[]) => {
    const error = await promise.then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TokenmixError);
    const message = (error as Error).message;
    expect(message.startsWith('tokenmix:')).toBe(true);
    for (const fragment of fragments) expect(message).toContain(fragment);
  };

  it('"words" and encoding names load without a path', async () => {
    expect((await loadTokenizer('words')).kind).toBe('words');
    expect((await createTokenizer('words')).vocabSize).toBeNull();
  });
  it('unknown name lists the valid names', () =>
    rejects(loadTokenizer('cl200k_base'), 'unknown tokenizer "cl200k_base"', 'words, cl100k_base, o200k_base'));
  it('browser entry: unknown name lists the valid names too', () =>
    rejects(createTokenizer('gpt5'), 'words, cl100k_base, o200k_base'));
  it('browser entry refuses paths and says what to do instead', () =>
    rejects(createTokenizer('models/tokenizer.json'), 'models/tokenizer.json', 'tokenizerJson'));
  it('missing file names the path', () =>
    rejects(loadTokenizer('nope/tokenizer.json', { baseDir: dir }), join(dir, 'nope/tokenizer.json'), 'no such file'));
  it('a directory is not a tokenizer.json', () => rejects(loadTokenizer(`${dir}/`), dir, 'is a directory'));
  it('invalid JSON names the path and the parse error', () =>
    rejects(loadTokenizer('broken.json', { baseDir: dir }), join(dir, 'broken.json'), 'not valid JSON'));
  it('a JSON array is not a tokenizer', () =>
    rejects(loadTokenizer('array.json', { baseDir: dir }), join(dir, 'array.json'), 'not a JSON object'));
  it('a model without vocab is rejected', () =>
    rejects(loadTokenizer('no-vocab.json', { baseDir: dir }), 'no-vocab.json', 'no "vocab"'));
  it('an unsupported model type is named', () =>
    rejects(loadTokenizer('bad-type.json', { baseDir: dir }), 'bad-type.json', '"Nonsense"', 'BPE, WordPiece, Unigram'));
  it('tokenizers.js errors are wrapped with the path', () =>
    rejects(loadTokenizer('bad-pre.json', { baseDir: dir }), 'bad-pre.json', 'tokenizers.js rejected it'));
});
