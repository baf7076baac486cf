import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { shingleSet } from '../../src/dedup/shingles.js';
import { scanDocument } from '../../src/text/document-scan.js';
import { normalizeForExactDedup, shingleWordHashes } from '../../src/text/normalize.js';
import { textKernel } from '../../src/text/text-kernel.js';
import { statsFromCounts, textStats } from '../../src/filters/heuristics.js';
import { exactDedupUtf8 } from '../../src/text/document-scan.js';
import { TEXT_KERNEL_SOURCE_SHA256 } from '../../src/text/wasm/text-kernel.generated.js';
import { countWords } from '../../src/text/words.js';
import { licensesCorpus, repoRoot } from './corpus.js';

const NGRAM = 5;
const SEED = 0x9e3779b9;

/** The general functions (the oracle): words, token count, exact-dedup UTF-8, shingle set. */
function general(text: string, ngram = NGRAM, seed = SEED) {
  const words = shingleWordHashes(text);
  return {
    words: Array.from(words),
    tokens: countWords(text),
    exact: Buffer.from(normalizeForExactDedup(text), 'utf8').toString('hex'),
    set: Array.from(shingleSet(words, ngram, seed)),
  };
}

function kernelScan(text: string, ngram = NGRAM, seed = SEED) {
  const scan = textKernel()!.scan(text, ngram, seed);
  if (scan === null) return null;
  return { words: Array.from(scan.words), tokens: scan.tokens, exact: Buffer.from(scan.exact).toString('hex'), set: Array.from(scan.set) };
}

/** Texts the kernel hands back: what scanDocument declines, and U+FFFD (an unpaired surrogate's replacement). */
const declined = (text: string) => scanDocument(text) === null || text.includes('\ufffd');

