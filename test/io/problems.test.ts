/**
 * Bad records become exactly one located problem each (SPEC §7: file, line/row and field),
 * never an exception; valid records around them are kept, in order.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Float64, Int32, makeData, makeVector, Struct, Field, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, describe, expect, it } from 'vitest';
import type { FieldMap, ProblemReason } from '../../src/io/index.js';
import { inputFor, readAll, tempDir } from './helpers.js';

const temp = tempDir();
afterAll(() => temp.cleanup());

interface ProblemCase {
  name: string;
  /** Bytes of the line (without its newline); a string is UTF-8 encoded. */
  line: string | Uint8Array;
  /** Expected problem, or null when the line is a valid record, or 'blank'. */
  expected: { reason: ProblemReason; field: string; detail: string } | null | 'blank';
}

const NAME = 'data/bad.jsonl';
const TEXT_HINT = '(set fields.text in the config if the text is under another name)';

const JSONL_CASES: ProblemCase[] = [
  { name: 'valid record', line: '{"id":"a","source":"web","text":"hello","quality":0.5}', expected: null },
  { name: 'truncated JSON', line: '{"id":"b","text":', expected: { reason: 'malformed-json', field: '(line)', detail: 'line is not valid JSON (' } },
  { name: 'array instead of object', line: '[1,2]', expected: { reason: 'not-an-object', field: '(line)', detail: "line is JSON an array, expected an object with the record's fields" } },
  { name: 'null line', line: 'null', expected: { reason: 'not-an-object', field: '(line)', detail: "line is JSON null, expected an object with the record's fields" } },
  { name: 'missing text', line: '{"id":"c","source":"web","quality":1}', expected: { reason: 'missing-field', field: 'text', detail: `field "text" is missing ${TEXT_HINT}` } },
  { name: 'null text', line: '{"id":"c2","source":"web","text":null,"quality":1}', expected: { reason: 'missing-field', field: 'text', detail: `field "text" is null ${TEXT_HINT}` } },
  { name: 'missing id', line: '{"source":"web","text":"x","quality":1}', expected: { reason: 'missing-field', field: 'id', detail: 'field "id" is missing (set fields.id in the config if the id is under another name)' } },
  { name: 'numeric id', line: '{"id":5,"source":"web","text":"x","quality":1}', expected: { reason: 'wrong-type', field: 'id', detail: 'field "id" is a number (5), expected a string (ids must be strings: convert the integer ids, e.g. jq -c \'.id |= tostring\' for JSON Lines)' } },
  { name: 'empty id', line: '{"id":"","source":"web","text":"x","quality":1}', expected: { reason: 'empty-id', field: 'id', detail: 'field "id" is empty' } },
  { name: 'whitespace-only text', line: '{"id":"d","source":"web","text":"  \\n\\t ","quality":1}', expected: { reason: 'empty-text', field: 'text', detail: 'field "text" is empty or only whitespace' } },
  { name: 'numeric text', line: '{"id":"e","source":"web","text":123,"quality":1}', expected: { reason: 'wrong-type', field: 'text', detail: 'field "text" is a number (123), expected a string' } },
  { name: 'score as string', line: '{"id":"f","source":"web","text":"ok","quality":"0.5"}', expected: { reason: 'wrong-type', field: 'quality', detail: 'field "quality" is a string ("0.5"), expected a number (numbers given as strings are not converted)' } },
  { name: 'infinite score', line: '{"id":"g","source":"web","text":"ok","quality":1e999}', expected: { reason: 'nan-score', field: 'quality', detail: 'field "quality" is Infinity, expected a finite number' } },
  { name: 'missing score', line: '{"id":"h","source":"web","text":"ok"}', expected: { reason: 'missing-field', field: 'quality', detail: 'field "quality" is missing (every record needs the quality scores listed in fields.quality)' } },
  { name: 'invalid UTF-8 bytes', line: Buffer.concat([Buffer.from('{"id":"i","source":"web","text":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), expected: { reason: 'invalid-utf8', field: '(line)', detail: 'line is not valid UTF-8 (convert the file to UTF-8)' } },
  { name: 'blank line', line: '   ', expected: 'blank' },
  { name: 'unpaired surrogate escape', line: '{"id":"j","source":"web","text":"a\\ud800b","quality":1}', expected: { reason: 'invalid-utf8', field: 'text', detail: 'field "text" contains an unpaired UTF-16 surrogate (a lone \\uD800-\\uDFFF escape), which is not valid Unicode' } },
  { name: 'numeric source', line: '{"id":"k","source":7,"text":"x","quality":1}', expected: { reason: 'wrong-type', field: 'source', detail: 'field "source" is a number (7), expected a string' } },
  { name: 'no source anywhere', line: '{"id":"l","text":"x","quality":1}', expected: { reason: 'missing-field', field: 'source', detail: 'record has no source: field "source" is missing and the input sets none (add "source" to the input, or capture it with {source} in its path)' } },
  { name: 'valid multibyte record', line: '{"id":"m","source":"code","text":"日本語 🙂","quality":-2}', expected: null },
];

const FIELDS: FieldMap = { id: 'id', text: 'text', source: 'source', quality: ['quality'] };

function writeLines(file: string, lines: (string | Uint8Array)[]): string {
  const path = join(temp.dir, file);
  writeFileSync(path, Buffer.concat(lines.flatMap((line) => [typeof line === 'string' ? Buffer.from(line) : line, Buffer.from('\n')])));
  return path;
}

describe('JSONL: one located problem per bad line', async () => {
  const path = writeLines('bad.jsonl', JSONL_CASES.map((c) => c.line));
  const result = await readAll(inputFor(path, NAME, 'jsonl'), FIELDS);

  it.each(JSONL_CASES.map((c, i) => ({ ...c, lineNumber: i + 1 })))('line $lineNumber: $name', ({ expected, lineNumber }) => {
    const problems = result.problems.filter((p) => p.line === lineNumber);
    if (expected === null || expected === 'blank') {
      expect(problems).toEqual([]);
      expect(result.rows.includes(lineNumber)).toBe(expected === null);
      return;
    }
    expect(problems).toHaveLength(1);
    const [problem] = problems;
    expect(problem).toMatchObject({ file: NAME, line: lineNumber, field: expected.field, reason: expected.reason });
    expect(problem.row).toBeUndefined();
    expect(problem.message.startsWith(`tokenmix: ${NAME}:${lineNumber}: ${expected.detail}`)).toBe(true);
    expect(problem.message).not.toContain('\n');
    expect(result.rows.includes(lineNumber)).toBe(false);
  });

  it('accounts for every line, in order', () => {
    const bad = JSONL_CASES.filter((c) => c.expected !== null && c.expected !== 'blank').length;
    expect(result.problems).toHaveLength(bad);
    expect(result.blankLines).toBe(1);
    expect(result.ids).toEqual(['a', 'm']);
    expect(result.rows).toEqual([1, JSONL_CASES.length]);
    expect(result.scores.quality).toEqual([0.5, -2]);
    const lines = result.problems.map((p) => p.line!);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });
});

describe('JSONL: options and field mapping', () => {
  it('allowNumericIds turns integer ids into decimal strings', async () => {
    const path = writeLines('numeric.jsonl', ['{"id":17,"text":"x"}', '{"id":1.5,"text":"y"}']);
    const result = await readAll(inputFor(path, 'numeric.jsonl', 'jsonl', { source: 'web' }), { id: 'id', text: 'text' }, { allowNumericIds: true });
    expect(result.ids).toEqual(['17']);
    expect(result.problems.map((p) => [p.line, p.reason])).toEqual([[2, 'wrong-type']]);
  });

  it('dotted names walk nested objects; a literal dotted key wins', async () => {
    const path = writeLines('nested.jsonl', [
      '{"meta":{"id":"n1","src":"web"},"body":{"text":"one"},"scores.q":0.25}',
      '{"meta":{"id":"n2"},"body":{"text":"two"},"scores.q":0.75}',
      '{"meta":{"id":"n3"},"body":"flat","scores.q":1}',
    ]);
    const fields: FieldMap = { id: 'meta.id', text: 'body.text', source: 'meta.src', quality: ['scores.q'] };
    const result = await readAll(inputFor(path, 'nested.jsonl', 'jsonl', { source: 'fallback' }), fields);
    expect(result.ids).toEqual(['n1', 'n2']);
    expect(result.sources).toEqual(['web', 'fallback']);
    expect(result.texts).toEqual(['one', 'two']);
    expect(result.scores['scores.q']).toEqual([0.25, 0.75]);
    expect(result.problems.map((p) => [p.line, p.field, p.reason])).toEqual([[3, 'body.text', 'missing-field']]);
  });

  it('the input source applies when fields.source is not configured', async () => {
    const path = writeLines('nosource.jsonl', ['{"id":"a","source":"ignored","text":"x"}']);
    const result = await readAll(inputFor(path, 'nosource.jsonl', 'jsonl', { source: 'math' }), { id: 'id', text: 'text' });
    expect(result.sources).toEqual(['math']);
  });

  it('a BOM before the first record, CRLF endings and no final newline are accepted', async () => {
    const path = join(temp.dir, 'crlf.jsonl');
    writeFileSync(path, '\ufeff{"id":"a","text":"x"}\r\n\r\n{"id":"b","text":"y"}');
    const result = await readAll(inputFor(path, 'crlf.jsonl', 'jsonl', { source: 's' }), { id: 'id', text: 'text' });
    expect(result.ids).toEqual(['a', 'b']);
    expect(result.rows).toEqual([1, 3]);
    expect(result.blankLines).toBe(1);
  });

  it('lines longer than maxLineBytes are reported and skipped, whatever the chunking', async () => {
    const long = `{"id":"long","text":"${'é'.repeat(300)}"}`;
    const path = writeLines('long.jsonl', ['{"id":"a","text":"x"}', long, '{"id":"b","text":"y"}', long]);
    for (const chunkBytes of [7, 64, 4096]) {
      const result = await readAll(inputFor(path, 'long.jsonl', 'jsonl', { source: 's' }), { id: 'id', text: 'text' }, { maxLineBytes: 200, chunkBytes });
      expect(result.ids).toEqual(['a', 'b']);
      expect(result.problems.map((p) => [p.line, p.reason])).toEqual([[2, 'line-too-long'], [4, 'line-too-long']]);
      expect(result.problems[0].message).toBe('tokenmix: long.jsonl:2: line is longer than 200 bytes and was skipped (raise maxLineBytes if such records are expected)');
    }
  });

  it('a file of only bad records still yields bounded batches of problems', async () => {
    const path = writeLines('allbad.jsonl', Array.from({ length: 25 }, () => 'nope'));
    const result = await readAll(inputFor(path, 'allbad.jsonl', 'jsonl', { source: 's' }), { id: 'id', text: 'text' }, { batchSize: 10 });
    expect(result.batches.map((b) => b.problems.length)).toEqual([10, 10, 5]);
    expect(result.problems.map((p) => p.line)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });
});

describe('Parquet: problems carry 0-based rows', () => {
  const path = join(temp.dir, 'bad.parquet');
  const bytes = (s: string) => new TextEncoder().encode(s);
  const buffer = parquetWriteBuffer({
    statistics: false,
    schema: [
      { name: 'root', num_children: 3 },
      { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'quality', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
    ],
    columnData: [
      { name: 'id', data: ['p0', null, 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'] },
      { name: 'text', data: [bytes('ok'), bytes('x'), null, bytes(' \n '), bytes('ok'), new Uint8Array([0x61, 0xc3]), bytes('ok'), bytes('fine')] },
      { name: 'quality', data: [0.5, 1, 1, 1, NaN, 1, null, 0.25] },
    ],
  });
  writeFileSync(path, new Uint8Array(buffer));
  const cases = [
    { row: 1, field: 'id', reason: 'missing-field', detail: 'field "id" is null (set fields.id in the config if the id is under another name)' },
    { row: 2, field: 'text', reason: 'missing-field', detail: `field "text" is null ${TEXT_HINT}` },
    { row: 3, field: 'text', reason: 'empty-text', detail: 'field "text" is empty or only whitespace' },
    { row: 4, field: 'quality', reason: 'nan-score', detail: 'field "quality" is NaN, expected a finite number' },
    { row: 5, field: 'text', reason: 'invalid-utf8', detail: 'field "text" is not valid UTF-8' },
    { row: 6, field: 'quality', reason: 'missing-field', detail: 'field "quality" is null (every record needs the quality scores listed in fields.quality)' },
  ];

  it('reports each bad row once with its row number and field', async () => {
    const result = await readAll(inputFor(path, 'shards/bad.parquet', 'parquet', { source: 'web' }), { id: 'id', text: 'text', quality: ['quality'] });
    expect(result.ids).toEqual(['p0', 'p7']);
    expect(result.rows).toEqual([0, 7]);
    expect(result.problems.map(({ row, field, reason, message, line, file }) => ({ row, field, reason, message, line, file }))).toEqual(
      cases.map(({ row, field, reason, detail }) => ({ row, field, reason, message: `tokenmix: shards/bad.parquet row ${row}: ${detail}`, line: undefined, file: 'shards/bad.parquet' })),
    );
  });

  it('integer id columns need allowNumericIds', async () => {
    const intPath = join(temp.dir, 'intid.parquet');
    writeFileSync(intPath, new Uint8Array(parquetWriteBuffer({
      columnData: [{ name: 'id', data: [10n, 11n], type: 'INT64' }, { name: 'text', data: ['a', 'b'], type: 'STRING' }],
    })));
    const input = inputFor(intPath, 'intid.parquet', 'parquet', { source: 'web' });
    const strict = await readAll(input, { id: 'id', text: 'text' });
    expect(strict.problems.map((p) => [p.row, p.reason])).toEqual([[0, 'wrong-type'], [1, 'wrong-type']]);
    const lenient = await readAll(input, { id: 'id', text: 'text' }, { allowNumericIds: true });
    expect(lenient.ids).toEqual(['10', '11']);
  });
});

describe('Arrow: problems carry 0-based rows across record batches', () => {
  it('reports nulls, NaN, invalid UTF-8 and wrong types; reads struct children', async () => {
    // Text column with raw bytes: "ok", invalid (0xff), null, "  ", "fine".
    const pieces = [Buffer.from('ok'), Buffer.from([0xff]), Buffer.alloc(0), Buffer.from('  '), Buffer.from('fine')];
    const valueOffsets = new Int32Array(pieces.length + 1);
    pieces.forEach((p, i) => { valueOffsets[i + 1] = valueOffsets[i] + p.length; });
    const text = makeVector(makeData({
      type: new Utf8(), length: 5, nullCount: 1, nullBitmap: Uint8Array.of(0b11011), valueOffsets, data: Buffer.concat(pieces),
    }));
    const meta = makeVector(makeData({
      type: new Struct([new Field('score', new Float64(), true)]), length: 5, nullCount: 0,
      children: [vectorFromArray([0.5, 1, 1, 1, NaN], new Float64()).data[0]],
    }));
    const table = new Table({
      id: vectorFromArray(['r0', 'r1', 'r2', 'r3', 'r4'], new Utf8()),
      source: vectorFromArray([1, 2, 3, 4, 5], new Int32()),
      text,
      meta,
    });
    const path = join(temp.dir, 'bad.arrow');
    writeFileSync(path, tableToIPC(table, 'file'));
    const input = inputFor(path, 'bad.arrow', 'arrow', { source: 'web' });
    const result = await readAll(input, { id: 'id', text: 'text', quality: ['meta.score'] });
    expect(result.ids).toEqual(['r0']);
    expect(result.scores['meta.score']).toEqual([0.5]);
    expect(result.problems.map((p) => p.message)).toEqual([
      'tokenmix: bad.arrow row 1: field "text" is not valid UTF-8',
      `tokenmix: bad.arrow row 2: field "text" is null ${TEXT_HINT}`,
      'tokenmix: bad.arrow row 3: field "text" is empty or only whitespace',
      'tokenmix: bad.arrow row 4: field "meta.score" is NaN, expected a finite number',
    ]);
    // With the source column mapped, its integers are the wrong type.
    const typed = await readAll(input, { id: 'id', text: 'text', source: 'source' });
    expect(typed.problems[0]).toMatchObject({ row: 0, field: 'source', reason: 'wrong-type' });
  });
});
