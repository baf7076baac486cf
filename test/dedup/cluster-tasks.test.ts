import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unitDocLines, type DocLine } from '../../src/dedup/cluster-tasks.js';
import { tempDir } from '../pipeline/helpers.js';

const { dir, cleanup } = tempDir('tokenmix-doc-lines-');
afterAll(cleanup);

describe('unitDocLines reads docs.jsonl in chunks', () => {
  // Ids with multi-byte UTF-8 (split across chunk edges by the small chunk sizes), a blank line, no final newline.
  const records: DocLine[] = Array.from({ length: 40 }, (_, i) => [i + 1, `doc-${i}-${'é😀'.repeat(i % 4)}`, i % 2 ? 'web' : 'code', i * 3, i % 3 ? null : i / 2, `h${i}`]);
  const path = join(dir, 'docs.jsonl');
  const lines = records.map((r) => JSON.stringify(r));
  writeFileSync(path, `${lines.slice(0, 20).join('\n')}\n\n${lines.slice(20).join('\n')}`);
  for (const chunk of [1, 2, 7, 64, 1 << 20]) {
    it(`chunks of ${chunk} bytes: every record, in order`, () => {
      expect([...unitDocLines(path, chunk)]).toEqual(records);
    });
  }
  it('an empty file has no records', () => {
    writeFileSync(join(dir, 'empty.jsonl'), '');
    expect([...unitDocLines(join(dir, 'empty.jsonl'), 3)]).toEqual([]);
  });
});
