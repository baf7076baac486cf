/**
 * Byte-level line splitting: a multibyte character cut across chunk boundaries decodes
 * whole, wherever the cut falls; bad bytes taint only their own line.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { contentHash } from '../../src/io/index.js';
import { BAD_UTF8_LINE, LineSplitter, TOO_LONG_LINE, type Line } from '../../src/io/lines.js';
import { inputFor, readAll, tempDir } from './helpers.js';

const temp = tempDir();
afterAll(() => temp.cleanup());

/** Feeds `bytes` to a splitter cut at the given offsets and returns all lines. */
function split(bytes: Uint8Array, cuts: number[], maxLineBytes = 1 << 20): Line[] {
  const splitter = new LineSplitter(maxLineBytes);
  const lines: Line[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    lines.push(...splitter.push(bytes.subarray(start, cut)));
    start = cut;
  }
  return [...lines, ...splitter.end()];
}

// 2-, 3- and 4-byte sequences, next to newlines.
const TEXT = 'é\n日本\n🙂x\n\nlast€';
const BYTES = new TextEncoder().encode(TEXT);

describe('LineSplitter', () => {
  it('decodes the same lines for every single cut position', () => {
    for (let cut = 0; cut <= BYTES.length; cut++) {
      expect(split(BYTES, [cut])).toEqual(['é', '日本', '🙂x', '', 'last€']);
    }
  });

  it('decodes the same lines when fed one byte at a time', () => {
    expect(split(BYTES, Array.from({ length: BYTES.length }, (_, i) => i))).toEqual(['é', '日本', '🙂x', '', 'last€']);
  });

  it('marks only the line with bad bytes, at any cut', () => {
    const bytes = Uint8Array.from([...new TextEncoder().encode('ok\n'), 0xe6, 0x97, 0x0a, ...new TextEncoder().encode('日\n')]);
    for (let cut = 0; cut <= bytes.length; cut++) expect(split(bytes, [cut])).toEqual(['ok', BAD_UTF8_LINE, '日']);
  });

  it('a trailing newline ends the last line; no phantom empty line', () => {
    expect(split(new TextEncoder().encode('a\nb\n'), [])).toEqual(['a', 'b']);
    expect(split(new TextEncoder().encode(''), [])).toEqual([]);
    expect(split(new TextEncoder().encode('\n'), [])).toEqual(['']);
  });

  it('too-long lines are dropped while streaming, at any cut', () => {
    const bytes = new TextEncoder().encode('short\n0123456789abcdef\nok');
    for (let cut = 0; cut <= bytes.length; cut++) expect(split(bytes, [cut], 8)).toEqual(['short', TOO_LONG_LINE, 'ok']);
    expect(split(new TextEncoder().encode('0123456789'), [3, 6], 8)).toEqual([TOO_LONG_LINE]);
  });
});

describe('JSONL read with tiny read chunks', () => {
  it('multibyte text split across file chunks decodes right', async () => {
    const texts = ['naïve café', '日本語のテキスト', 'emoji 🙂🙃 and 𝔘', 'ascii only'];
    const path = join(temp.dir, 'utf8.jsonl');
    writeFileSync(path, texts.map((text, i) => JSON.stringify({ id: `u${i}`, text })).join('\n'));
    for (const chunkBytes of [1, 2, 3, 5, 7]) {
      const result = await readAll(inputFor(path, 'utf8.jsonl', 'jsonl', { source: 's' }), { id: 'id', text: 'text' }, { chunkBytes });
      expect(result.problems).toEqual([]);
      expect(result.texts).toEqual(texts);
    }
  });
});

describe('contentHash', () => {
  it('matches the SHA-256 test vectors', async () => {
    const empty = join(temp.dir, 'empty');
    const abc = join(temp.dir, 'abc');
    writeFileSync(empty, '');
    writeFileSync(abc, 'abc');
    expect(await contentHash(empty)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(await contentHash(abc)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('the real corpus hashes like sha256sum', async () => {
    // sha256sum /work/shared/data/licenses-npm/corpus.jsonl.zst
    expect(await contentHash('/work/shared/data/licenses-npm/corpus.jsonl.zst')).toBe(EXPECTED_CORPUS_SHA256);
  });
});

const EXPECTED_CORPUS_SHA256 = '246fb66cbf60c0bd16bacbde113458a3599018c2369ffb8ad11241d3bce8bd82';
