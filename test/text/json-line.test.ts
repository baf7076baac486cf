/**
 * The kernel's JSON line reader (`TextKernel.jsonLine`) against its oracle, V8's JSON.parse on
 * the strictly decoded line: whenever the kernel reads a line, JSON.parse accepts it, gives an
 * object, and the kernel's spans name exactly the values JSON.parse gives for the keys (the last
 * of duplicates); the placed text is the parsed text, with its UTF-16 length and whether `trim`
 * leaves anything. Every line JSON.parse or the strict decoder rejects is declined. And the
 * kernel must not decline the plain lines it exists for.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JSON_KIND, JSON_TEXT_SPAN, textKernel } from '../../src/text/text-kernel.js';

const KEYS = ['id', 'text', 'source', 'q', 'é'];
const TEXT = 1;
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** Any value that is not a string or a number (true, false, null, an object, an array). */
const OTHER = Symbol('other');

type Verdict = { read: false } | { read: true; values: Map<string, unknown>; text: string | null; units: number; content: boolean };

function kernelRead(line: Uint8Array): Verdict {
  const kernel = textKernel()!;
  expect(kernel.jsonKeys(KEYS)).toBe(true);
  // Inside a larger buffer, at an offset, as the reader passes lines.
  const buffer = new Uint8Array(line.length + 7);
  buffer.set(line, 3);
  const spans = kernel.jsonLine(buffer, 3, 3 + line.length, TEXT);
  if (spans === null) return { read: false };
  const values = new Map<string, unknown>();
  KEYS.forEach((key, k) => {
    const kind = spans[3 * k];
    const raw = Buffer.from(line.subarray(spans[3 * k + 1], spans[3 * k + 2])).toString('utf8');
    if (kind === JSON_KIND.absent) return;
    if (kind === JSON_KIND.string || kind === JSON_KIND.escaped) {
      if (kind === JSON_KIND.string) expect(raw).not.toContain('\\');
      values.set(key, JSON.parse(`"${raw}"`));
    } else if (kind === JSON_KIND.integer || kind === JSON_KIND.number) {
      expect(/^-?(0|[1-9][0-9]*)$/.test(raw)).toBe(kind === JSON_KIND.integer);
      values.set(key, Number(raw));
    } else {
      values.set(key, OTHER);
    }
  });
  const textKind = spans[3 * TEXT];
  const isString = textKind === JSON_KIND.string || textKind === JSON_KIND.escaped;
  const bytes = spans[JSON_TEXT_SPAN];
  const units = spans[JSON_TEXT_SPAN + 1];
  const content = spans[JSON_TEXT_SPAN + 2] === 1;
  return { read: true, values, text: isString ? kernel.placedText(bytes) : null, units, content };
}

