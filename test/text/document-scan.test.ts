import { describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { exactDedupUtf8, scanDocument } from '../../src/text/document-scan.js';
import { normalizeForExactDedup, shingleWordHashes } from '../../src/text/normalize.js';
import { countWords } from '../../src/text/words.js';
import { licensesCorpus } from './corpus.js';

/** The three general functions scanDocument stands for (the oracle). */
function general(text: string) {
  return { words: Array.from(shingleWordHashes(text)), tokens: countWords(text), exact: Buffer.from(normalizeForExactDedup(text), 'utf8').toString('hex') };
}

function scanned(text: string) {
  const scan = scanDocument(text);
  if (scan === null) return null;
  return { words: Array.from(scan.words), tokens: scan.tokens, exact: Buffer.from(scan.exact).toString('hex') };
}

// Units around the fast path's edges: ASCII, Latin-1 and Latin Extended (İ, ß, Ⱥ's upper case,
// ¼ ² ª º), the General Punctuation block and its format characters, white space of every kind,
// combining marks, a BOM, Greek sigma, CJK and surrogates.
const POOL = [
  ...'aZ09 _-.,;:!?\'"()[]{}<>@#$%^&*+=/\\|~`\t\n\r\v\f',
  '\u0000', '\u001f', '\u007f', '\u0080', '\u0085', '\u00a0', '\u00a9', '\u00aa', '\u00b2', '\u00b5', '\u00bc', '\u00c0', '\u00c9', '\u00df',
  '\u00e9', '\u00ff', '\u0130', '\u0131', '\u0149', '\u017f', '\u01c5', '\u023a', '\u02b0', '\u02ff', '\u0300', '\u0301', '\u0345', '\u03a3',
  '\u1680', '\u2000', '\u2001', '\u2002', '\u200a', '\u200b', '\u2010', '\u2013', '\u2019', '\u201c', '\u2022', '\u2026', '\u2027', '\u2028',
  '\u2029', '\u202a', '\u202f', '\u2030', '\u2044', '\u205e', '\u205f', '\u2060', '\u2192', '\u2500', '\u2714', '\u3000', '\u3042', '\u30ac', '\u3099', '\u4e2d', '\ufeff', '\ud83d', '\ude00', '\ud83d\ude00',
  // Greek (final sigma, tonos), Cyrillic (й precomposed), Hangul syllables and jamo, fullwidth
  // forms, variation selectors and ZWJ (emoji sequences), astral letters and symbols.
  '\u03a3', '\u03c3', '\u03c2', '\u0391', '\u03ac', '\u0386', '\u0387', '\u0419', '\u0439', '\u0451', '\u0483', '\u1100', '\u1161', '\u11a8',
  '\uac00', '\ud55c', '\uff21', '\uff41', '\uff5c', '\ufe0f', '\u200d', '\ud83d\udc69', '\ud83c\udfff', '\ud834\udf06', '\ud801\udc00', '\ud835\udc00',
  '\udb40\udc67', '\ud834\udd5e', '\ud805\udc3a',
];

describe('scanDocument: one pass equals shingleWordHashes + countWords + normalizeForExactDedup', () => {
  /** How many of the code points' texts (alone and between words) took the fast path; each equals the oracle. */
  const fastTexts = (codePoints: Iterable<number>) => {
    let fast = 0;
    for (const codePoint of codePoints) {
      const char = String.fromCodePoint(codePoint);
      for (const text of [char, `Ab${char}cD`, ` ${char}${char} x`]) {
        const got = scanned(text);
        if (got === null) continue;
        fast++;
        expect(got, `U+${codePoint.toString(16)} in ${JSON.stringify(text)}`).toEqual(general(text));
      }
    }
    return fast;
  };
  function* range(start: number, end: number, step: (codePoint: number) => number = () => 1) {
    for (let codePoint = start; codePoint < end; codePoint += step(codePoint)) yield codePoint;
  }

  it('on every BMP unit alone and between words, whenever it takes the fast path', () => {
    // Lone surrogates included (String.fromCodePoint makes them units of their own).
    const fast = fastTexts(range(0, 0x10000));
    // Most of the BMP takes it: not the surrogates, combining marks, Σ, NFC's singletons, the
    // CJK compatibility ideographs or Hangul's conjoining vowels and finals.
    expect(fast).toBeGreaterThan(3 * 50000);
    expect(fast).toBeLessThan(3 * 64000);
  });

  it('on astral code points alone and between words, whenever it takes the fast path', () => {
    const fast = fastTexts(range(0x10000, 0x110000, (codePoint) => (codePoint < 0x20000 ? 1 : 61)));
    // Emoji, symbols and caseless letters take it; marks and cased letters (Deseret, …) do not.
    expect(fast).toBeGreaterThan(3 * 5000);
  });

  it('plain characters never compose or reorder under NFC (checked against every canonical decomposition)', () => {
    // The characters that come second in a canonical composition, and the first character of each
    // decomposition: a plain character must be neither a second (else NFC could join it to what
    // precedes it), nor decompose to start with one.
    const seconds = new Set<number>();
    for (let codePoint = 0; codePoint < 0x110000; codePoint++) {
      if (codePoint >= 0xd800 && codePoint <= 0xdfff) continue;
      const parts = [...String.fromCodePoint(codePoint).normalize('NFD')];
      if (parts.length > 1) seconds.add(parts[parts.length - 1].codePointAt(0)!);
    }
    let plain = 0;
    const wrong: string[] = [];
    for (let codePoint = 0; codePoint < 0x110000; codePoint++) {
      if (codePoint >= 0xd800 && codePoint <= 0xdfff) continue;
      const char = String.fromCodePoint(codePoint);
      if (scanDocument(`a${char}`) === null) continue;
      plain++;
      const decomposed = char.normalize('NFD');
      // Class 0: after U+0345 (class 240, the highest), a mark of a lower class would move before it.
      if (seconds.has(codePoint) || seconds.has(decomposed.codePointAt(0)!) || `\u0345${char}`.normalize('NFD') !== `\u0345${decomposed}`) wrong.push(`U+${codePoint.toString(16)}`);
    }
    expect(wrong).toEqual([]);
    expect(plain).toBeGreaterThan(50000);
  });

  it('exactDedupUtf8 gives normalizeForExactDedup\'s UTF-8 for every BMP unit and astral symbol, alone and in context', () => {
    const wrong: string[] = [];
    const check = (char: string) => {
      for (const text of [char, ` a${char}b `, `${char}\u00a0${char}\t${char}`]) {
        if (Buffer.from(exactDedupUtf8(text)).toString('hex') !== general(text).exact) wrong.push(JSON.stringify(text));
      }
    };
    for (let unit = 0; unit < 0x10000; unit++) check(String.fromCharCode(unit));
    for (let codePoint = 0x10000; codePoint < 0x110000; codePoint += 97) check(String.fromCodePoint(codePoint));
    expect(wrong).toEqual([]);
  });

  it('declines texts with units it does not handle', () => {
    for (const text of ['e\u0301', '\ufeffa', 'ΟΔΟΣ', 'İstanbul', '\u2329', '\u1100\u1161', '\uac00\u11a8', 'x\ud83d', '\ude00x', 'a\ud801\udc00', '\u{16d67}', '\uf900']) expect(scanDocument(text)).toBeNull();
  });

  it('on 20,000 seeded random texts mixing handled and other units', () => {
    const r = rng(7);
    let fast = 0;
    for (let n = 0; n < 20000; n++) {
      const length = r.int(40);
      const plainOnly = r.next() < 0.6;
      let text = '';
      for (let i = 0; i < length; i++) {
        let piece = POOL[r.int(POOL.length)];
        while (plainOnly && scanDocument(piece) === null) piece = POOL[r.int(POOL.length)];
        text += piece;
      }
      expect(Buffer.from(exactDedupUtf8(text)).toString('hex'), JSON.stringify(text)).toBe(general(text).exact);
      const got = scanned(text);
      if (got === null) continue;
      fast++;
      expect(got, JSON.stringify(text)).toEqual(general(text));
    }
    expect(fast).toBeGreaterThan(10000);
  });

  it('reuses its exact buffer safely across long and short texts', () => {
    const long = 'Word, word.\n'.repeat(20000);
    expect(scanned(long)).toEqual(general(long));
    expect(scanned('  a  b ')).toEqual(general('  a  b '));
  });

  const corpus = licensesCorpus();
  it.skipIf(!corpus)('on every document of the real licenses-npm corpus that it handles', () => {
    let fast = 0;
    for (const doc of corpus!) {
      const got = scanned(doc.text);
      if (got === null) continue;
      fast++;
      expect(got, doc.id).toEqual(general(doc.text));
    }
    expect(fast).toBeGreaterThan(corpus!.length * 0.8);
  });
});
