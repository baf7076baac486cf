/**
 * Work units (src/exec/units.ts): parts hold whole lines (JSONL) or whole row groups
 * (Parquet), cover the file exactly, and reading every part — with the first line numbers the
 * map phase derives from newline counts — yields exactly what one read of the whole file does,
 * problems and their line numbers included.
 */
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { assignUnits, countNewlines, planUnits, unitPart, type WorkUnit } from '../../src/exec/units.js';
import { mulberry32 } from '../../fixtures/random.js';
import { inputFor, readAll, tempDir, type ReadResult } from '../io/helpers.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);
const fields = { id: 'id', text: 'text', source: 'source' };

/** Seeded JSONL with records of very different lengths, blank lines and bad lines. */
function jsonlCorpus(seed: number, lines: number, trailingNewline: boolean): string {
  const random = mulberry32(seed);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const roll = random();
    if (roll < 0.05) out.push('   ');
    else if (roll < 0.08) out.push('{"id": broken');
    else if (roll < 0.1) out.push(JSON.stringify({ id: `d${i}`, source: 'web' })); // missing text
    else out.push(JSON.stringify({ id: `d${i}`, source: 'web', text: 'word '.repeat(1 + Math.floor(random() * (random() < 0.1 ? 400 : 20))) }));
  }
  return out.join('\n') + (trailingNewline ? '\n' : '');
}

/** Reads every unit of the plan the way the map phase does; concatenates the results. */
async function readByUnits(path: string, units: WorkUnit[], format: 'jsonl' | 'parquet'): Promise<ReadResult> {
  const all: ReadResult = { batches: [], ids: [], sources: [], texts: [], rows: [], scores: {}, problems: [], blankLines: 0 };
  let firstLine = 1;
  for (const unit of units) {
    const part = unitPart(unit, firstLine);
    const got = await readAll(inputFor(path, 'corpus', format), fields, { batchSize: 7, ...(part ? { part } : {}) });
    for (const key of ['ids', 'sources', 'texts', 'rows', 'problems'] as const) (all[key] as unknown[]).push(...(got[key] as unknown[]));
    all.blankLines += got.blankLines;
    if (unit.range?.kind === 'bytes') firstLine += await countNewlines(path, unit.range.start, unit.range.end);
  }
  return all;
}

function comparable(r: ReadResult) {
  return { ids: r.ids, texts: r.texts, rows: r.rows, problems: r.problems, blankLines: r.blankLines };
}

describe('JSONL parts', () => {
  for (const [name, lines, trailing, unitBytes] of [
    ['many parts, trailing newline', 400, true, 2000],
    ['many parts, no trailing newline', 400, false, 1500],
    ['one byte per unit (every line its own part)', 60, true, 1],
    ['a unit larger than the file', 50, true, 1e9],
  ] as const) {
    it(name, async () => {
      const path = join(dir, `${name.replace(/\W+/g, '-')}.jsonl`);
      const text = jsonlCorpus(lines, lines, trailing);
      writeFileSync(path, text);
      const units = await planUnits([inputFor(path, 'corpus', 'jsonl')], unitBytes);
      // Parts tile the file and each starts right after a newline.
      let at = 0;
      for (const unit of units) {
        if (units.length === 1) break;
        expect(unit.range?.kind).toBe('bytes');
        const range = unit.range as { start: number; end: number };
        expect(range.start).toBe(at);
        expect(range.end).toBeGreaterThan(range.start);
        if (range.start > 0) expect(Buffer.from(text)[range.start - 1]).toBe(0x0a);
        at = range.end;
      }
      if (units.length > 1) expect(at).toBe(Buffer.byteLength(text));
      if (unitBytes < Buffer.byteLength(text)) expect(units.length).toBeGreaterThan(1);
      const whole = await readAll(inputFor(path, 'corpus', 'jsonl'), fields, { batchSize: 7 });
      expect(whole.problems.length).toBeGreaterThan(0);
      expect(comparable(await readByUnits(path, units, 'jsonl'))).toEqual(comparable(whole));
    });
  }

  it('compressed JSONL is one unit whatever its size', async () => {
    const path = join(dir, 'big.jsonl.gz');
    writeFileSync(path, gzipSync(jsonlCorpus(5, 300, true)));
    const units = await planUnits([inputFor(path, 'corpus', 'jsonl')], 100);
    expect(units).toEqual([{ index: 0, input: 0, part: 0, parts: 1, bytes: expect.any(Number) }]);
  });

  it('counts newlines like String.split', async () => {
    const path = join(dir, 'count.jsonl');
    const text = jsonlCorpus(9, 500, false);
    writeFileSync(path, text);
    const bytes = Buffer.from(text);
    for (const [start, end] of [[0, bytes.length], [0, 0], [10, 4000], [bytes.length - 3, bytes.length]]) {
      expect(await countNewlines(path, start, end)).toBe(bytes.subarray(start, end).toString('latin1').split('\n').length - 1);
    }
  });
});

describe('Parquet parts', () => {
  it('split between row groups and read back like the whole file', async () => {
    const rows = 1000;
    const random = mulberry32(4);
    const ids = Array.from({ length: rows }, (_, i) => `p${i}`);
    const texts = Array.from({ length: rows }, () => 'token '.repeat(1 + Math.floor(random() * 30)));
    const path = join(dir, 'groups.parquet');
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: 'id', data: ids, type: 'STRING' },
        { name: 'source', data: ids.map(() => 'code'), type: 'STRING' },
        { name: 'text', data: texts, type: 'STRING' },
      ],
      rowGroupSize: 100,
    });
    writeFileSync(path, new Uint8Array(buffer));
    const units = await planUnits([inputFor(path, 'corpus', 'parquet')], 1000);
    expect(units.length).toBeGreaterThan(2);
    let next = 0;
    for (const unit of units) {
      expect(unit.range).toMatchObject({ kind: 'rows', start: next });
      next = (unit.range as { end: number }).end;
      expect(next % 100 === 0 || next === rows).toBe(true);
    }
    expect(next).toBe(rows);
    const whole = await readAll(inputFor(path, 'corpus', 'parquet'), fields, { batchSize: 7 });
    expect(comparable(await readByUnits(path, units, 'parquet'))).toEqual(comparable(whole));
    expect(whole.ids).toEqual(ids);
  });
});

describe('assignUnits', () => {
  const unit = (index: number, bytes: number) => ({ index, input: index, part: 0, parts: 1, bytes });
  it('balances tasks by bytes, largest first, ties to the lower task, the same every time', () => {
    const units = [unit(0, 10), unit(1, 70), unit(2, 20), unit(3, 30), unit(4, 40), unit(5, 30)];
    // By hand: u1 (70) → t0; u4 (40) → t1; u3 (30) → t2; u5 (30) → t2 (30 < 40); u2 (20) → t1
    // (40 < 60); u0 (10) → t1 (60 = 60: the lower task). Loads 70, 70, 60.
    const owner = Array.from(assignUnits(units, 3));
    const load = [0, 0, 0];
    units.forEach((u, i) => (load[owner[i]] += u.bytes));
    expect(owner).toEqual([1, 0, 1, 2, 1, 2]);
    expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(10);
    expect(Array.from(assignUnits(units, 3))).toEqual(owner);
    expect(Array.from(assignUnits(units, 1))).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