/** What the kernel must report for `line`, from JSON.parse; null when the line must be declined. */
function oracle(line: Uint8Array): Map<string, unknown> | null {
  let record: unknown;
  try {
    record = JSON.parse(strict.decode(line));
  } catch {
    return null;
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return null;
  const values = new Map<string, unknown>();
  for (const key of KEYS) {
    if (!Object.hasOwn(record, key)) continue;
    const value = (record as Record<string, unknown>)[key];
    values.set(key, typeof value === 'string' || typeof value === 'number' ? value : OTHER);
  }
  return values;
}

function check(line: Uint8Array): Verdict {
  const verdict = kernelRead(line);
  const expected = oracle(line);
  if (!verdict.read) return verdict;
  expect(expected, `kernel read a line JSON.parse rejects: ${Buffer.from(line).toString('latin1')}`).not.toBeNull();
  expect(verdict.values).toEqual(expected);
  const text = expected!.get('text');
  if (typeof text === 'string') {
    expect(verdict.text).toBe(text);
    expect(verdict.units).toBe(text.length);
    expect(verdict.content).toBe(text.trim().length > 0);
  } else {
    expect(verdict.text).toBeNull();
  }
  return verdict;
}

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('TextKernel.jsonLine: reads what JSON.parse reads, declines the rest', () => {
  it('reads plain lines: escapes, non-ASCII, surrogate pairs, nesting, duplicates, white space, CRLF', () => {
    const plain = [
      '{"id":"a","text":"hello world"}',
      '{"id":"a","text":"line\\none\\ttab \\"quoted\\" back\\\\slash \\/ \\b\\f\\r"}',
      '{"id":"é","text":"caf\\u00e9 \\u20ac \\ud83d\\ude00 日本語 😀","source":"s"}',
      ' \t{ "id" : "x" , "text" : "t" , "meta" : {"a":[1,2,{"b":null}],"c":"\\u0000"} } \r',
      '{"text":"first","id":"1","text":"second"}',
      '{"id":"a","text":"x","q":-12.5e-3,"source":"s"}',
      '{"id":17,"text":"numeric id","q":0}',
      '{"id":"a","text":"\\u00a0\\u3000 x"}',
      '{"id":"a","text":"   "}',
      '{"id":"a","text":"\\u2028\\u2029\\ufeff\\u00a0"}',
      '{"id":"a","text":""}',
      '{"id":"a","text":"\\u0000\\u001f\\u007f"}',
      '{"id":"a","text":["not","a","string"]}',
      '{"id":"a"}',
      '{}',
      '{"é":"key not ASCII","text":"t"}',
      '{"id":"a","text":"x","deep":[[[[[[[[[[[[[[[[[[[[{}]]]]]]]]]]]]]]]]]]]]}',
      '{"id":"a","text":"\\ufeffstarts with a BOM"}',
    ];
    for (const line of plain) expect(check(utf8(line)).read, line).toBe(true);
  });

  it('declines what JSON.parse rejects or the kernel is not sure of', () => {
    const declined = [
      '', '   ', '[]', '"string"', '17', 'null', '{', '{"id":"a",}', '{"id":"a" "text":"b"}', '{"id":01}', '{"id":1.}',
      '{"id":.5}', '{"id":1e}', '{"id":+1}', '{"id":-}', '{"id":"a"}x', '{"id":"a"}{}', '{"id":"\\x"}', '{"id":"\\u12G4"}',
      '{"id":"tab\there"}', '{"id":tru}', '{"id":nulll}', "{'id':'a'}", '{"id":"a"', '{"id":"a\\"}', '{id:"a"}',
      '{"t\\u0065xt":"escaped key could be text"}', '{"id":"a","text":"lone \\ud800 high"}', '{"id":"a","text":"lone \\udc00 low"}',
      '{"id":"a","text":"reversed \\udc00\\ud800"}', '\ufeff{"id":"a","text":"BOM before the object"}', '{"id":"a"}\u00a0',
      `{"id":"a","x":${'['.repeat(600)}${']'.repeat(600)},"text":"too deep"}`,
    ];
    for (const line of declined) expect(check(utf8(line)).read, line).toBe(false);
    // Bytes that are not UTF-8: overlong, surrogate, past U+10FFFF, truncated, stray continuation.
    for (const bad of [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xff]]) {
      const line = new Uint8Array([...utf8('{"id":"a","text":"x'), ...bad, ...utf8('y"}')]);
      expect(check(line).read, bad.join(',')).toBe(false);
    }
    // A nested key with an escape is fine; a lone surrogate outside the text too.
    expect(check(utf8('{"id":"a","text":"t","m":{"\\u0041":"\\ud800"}}')).read).toBe(true);
  });

  it('agrees with JSON.parse on generated records (seeded)', () => {
    const value = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.string({ unit: 'binary' }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null),
        fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(fc.string(), tie('value'), { maxKeys: 3 })),
    })).value;
    const key = fc.oneof(fc.constantFrom(...KEYS), fc.string({ unit: 'binary', maxLength: 4 }));
    const record = fc.array(fc.tuple(key, fc.oneof(value, fc.string({ unit: 'binary' }))), { maxLength: 6 });
    const space = fc.constantFrom('', ' ', '\t', '\r', '  \t ');
    let read = 0;
    fc.assert(fc.property(record, space, space, (members, before, after) => {
      const body = members.map(([k, v]) => `${JSON.stringify(k)}:${before}${JSON.stringify(v)}`).join(`,${after}`);
      if (check(utf8(`${before}{${body}}${after}`)).read) read++;
    }), { seed: 9, numRuns: 3000 });
    expect(read).toBeGreaterThan(1500); // most generated lines are plain
  });

  it('declines every mutation JSON.parse rejects (seeded byte edits of valid lines)', () => {
    const base = utf8('{"id":"doc-1","text":"a b\\nc \\u00e9 😀 \\\\ \\"q\\"","source":"web","q":[1,2.5e3,{"x":null}],"ok":true}');
    fc.assert(fc.property(fc.integer({ min: 0, max: base.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete'), (at, byte, edit) => {
      const bytes = [...base];
      if (edit === 'set') bytes[at] = byte;
      else if (edit === 'insert') bytes.splice(at, 0, byte);
      else bytes.splice(at, 1);
      check(new Uint8Array(bytes));
    }), { seed: 4, numRuns: 5000 });
  });

  it('refuses key sets that do not fit', () => {
    const kernel = textKernel()!;
    expect(kernel.jsonKeys(Array.from({ length: 9 }, (_, i) => `k${i}`))).toBe(false);
    expect(kernel.jsonKeys(['x'.repeat(1025)])).toBe(false);
    expect(kernel.jsonKeys(KEYS)).toBe(true);
  });
});
