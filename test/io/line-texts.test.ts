/**
 * jsonlLineTexts (audit excerpts without reading every record) agrees with the JSONL reader on
 * which line is which and what its text is: BOM, blank lines, CRLF, multi-byte characters cut
 * by chunk edges, nested text fields, and lines that are not records.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonlLineTexts } from '../../src/io/jsonl.js';
import { inputFor, readAll, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);

describe('jsonlLineTexts', () => {
  const lines = [
    '\ufeff{"id":"a","body":{"text":"first, after a BOM"}}',
    '',
    '   ',
    '{"id":"b","body":{"text":"héllo 😀 wörld"}}\r',
    '{"id":"c","body":{"text":"' + 'ü'.repeat(40) + '"}}',
    'not json',
    '[1,2]',
    '{"id":"d","body":{"text":7}}',
    '{"id":"e","body":{"text":"last line, no newline"}}',
  ];
  const path = join(dir, 'mixed.jsonl');
  writeFileSync(path, lines.join('\n'));
  const fields = { id: 'id', text: 'body.text' };

  for (const chunk of [1, 3, 17, 1 << 20]) {
    it(`chunks of ${chunk} bytes: the reader's line numbers and texts`, async () => {
      const read = await readAll(inputFor(path, 'mixed.jsonl', 'jsonl', { source: 'web' }), fields);
      const expected = new Map(read.rows.map((row, i) => [row, read.texts[i]]));
      expect([...expected.keys()]).toEqual([1, 4, 5, 9]);
      const all = new Set(Array.from({ length: lines.length + 2 }, (_, i) => i + 1));
      expect(jsonlLineTexts(path, all, 'body.text', chunk)).toEqual(expected);
      expect(jsonlLineTexts(path, new Set([5, 9]), 'body.text', chunk)).toEqual(new Map([[5, expected.get(5)], [9, expected.get(9)]]));
      expect(jsonlLineTexts(path, new Set(), 'body.text', chunk).size).toBe(0);
    });
  }
});
