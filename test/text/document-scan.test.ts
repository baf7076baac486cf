import { describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { scanDocument } from '../../src/text/document-scan.js';
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
];

describe('scanDocument: one pass equals shingleWordHashes + countWords + normalizeForExactDedup', () => {
  it('on every BMP unit alone and between words, whenever it takes the fast path', () => {
    let fast = 0;
    for (let unit = 0; unit < 0x10000; unit++) {
      const char = String.fromCharCode(unit);
      for (const text of [char, `Ab${char}cD`, ` ${char}${char} x`]) {
        const got = scanned(text);
        if (got === null) continue;
        fast++;
        expect(got, `U+${unit.toString(16)} in ${JSON.stringify(text)}`).toEqual(general(text));
      }
    }
    // Latin, the symbol blocks, kana and the CJK ideographs take it; the rest of the BMP does not.
    expect(fast).toBeGreaterThan(3 * 24000);
    expect(fast).toBeLessThan(3 * 30000);
  });

  it('declines texts with units it does not handle', () => {
    for (const text of ['e\u0301', '\ufeffa', 'ΟΔΟΣ', 'İstanbul', 'ガ', '\u2329', 'a\ud83d\ude00', '\u202ax', 'x\u200by']) expect(scanDocument(text)).toBeNull();
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
