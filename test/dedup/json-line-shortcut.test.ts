/**
 * Dedup's JSON line shortcut (doc-scan.ts JsonLineShortcut) read through readRecords, against
 * the same file read the general way (decode, JSON.parse, the record checks, scanText): the
 * same records, ids, sources, scores, rows, problems and blank lines, and for every record the
 * shortcut took, the scan scanText makes of the parsed text. The file mixes lines the shortcut
 * takes with every kind it must leave to JSON.parse, and is read in chunks small enough to
 * split lines and characters.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { minhashConstants } from '../../src/cpu/minhash.js';
import { JsonLineShortcut, scanText, type DocScan, type ScanSettings } from '../../src/dedup/doc-scan.js';
import { resolveDedupOptions } from '../../src/dedup/options.js';
import { readRecords, type FieldMap, type RecordBatch, type ResolvedInput } from '../../src/io/index.js';
import { textKernel } from '../../src/text/text-kernel.js';
import { rng } from '../../fixtures/random.js';
import { inputFor, tempDir } from '../io/helpers.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);

const utf8 = (text: string) => Buffer.from(text, 'utf8');

/** Lines of every kind, as bytes (some are not UTF-8). */
function lines(): Buffer[] {
  const random = rng(5);
  const words = ['alpha', 'Beta', 'γάμμα', 'DÉJÀ', 'naïve', '日本語', '😀', 'x1', '—', '\t', '\\', '"', '\u00a0', '\u2028', 'ǅ', 'ß'];
  const text = (n: number) => Array.from({ length: n }, () => words[random.int(words.length)]).join(random.next() < 0.5 ? ' ' : '\n');
  const out: Buffer[] = [];
  for (let i = 0; i < 120; i++) out.push(utf8(JSON.stringify({ id: `d${i}`, text: text(5 + (i % 40)), source: i % 3 === 0 ? 'web' : 'books', q: i / 7 })));
  const special = [
    '\ufeff{"id":"bom","text":"the first line may start with a BOM","q":1}',
    '',
    '   \t ',
    '{"id":"text-first-escapes","text":"\\u0041\\n\\u00e9\\ud83d\\ude00 \\"x\\"","q":2}',
    '{"text":"text before id","id":"t","q":3,"source":"web"}',
    '{"id":"dup","text":"first","text":"second wins","q":4}',
    '{"id":"nested","text":"nested other fields","meta":{"a":[1,{"b":"\\ud800"}]},"q":5}',
    '{"id":"crlf","text":"a CRLF line","q":6}\r',
    '{"id":"fffd","text":"a real \ufffd replacement character","q":7}',
    '{"id":"astral","text":"𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝒜 🙂 text","q":8}',
    '{"id":"no-source","text":"the input names the source","q":9}',
    '{"id":"empty-source","text":"x","source":"","q":10}',
    '{"id":"null-source","text":"x","source":null,"q":11}',
    '{"id":"num-source","text":"x","source":5,"q":12}',
    '{"id":"","text":"empty id","q":13}',
    '{"id":"esc\\u0041id","text":"escaped id","q":14}',
    '{"id":17,"text":"numeric id","q":15}',
    '{"text":"missing id","q":16}',
    '{"id":"no-text","q":17}',
    '{"id":"null-text","text":null,"q":18}',
    '{"id":"blank","text":" \\n\\t\\u3000\\u00a0","q":19}',
    '{"id":"empty","text":"","q":20}',
    '{"id":"lone","text":"a lone \\ud800 surrogate","q":21}',
    '{"id":"no-score","text":"x"}',
    '{"id":"string-score","text":"x","q":"1"}',
    '{"id":"huge-score","text":"x","q":1e400}',
    '{"id":"escaped-key","t\\u0065xt":"x","q":22}',
    '{"id":"bad-json","text":"x",}',
    '[1,2,3]',
    '"just a string"',
    '{"id":"digits-only","text":"1234 5678","q":23}',
    '{"id":"white-start","text":"\\u2003 starts with an em space","q":24}',
  ];
  for (const line of special) out.splice(random.int(out.length), 0, utf8(line));
  // Not UTF-8, in a string and outside one.
  out.splice(50, 0, Buffer.concat([utf8('{"id":"bad-utf8","text":"x'), Buffer.from([0xc3, 0x28]), utf8('"}')]));
  out.splice(70, 0, Buffer.from([0xff, 0xfe, 0x7b, 0x7d]));
  // The BOM only counts on the first line.
  const bom = out.findIndex((line) => line.toString().includes('"bom"'));
  out.unshift(...out.splice(bom, 1));
  return out;
}

interface Read {
  ids: string[];
  sources: string[];
  rows: number[];
  scores: number[];
  problems: unknown[];
  blankLines: number;
  scans: { set: number[]; tokens: number; hash: string; words: number[] | null }[];
  taken: number;
}

