/**
 * BatchBuilder closes a batch once its texts hold `batchTextUnits` UTF-16 units (default
 * BATCH_TEXT_UNITS), as well as at `batchSize` records. Expected batch boundaries come from a
 * small model of that rule written here, over text lengths counted by `String.length`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BATCH_TEXT_UNITS, BatchBuilder, type BatchContext } from '../../src/io/batch.js';
import { readRecords } from '../../src/io/index.js';
import type { RecordBatch } from '../../src/io/index.js';
import { mulberry32 } from '../../fixtures/random.js';
import { inputFor, tempDir } from './helpers.js';

const temp = tempDir();
afterAll(() => temp.cleanup());

function builder(extra: Partial<BatchContext> = {}): BatchBuilder {
  return new BatchBuilder({
    file: 'in.jsonl',
    rowKind: 'line',
    fields: { id: 'id', text: 'text' },
    inputSource: 'src',
    batchSize: 1_000_000,
    allowNumericIds: false,
    ...extra,
  });
}

let position = 0;
function add(b: BatchBuilder, text: unknown, ...rest: [id?: unknown, scores?: unknown[]]): void {
  position++;
  const id = rest.length > 0 ? rest[0] : `d${position}`;
  b.addRecord(position, id, undefined, text, rest[1] ?? []);
}

describe('BatchBuilder text-unit cap', () => {
  it('the default cap is 2 Mi UTF-16 units', () => {
    expect(BATCH_TEXT_UNITS).toBe(2 * 1024 * 1024);
  });

  it('texts of 4 and 4 units are not full at a cap of 10; a third of 4 makes it full', () => {
    const b = builder({ batchTextUnits: 10 });
    expect(b.full).toBe(false);
    add(b, 'abcd');
    expect(b.full).toBe(false);
    add(b, 'efgh');
    expect(b.full).toBe(false);
    add(b, 'ijkl');
    expect(b.full).toBe(true);
    const batch = b.take(0)!;
    expect(batch.length).toBe(3);
    expect(batch.texts).toEqual(['abcd', 'efgh', 'ijkl']);
  });

  it('full exactly at the cap, not one unit before', () => {
    const b = builder({ batchTextUnits: 10 });
    add(b, 'abcd');
    add(b, 'efghi');
    expect(b.full).toBe(false); // 9 units
    add(b, 'j');
    expect(b.full).toBe(true); // 10 units
  });

  it('counts UTF-16 units, not bytes or code points', () => {
    // '🙂' is 2 UTF-16 units (4 UTF-8 bytes, 1 code point); 'é' is 1 unit (2 bytes).
    const b = builder({ batchTextUnits: 10 });
    add(b, '🙂🙂🙂🙂'); // 8 units, 16 bytes, 4 code points
    expect(b.full).toBe(false);
    add(b, 'é'); // 9 units
    expect(b.full).toBe(false);
    add(b, '🙂'); // 11 units
    expect(b.full).toBe(true);

    const bytes = builder({ batchTextUnits: 10 });
    add(bytes, 'ééééé'); // 5 units but 10 bytes
    expect(bytes.full).toBe(false);
  });

  it('after take() the count restarts from zero', () => {
    const b = builder({ batchTextUnits: 10 });
    for (const t of ['abcd', 'efgh', 'ijkl']) add(b, t);
    expect(b.full).toBe(true);
    expect(b.take(0)!.length).toBe(3);
    expect(b.full).toBe(false);
    add(b, 'abcd');
    add(b, 'efgh');
    expect(b.full).toBe(false); // 8, not 20
    add(b, 'ij');
    expect(b.full).toBe(true);
    expect(b.take(0)!.texts).toEqual(['abcd', 'efgh', 'ij']);
    expect(b.take(0)).toBeUndefined();
    expect(b.full).toBe(false);
  });

  it('the record-count limit still applies when texts are short', () => {
    const b = builder({ batchSize: 3, batchTextUnits: 1000 });
    add(b, 'a');
    add(b, 'b');
    expect(b.full).toBe(false);
    add(b, 'c');
    expect(b.full).toBe(true);
    expect(b.take(0)!.length).toBe(3);
    expect(b.full).toBe(false);
  });

  it('problems (bad records) do not count toward text units', () => {
    const b = builder({ batchTextUnits: 10, fields: { id: 'id', text: 'text', quality: ['q'] } });
    const long = 'x'.repeat(50);
    add(b, ' '.repeat(50), 'blank', [1]); // empty-text: only whitespace
    add(b, long, '', [1]); // empty id
    add(b, long, null, [1]); // null id
    add(b, long, 'bad-score', [Number.NaN]); // text fine, score not
    add(b, long, 'string-score', ['1']); // text fine, score of the wrong type
    add(b, `${long}\uD800`, 'lone-surrogate', [1]); // unpaired surrogate
    add(b, 17, 'number-text', [1]); // text of the wrong type
    expect(b.full).toBe(false);
    add(b, 'abcdefghi', 'ok', [0.5]); // 9 units
    expect(b.full).toBe(false);
    add(b, 'j', 'ok2', [0.25]);
    expect(b.full).toBe(true);
    const batch = b.take(0)!;
    expect(batch.ids).toEqual(['ok', 'ok2']);
    expect(batch.problems.map((p) => p.reason)).toEqual([
      'empty-text', 'empty-id', 'missing-field', 'nan-score', 'wrong-type', 'invalid-utf8', 'wrong-type',
    ]);
    expect([...batch.scores.q]).toEqual([0.5, 0.25]);
  });

  it('the default cap applies when batchTextUnits is not set', () => {
    const b = builder();
    add(b, 'a'.repeat(BATCH_TEXT_UNITS - 1));
    expect(b.full).toBe(false);
    add(b, 'b');
    expect(b.full).toBe(true);
  });
});

describe('readRecords closes batches at BATCH_TEXT_UNITS', () => {
  /** Batch boundaries by the rule: close once the texts hold >= cap units or batchSize records. */
  function expectedSizes(lengths: number[], batchSize: number, cap: number): number[] {
    const sizes: number[] = [];
    let count = 0;
    let units = 0;
    for (const length of lengths) {
      count++;
      units += length;
      if (count >= batchSize || units >= cap) {
        sizes.push(count);
        count = 0;
        units = 0;
      }
    }
    if (count > 0) sizes.push(count);
    return sizes;
  }

  async function readBatches(path: string, batchSize?: number): Promise<RecordBatch[]> {
    const batches: RecordBatch[] = [];
    const options = batchSize === undefined ? {} : { batchSize };
    for await (const batch of readRecords(inputFor(path, 'big.jsonl', 'jsonl', { source: 'web' }), { id: 'id', text: 'text' }, options)) batches.push(batch);
    return batches;
  }

  it('5 records of BATCH_TEXT_UNITS/2 + 1 units: batches of 2, 2, 1', async () => {
    const half = BATCH_TEXT_UNITS / 2 + 1;
    const texts = ['a', 'b', 'c', 'd', 'e'].map((c) => c.repeat(half));
    const path = join(temp.dir, 'halves.jsonl');
    writeFileSync(path, texts.map((text, i) => JSON.stringify({ id: `doc-${i}`, text })).join('\n') + '\n');
    const batches = await readBatches(path);
    expect(batches.map((b) => b.length)).toEqual([2, 2, 1]);
    expect(batches.flatMap((b) => b.ids)).toEqual(['doc-0', 'doc-1', 'doc-2', 'doc-3', 'doc-4']);
    expect(batches.flatMap((b) => b.texts)).toEqual(texts);
    expect(batches.flatMap((b) => [...b.rows])).toEqual([1, 2, 3, 4, 5]);
  });

  it('seeded texts of varied length and script: each batch closes at its first record past the cap', async () => {
    const random = mulberry32(99);
    const pieces = ['a', 'word ', 'é', '日本', '🙂', ' ', 'z'];
    const texts: string[] = [];
    for (let i = 0; i < 24; i++) {
      const target = 20_000 + Math.floor(random() * 600_000);
      let text = '';
      while (text.length < target) text += pieces[Math.floor(random() * pieces.length)].repeat(1 + Math.floor(random() * 200));
      texts.push(text);
    }
    const path = join(temp.dir, 'varied.jsonl');
    writeFileSync(path, texts.map((text, i) => JSON.stringify({ id: `v${i}`, text })).join('\n') + '\n');
    const lengths = texts.map((t) => t.length);
    expect(lengths.reduce((a, b) => a + b, 0)).toBeGreaterThan(2 * BATCH_TEXT_UNITS);

    const batches = await readBatches(path);
    expect(batches.map((b) => b.length)).toEqual(expectedSizes(lengths, 8192, BATCH_TEXT_UNITS));
    expect(batches.length).toBeGreaterThan(2);
    for (const batch of batches.slice(0, -1)) {
      const units = batch.texts.reduce((n, t) => n + t.length, 0);
      const last = batch.texts[batch.texts.length - 1].length;
      expect(units).toBeGreaterThanOrEqual(BATCH_TEXT_UNITS);
      expect(units).toBeLessThan(BATCH_TEXT_UNITS + last);
    }
    expect(batches.flatMap((b) => b.ids)).toEqual(texts.map((_, i) => `v${i}`));
    expect(batches.flatMap((b) => b.texts)).toEqual(texts);
    expect(batches.flatMap((b) => b.sources)).toEqual(texts.map(() => 'web'));

    // A small batchSize still closes batches at its record count when that comes first.
    const small = await readBatches(path, 3);
    expect(small.map((b) => b.length)).toEqual(expectedSizes(lengths, 3, BATCH_TEXT_UNITS));
    expect(small.flatMap((b) => b.ids)).toEqual(texts.map((_, i) => `v${i}`));
  });
});
