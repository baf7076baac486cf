import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonLines } from '../../src/work/json-lines.js';
import { tempDir } from '../pipeline/helpers.js';

const { dir, cleanup } = tempDir('tokenmix-json-lines-');
afterAll(cleanup);

describe('jsonLines reads intermediate JSON lines in chunks', () => {
  // Ids with multi-byte UTF-8 (split across chunk edges by the small chunk sizes), a blank line, no final newline.
  const records: [number, string, string, number, number | null, string][] = Array.from({ length: 40 }, (_, i) => [i + 1, `doc-${i}-${'é😀'.repeat(i % 4)}`, i % 2 ? 'web' : 'code', i * 3, i % 3 ? null : i / 2, `h${i}`]);
  const path = join(dir, 'docs.jsonl');
  const lines = records.map((r) => JSON.stringify(r));
  writeFileSync(path, `${lines.slice(0, 20).join('\n')}\n\n${lines.slice(20).join('\n')}`);
  for (const chunk of [1, 2, 7, 64, 1 << 20]) {
    it(`chunks of ${chunk} bytes: every record, in order`, () => {
      expect([...jsonLines(path, chunk)]).toEqual(records);
    });
  }
  it('an empty file has no records', () => {
    writeFileSync(join(dir, 'empty.jsonl'), '');
    expect([...jsonLines(join(dir, 'empty.jsonl'), 3)]).toEqual([]);
  });
});