const plain = (doc: DocScan) => ({ set: Array.from(doc.set), tokens: doc.tokens, hash: Buffer.from(doc.hash).toString('hex'), words: doc.words ? Array.from(doc.words) : null });

async function read(input: ResolvedInput, fields: FieldMap, settings: ScanSettings, shortcut: JsonLineShortcut | null, chunkBytes: number): Promise<Read> {
  const result: Read = { ids: [], sources: [], rows: [], scores: [], problems: [], blankLines: 0, scans: [], taken: 0 };
  const batches: AsyncIterable<RecordBatch> = readRecords(input, fields, { batchSize: 7, chunkBytes, ...(shortcut ? { shortcut } : {}) });
  for await (const batch of batches) {
    result.ids.push(...batch.ids);
    result.sources.push(...batch.sources);
    result.rows.push(...batch.rows);
    result.scores.push(...(batch.scores.q ?? []));
    result.problems.push(...batch.problems);
    result.blankLines += batch.blankLines;
    for (let i = 0; i < batch.length; i++) {
      const made = batch.shortcut?.[i] as DocScan | undefined;
      if (made) result.taken++;
      else expect(batch.texts[i].length).toBeGreaterThan(0);
      result.scans.push(plain(made ?? scanText(batch.texts[i], textKernel(), settings)));
    }
  }
  return result;
}

describe('JsonLineShortcut: the same records and scans as JSON.parse and scanText', () => {
  const path = join(dir, 'mixed.jsonl');
  writeFileSync(path, Buffer.concat(lines().flatMap((line) => [line, utf8('\n')])));

  for (const [sketch, chunkBytes] of [['oph', 1 << 20], ['minhash', 61], ['oph', 7]] as const) {
    it(`sketch ${sketch}, chunks of ${chunkBytes} bytes`, async () => {
      const options = resolveDedupOptions({ inputs: [], outDir: dir, sketch, onError: 'quarantine' });
      const settings: ScanSettings = { options, shingleSeed: minhashConstants(options).shingleSeed, keepWords: sketch !== 'oph' };
      const fields: FieldMap = { id: 'id', text: 'text', source: 'source', quality: ['q'] };
      for (const source of [undefined, 'from-path']) {
        const input = inputFor(path, 'mixed.jsonl', 'jsonl', source === undefined ? {} : { source });
        const shortcut = JsonLineShortcut.create(fields, input.source, false, settings);
        expect(shortcut).not.toBeNull();
        const general = await read(input, fields, settings, null, chunkBytes);
        const fast = await read(input, fields, settings, shortcut, chunkBytes);
        expect(general.taken).toBe(0);
        expect(fast.taken).toBeGreaterThan(120);
        expect(fast.problems.length).toBeGreaterThan(15);
        const { taken: _, ...rest } = fast;
        const { taken: __, ...expected } = general;
        expect(rest).toEqual(expected);
      }
    });
  }

  it('numeric ids print as JSON.parse and String() would', () => {
    const options = resolveDedupOptions({ inputs: [], outDir: dir });
    const settings: ScanSettings = { options, shingleSeed: minhashConstants(options).shingleSeed, keepWords: false };
    const shortcut = JsonLineShortcut.create({ id: 'id', text: 'text' }, 'src', true, settings)!;
    const take = (line: string) => shortcut.take(utf8(line), 0, Buffer.byteLength(line))?.id ?? null;
    expect(take('{"id":17,"text":"x"}')).toBe('17');
    expect(take('{"id":-3,"text":"x"}')).toBe('-3');
    expect(take('{"id":-0,"text":"x"}')).toBeNull(); // String(-0) is "0": JSON.parse's path says so
    expect(take('{"id":1.5,"text":"x"}')).toBeNull();
    expect(take('{"id":1e3,"text":"x"}')).toBeNull();
    expect(take('{"id":1234567890123456,"text":"x"}')).toBeNull(); // 16 digits: maybe past 2^53
    expect(JsonLineShortcut.create({ id: 'id', text: 'text' }, 'src', false, settings)!.take(utf8('{"id":17,"text":"x"}'), 0, 20)).toBeNull();
  });

  it('is not made where the kernel may not scan (digits or diacritics kept) or the names repeat', () => {
    const make = (extra: object, fields: FieldMap = { id: 'id', text: 'text' }) => {
      const options = resolveDedupOptions({ inputs: [], outDir: dir, ...extra });
      return JsonLineShortcut.create(fields, 'src', false, { options, shingleSeed: 1, keepWords: false });
    };
    expect(make({})).not.toBeNull();
    expect(make({ digits: true })).toBeNull();
    expect(make({ diacritics: true })).toBeNull();
    expect(make({}, { id: 'x', text: 'x' })).toBeNull();
  });
});