describe('text kernel (WebAssembly): equals shingleWordHashes + countWords + normalizeForExactDedup + shingleSet', () => {
  it('is there: Node has WebAssembly, so the kernel must load', () => {
    expect(textKernel()).not.toBeNull();
  });

  /** Every code point of `codePoints`, alone and between words: the kernel equals the oracle or declines exactly when it should. */
  const check = (codePoints: Iterable<number>) => {
    let done = 0;
    const wrong: string[] = [];
    for (const codePoint of codePoints) {
      const char = String.fromCodePoint(codePoint);
      for (const text of [char, `Ab${char}cD`, ` ${char}${char} x`, `one two ${char}three four five six`]) {
        const got = kernelScan(text);
        if (got === null) {
          if (!declined(text)) wrong.push(`declined U+${codePoint.toString(16)} in ${JSON.stringify(text)}`);
          continue;
        }
        done++;
        if (JSON.stringify(got) !== JSON.stringify(general(text))) wrong.push(`U+${codePoint.toString(16)} in ${JSON.stringify(text)}`);
      }
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    return done;
  };

  it('on every BMP unit alone and between words', () => {
    const units = Array.from({ length: 0x10000 }, (_, unit) => unit);
    expect(check(units)).toBeGreaterThan(4 * 50000);
  });

  it('on astral code points alone and between words', () => {
    const codePoints: number[] = [];
    for (let codePoint = 0x10000; codePoint < 0x110000; codePoint += codePoint < 0x20000 ? 17 : 997) codePoints.push(codePoint);
    // Fewer than its table holds (8,192), so none is handed back for want of room.
    expect(check(codePoints)).toBeGreaterThan(4 * 1000);
  });

  it('declines what the TypeScript scan declines, and U+FFFD', () => {
    for (const text of ['e\u0301', '\ufeffa', 'ΟΔΟΣ', 'İstanbul', 'x\ud83d', '\ude00x', 'a\ud801\udc00', '\uf900', 'a\ufffdb']) expect(kernelScan(text), JSON.stringify(text)).toBeNull();
  });

  it('on 20,000 seeded random texts of words, punctuation, white space and other scripts', () => {
    const pool = [
      ...'aZ09 _-.,;:!?\'"()\t\n\r\v\f',
      'the', 'Quick', 'BROWN', 'fox42', 'x', 'é', 'ß', 'İ', 'Σ', 'σ', 'ж', 'ЖУК', '中文', 'ｆｕｌｌ', '한국', '\u00a0', '\u2003', '\u3000', '\u200b',
      '\u0301', '\ufeff', '\ud83d\ude00', '\ud835\udc00', '\ud83d', '\u2019', '\u2026', '\u00bc', '\u00b2',
    ];
    const r = rng(11);
    let done = 0;
    for (let n = 0; n < 20000; n++) {
      const length = r.int(60);
      const plainOnly = r.next() < 0.6;
      let text = '';
      for (let i = 0; i < length; i++) {
        let piece = pool[r.int(pool.length)];
        while (plainOnly && declined(piece)) piece = pool[r.int(pool.length)];
        text += piece;
      }
      const ngram = 1 + r.int(7);
      const got = kernelScan(text, ngram, n);
      if (got === null) {
        expect(declined(text), JSON.stringify(text)).toBe(true);
        continue;
      }
      done++;
      expect(got, JSON.stringify(text)).toEqual(general(text, ngram, n));
    }
    expect(done).toBeGreaterThan(12000);
  });

  it('at edge sizes: empty, one character, fewer words than n, exactly n, and both sort paths', () => {
    const texts = ['', 'a', ' ', 'a b', 'one two three four', 'one two three four five', 'w '.repeat(47), 'w '.repeat(48), 'w '.repeat(49)];
    for (let words = 40; words <= 60; words++) texts.push(Array.from({ length: words }, (_, i) => `word${i}`).join(' '));
    for (const text of texts) expect(kernelScan(text), JSON.stringify(text)).toEqual(general(text));
  });

  it('a text ending in a letter or digit after a longer one (whose bytes are still past its end) ends its word there', () => {
    for (const [long, short] of [['abcdefgh'.repeat(1000), 'ab'], ['12345678'.repeat(100), 'x 9'], ['Zz'.repeat(40), 'a'], ['q'.repeat(33), 'ab cd ef gh ij kl mn']]) {
      kernelScan(long);
      expect(kernelScan(short), short).toEqual(general(short));
      textKernel()!.facts(long, true);
      expect(checkFacts(short)).toBe(true);
    }
  });

  it('a kernel that a very long text grew past 64 MiB is replaced by a new one, and the results stay right', () => {
    const first = textKernel()!;
    const long = 'Many words, and more words; 42 of them.\n'.repeat(160000); // 6.4 MB
    expect(kernelScan(long)).toEqual(general(long));
    expect(first.memoryBytes()).toBeGreaterThan(64 * 2 ** 20);
    const next = textKernel()!;
    expect(next).not.toBe(first);
    expect(next.memoryBytes()).toBeLessThan(16 * 2 ** 20);
    expect(kernelScan('a b c')).toEqual(general('a b c'));
    expect(checkFacts('x ... y\nx ... y')).toBe(true);
  });

  it('grows its memory for a long text and stays right for short ones after', () => {
    const long = 'Word, word. Another sentence with 12 words and more words.\n'.repeat(40000);
    expect(kernelScan(long)).toEqual(general(long));
    expect(kernelScan('  a  b ')).toEqual(general('  a  b '));
  });

  const corpus = licensesCorpus();
  it.skipIf(!corpus)('on every document of the real licenses-npm corpus', () => {
    let done = 0;
    for (const doc of corpus!) {
      const got = kernelScan(doc.text);
      if (got === null) {
        expect(declined(doc.text), doc.id).toBe(true);
        continue;
      }
      done++;
      expect(got, doc.id).toEqual(general(doc.text));
    }
    expect(done).toBeGreaterThan(corpus!.length * 0.95);
  });

  /** facts(text, true) against textStats, countWords and exactDedupUtf8 (null only when scanDocument declines). */
  const checkFacts = (text: string) => {
    const facts = textKernel()!.facts(text, true);
    if (facts === null) {
      expect(declined(text), JSON.stringify(text)).toBe(true);
      return false;
    }
    expect(Buffer.from(facts.exact).toString('hex'), JSON.stringify(text)).toBe(Buffer.from(exactDedupUtf8(text)).toString('hex'));
    expect(facts.tokens, JSON.stringify(text)).toBe(countWords(text));
    if (facts.counts === null) expect(text.includes('\ufffd') || /[\ud800-\udfff]/.test(text), JSON.stringify(text)).toBe(true);
    else expect(statsFromCounts(facts.counts), JSON.stringify(text)).toEqual(textStats(text));
    return true;
  };

  it('facts: text statistics, token count and exact key on every BMP unit in lines', () => {
    let done = 0;
    for (let unit = 0; unit < 0x10000; unit++) {
      const char = String.fromCharCode(unit);
      for (const text of [`${char}`, `a${char}b\n${char}a${char}b\r\n  a${char}b `, `x ${char}${char}...${char}#\n\n x ${char}${char}...${char}#`]) if (checkFacts(text)) done++;
    }
    expect(done).toBeGreaterThan(3 * 50000);
  });

  it('facts: runs of 1 to 40 dots, "#" and white space at every offset of a 16-byte block', () => {
    for (let offset = 0; offset < 20; offset++) {
      for (let dots = 1; dots <= 40; dots++) {
        const text = `${'a'.repeat(offset)}${'.'.repeat(dots)}b#c d\t${'.'.repeat(dots % 7)} ${'x'.repeat(dots)}\n${'a'.repeat(offset)}${'.'.repeat(dots)}b#c d`;
        expect(checkFacts(text), JSON.stringify(text)).toBe(true);
      }
    }
  });

  it('facts: 20,000 seeded texts of repeated lines, white space of every kind, "#", "…" and "..."', () => {
    const pool = ['a', 'Word', '#', '…', '.', '..', '...', '....', ' ', '\t', '\n', '\r\n', '\r', '\u00a0', '\u2028', '\u3000', '\ufeff', '\u1680', '\u0085', 'é', '中', '\ud83d\ude00', '\ufffd', '\ud800'];
    const r = rng(23);
    let done = 0;
    for (let n = 0; n < 20000; n++) {
      const lines: string[] = [];
      const count = r.int(8);
      for (let l = 0; l < count; l++) {
        // Repeat an earlier line (maybe with other white space around it) a third of the time.
        if (lines.length > 0 && r.next() < 0.33) lines.push(`${pool[4 + r.int(2)]}${lines[r.int(lines.length)].trim()}${r.next() < 0.5 ? ' ' : ''}`);
        else {
          let line = '';
          for (let k = r.int(12); k > 0; k--) line += pool[r.int(pool.length)];
          lines.push(line);
        }
      }
      if (checkFacts(lines.join(r.next() < 0.5 ? '\n' : '\r\n'))) done++;
    }
    expect(done).toBeGreaterThan(5000);
  });

  it('is built from its committed C source (and, where clang is, byte for byte)', () => {
    const source = readFileSync(resolve(repoRoot, 'src/text/wasm/text-kernel.c'));
    expect(TEXT_KERNEL_SOURCE_SHA256).toBe(createHash('sha256').update(source).digest('hex'));
    // CI installs clang and lld (.ci/run), so there the committed module must be what they make.
    const hasClang = spawnSync('clang', ['--version']).status === 0;
    if (!hasClang && process.env.CI) throw new Error('CI must install clang and lld to check the committed WebAssembly module');
    if (hasClang) execFileSync(process.execPath, [resolve(repoRoot, 'scripts/build-wasm.mjs'), '--check'], { stdio: 'pipe' });
  });
});
