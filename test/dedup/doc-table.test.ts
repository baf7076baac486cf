import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { blockId, DocTableWriter, readDocTable } from '../../src/dedup/doc-table.js';

const dir = mkdtempSync(join(tmpdir(), 'tokenmix-doc-table-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Doc {
  row: number;
  id: string;
  source: string;
  tokens: number;
  score: number | null;
  hash: Uint8Array;
}

function write(path: string, blocks: Doc[][]): void {
  const parts: Uint8Array[] = [];
  const writer = new DocTableWriter((bytes) => parts.push(bytes.slice()));
  for (const docs of blocks) {
    const hashes = new Uint8Array(16 * docs.length);
    docs.forEach((d, i) => hashes.set(d.hash, 16 * i));
    writer.add(docs.map((d) => d.row), docs.map((d) => d.id), docs.map((d) => d.source), docs.map((d) => d.tokens), docs.map((d) => d.score), hashes);
  }
  writeFileSync(path, Buffer.concat(parts));
}

function read(path: string): Doc[] {
  const docs: Doc[] = [];
  for (const block of readDocTable(path)) {
    for (let i = 0; i < block.count; i++) {
      const score = block.scores[i];
      docs.push({
        row: block.rows[i],
        id: blockId(block, i),
        source: block.sources[block.sourceIndex[i]],
        tokens: block.tokens[i],
        score: Number.isNaN(score) ? null : score,
        hash: block.hashes.slice(16 * i, 16 * i + 16),
      });
    }
  }
  return docs;
}

describe('document table (docs.bin)', () => {
  it('gives back every column of every record, over blocks of 0, 1 and many records', () => {
    const r = rng(5);
    const ids = ['a', '', 'ünïcödé', '中文', 'emoji \u{1f600}', 'lone \ud800 surrogate', 'x'.repeat(300), '"quoted"\n'];
    const sources = ['web', 'books', '', 'ß'];
    const blocks: Doc[][] = [];
    let row = 0;
    for (const size of [0, 1, 7, 1000, 0, 3]) {
      const docs: Doc[] = [];
      for (let i = 0; i < size; i++) {
        const hash = new Uint8Array(16);
        for (let b = 0; b < 16; b++) hash[b] = r.int(256);
        docs.push({ row: row++, id: `${ids[r.int(ids.length)]}${i}`, source: sources[r.int(sources.length)], tokens: r.int(1e6), score: r.next() < 0.3 ? null : r.next() * 10 - 5, hash });
      }
      blocks.push(docs);
    }
    const path = join(dir, 'many.docs.bin');
    write(path, blocks);
    expect(read(path)).toEqual(blocks.flat());
  });

  it('keeps an unpaired surrogate in an id exactly (the block goes through JSON)', () => {
    const path = join(dir, 'surrogate.docs.bin');
    const docs: Doc[] = [{ row: 0, id: 'a\udc00b', source: 's', tokens: 1, score: null, hash: new Uint8Array(16) }, { row: 1, id: 'plain', source: 's', tokens: 2, score: 1.5, hash: new Uint8Array(16).fill(7) }];
    write(path, [docs]);
    expect(read(path)).toEqual(docs);
  });

  it('an empty table is its magic alone', () => {
    const path = join(dir, 'empty.docs.bin');
    write(path, []);
    expect(readFileSync(path, 'latin1')).toBe('TMDOCS1\n');
    expect(read(path)).toEqual([]);
  });

  it('a damaged table stops with one line naming the file', () => {
    const path = join(dir, 'cut.docs.bin');
    write(path, [[{ row: 0, id: 'a', source: 's', tokens: 1, score: null, hash: new Uint8Array(16) }]]);
    truncateSync(path, 30);
    expect(() => read(path)).toThrow(new RegExp(`^tokenmix: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ends inside a block; .*run again$`));
    writeFileSync(path, 'not a table at all');
    expect(() => read(path)).toThrow(/not a tokenmix document table/);
  });
});
