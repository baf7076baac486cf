import { describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { shingleStrings } from '../../fixtures/dedup/near-pairs.js';
import { jaccardExact, minhashConstants } from '../../src/cpu/minhash.js';
import { intersectionSize, jaccardAtLeast, jaccardSorted, shingleSet, shingleWords, sortHashes } from '../../src/dedup/shingles.js';
import { exactDedupUtf8 } from '../../src/text/document-scan.js';
import { normalizeForExactDedup } from '../../src/text/normalize.js';

const { shingleSeed } = minhashConstants({ ngram: 5, numHashes: 1, seed: 1 });

describe('shingle sets', () => {
  const cases = [
    { name: 'empty text', text: '', expectedSize: 0 },
    { name: 'fewer words than n: one shingle', text: 'Hello, world!', expectedSize: 1 },
    { name: 'exactly n words', text: 'a b c d e', expectedSize: 1 },
    { name: 'repeated shingles counted once', text: 'x y z x y z x y z x y z', expectedSize: 3 },
    { name: 'punctuation and case do not matter', text: 'The cat; THE CAT... the cat sat on the mat', expectedSize: 6 },
  ];
  for (const c of cases) {
    it(`${c.name}: size equals the number of distinct shingle strings`, () => {
      const words = shingleWords(c.text);
      const set = shingleSet(words, 5, shingleSeed);
      expect(set.length).toBe(c.expectedSize);
      expect(set.length).toBe(shingleStrings(c.text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean)).size);
      for (let i = 1; i < set.length; i++) expect(set[i]).toBeGreaterThan(set[i - 1]);
    });
  }

  it('exact Jaccard on hashed sets equals Jaccard on shingle strings (random texts)', () => {
    const r = rng(3);
    const vocab = Array.from({ length: 40 }, (_, i) => `w${i}`);
    for (let trial = 0; trial < 50; trial++) {
      const a = Array.from({ length: 5 + r.int(60) }, () => vocab[r.int(vocab.length)]);
      const b = [...a];
      for (let e = r.int(10); e > 0; e--) b[r.int(b.length)] = vocab[r.int(vocab.length)];
      const expected = jaccardExact(shingleStrings(a), shingleStrings(b));
      const setA = shingleSet(shingleWords(a.join(' ')), 5, shingleSeed);
      const setB = shingleSet(shingleWords(b.join(' ')), 5, shingleSeed);
      expect(jaccardSorted(setA, setB)).toBeCloseTo(expected, 12);
      for (const t of [0.5, 0.8, expected]) expect(jaccardAtLeast(setA, setB, t)).toBe(expected >= t - 1e-12);
    }
  });

  it('intersection of sorted lists; empty sets never pass verification', () => {
    expect(intersectionSize(Uint32Array.of(1, 3, 5, 0xffffffff), Uint32Array.of(0, 3, 4, 5, 0xffffffff))).toBe(3);
    expect(jaccardAtLeast(new Uint32Array(0), new Uint32Array(0), 0.5)).toBe(false);
    expect(jaccardAtLeast(Uint32Array.of(1), Uint32Array.of(1), 1)).toBe(true);
    // 4 of 5: J = 0.8 exactly passes at 0.8 (integers, no float drift).
    expect(jaccardAtLeast(Uint32Array.of(1, 2, 3, 4, 5), Uint32Array.of(1, 2, 3, 4), 0.8)).toBe(true);
    expect(jaccardAtLeast(Uint32Array.of(1, 2, 3, 4, 5), Uint32Array.of(1, 2, 3, 4), 0.81)).toBe(false);
  });
});

describe('exact-dedup key bytes (exactDedupUtf8)', () => {
  const texts = [
    '', ' ', 'plain', '  lead and trail  ', 'tabs\tand\nnew\r\nlines', 'a \t b', 'one space only',
    'x\u000by\u000cz', 'caf\u00e9 vs cafe\u0301', '\ufeffbom first', 'nbsp\u00a0here', 'next\u0085line', 'ideo\u3000space',
    'mixed \u2028 separators', 'trailing\n', '\n\nleading', 'emoji \ud83d\ude00 here', 'lone \ud83d surrogate', '\u03a3\u03c3 \u0439 \u2126',
  ];
  for (const text of texts) {
    it(`agrees with normalizeForExactDedup on ${JSON.stringify(text)}`, () => {
      expect(Buffer.from(exactDedupUtf8(text)).toString('hex')).toBe(Buffer.from(normalizeForExactDedup(text), 'utf8').toString('hex'));
    });
  }
  it('agrees on random ASCII and other units', () => {
    const r = rng(5);
    const alphabet = [...'ab \t\n\r\u000b\u000c.', '\u00e9', '\u0301', '\u00a0', '\u3000', '\ud83d\ude00', '\ud83d', '\ufeff', '\u2126'];
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: r.int(30) }, () => alphabet[r.int(alphabet.length)]).join('');
      expect(Buffer.from(exactDedupUtf8(text)).toString('hex')).toBe(Buffer.from(normalizeForExactDedup(text), 'utf8').toString('hex'));
    }
  });
});

describe('sortHashes sorts like Uint32Array.prototype.sort', () => {
  const r = rng(11);
  const check = (values: Uint32Array) => {
    const expected = values.slice().sort();
    const got = values.slice();
    sortHashes(got);
    expect(Array.from(got)).toEqual(Array.from(expected));
  };
  it('uniform hashes of every size from 0 to 300, and larger', () => {
    for (let n = 0; n <= 300; n++) check(Uint32Array.from({ length: n }, () => r.int(2 ** 32)));
    for (const n of [1023, 1024, 1025, 4096, 50_000]) check(Uint32Array.from({ length: n }, () => r.int(2 ** 32)));
  });
  it('many duplicates, extremes, already sorted and reversed input', () => {
    check(Uint32Array.from({ length: 5000 }, () => r.int(4)));
    check(Uint32Array.from({ length: 3000 }, (_, i) => (i % 2 ? 0xffffffff : 0)));
    check(Uint32Array.from({ length: 3000 }, (_, i) => i * 1_000_003));
    check(Uint32Array.from({ length: 3000 }, (_, i) => 0xffffffff - i * 7));
  });
  it('values sharing their top bits (one crowded bucket) fall back to the built-in sort', () => {
    check(Uint32Array.from({ length: 20_000 }, () => r.int(2 ** 16)));
    check(Uint32Array.from({ length: 20_000 }, (_, i) => 0x10000 - i));
  });
});
