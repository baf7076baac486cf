/**
 * dedup's unique-id check (src/dedup/unique-ids.ts) groups ids out of core with curate's rule:
 * the first occurrence in shard order, then line order, wins. The repeats and their messages
 * are the same for one partition or many, and `fail` names the earliest repeat.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findDuplicateIds, idHash } from '../../src/dedup/unique-ids.js';
import { DocTableWriter } from '../../src/dedup/doc-table.js';
import { markerFiles, type SignatureMarker } from '../../src/dedup/signature-phase.js';
import type { ResolvedInput } from '../../src/io/types.js';
import { tempDir } from '../pipeline/helpers.js';

const { dir, cleanup } = tempDir('tokenmix-unique-ids-');
afterAll(cleanup);

const input = (name: string, format: 'jsonl' | 'parquet'): ResolvedInput => ({ path: join(dir, name), displayPath: name, format, compression: 'none', specIndex: 0 });
const inputs = [input('a.jsonl', 'jsonl'), input('b.parquet', 'parquet')];
// Per unit (shard, part): document-table records [row, id]. Shard 0 is split in two parts.
const units: { shard: number; part: number; parts: number; docs: [number, string][] }[] = [
  { shard: 0, part: 0, parts: 2, docs: [[1, 'x'], [2, 'y'], [4, 'x']] },
  { shard: 0, part: 1, parts: 2, docs: [[5, 'z'], [6, 'y']] },
  { shard: 1, part: 0, parts: 1, docs: [[0, 'w'], [1, 'z'], [2, 'x'], [3, 'w']] },
];
mkdirSync(join(dir, 'shards'), { recursive: true });
const markers = units.map(({ shard, part, parts, docs }) => {
  const marker = { shard, part, parts, records: docs.length } as unknown as SignatureMarker;
  const bytes: Uint8Array[] = [];
  new DocTableWriter((block) => bytes.push(block.slice())).add(docs.map((d) => d[0]), docs.map((d) => d[1]), docs.map(() => 'web'), docs.map(() => 1), null, new Uint8Array(16 * docs.length));
  writeFileSync(markerFiles(dir, marker).docs, Buffer.concat(bytes));
  return marker;
});

const expected = [
  // document index, then where the repeat is and where its id was first seen
  [2, 'a.jsonl:4', 'x', 'a.jsonl:1'],
  [4, 'a.jsonl:6', 'y', 'a.jsonl:2'],
  [6, 'b.parquet row 1', 'z', 'a.jsonl:5'],
  [7, 'b.parquet row 2', 'x', 'a.jsonl:1'],
  [8, 'b.parquet row 3', 'w', 'b.parquet row 0'],
] as const;

describe('dedup: unique ids out of core', () => {
  for (const perPartition of [1 << 20, 2, 1]) {
    it(`${perPartition} ids per partition: the same repeats, in document order`, async () => {
      const result = await findDuplicateIds(inputs, markers, dir, 'quarantine', 'id', undefined, perPartition);
      expect([...result.excluded]).toEqual(expected.map((e) => e[0]));
      expect(result.lines.map((l) => JSON.parse(l).message)).toEqual(expected.map(([, at, id, first]) => `${at}: field "id": duplicate id "${id}" (first at ${first})`));
    });
  }

  // With 1 or 2 bits of hash, distinct ids share hashes: the string grouping still tells them apart.
  for (const bits of [1, 2]) {
    it(`ids hashed to ${bits} bit(s): every id looked at closely, the same repeats`, async () => {
      const result = await findDuplicateIds(inputs, markers, dir, 'quarantine', 'id', undefined, 2, 1, bits);
      expect([...result.excluded]).toEqual(expected.map((e) => e[0]));
      expect(result.lines.map((l) => JSON.parse(l).message)).toEqual(expected.map(([, at, id, first]) => `${at}: field "id": duplicate id "${id}" (first at ${first})`));
    });
  }

  it('no repeated id: nothing found, with distinct ids sharing a hash or not', async () => {
    const distinct = [markers[2]]; // w, z, x, w: the last w is its only repeat
    const unique = units[2].docs.slice(0, 3);
    const marker = { shard: 1, part: 0, parts: 1, records: unique.length, file: 'b.parquet' } as unknown as SignatureMarker;
    const other = join(dir, 'unique');
    mkdirSync(join(other, 'shards'), { recursive: true });
    const bytes: Uint8Array[] = [];
    new DocTableWriter((block) => bytes.push(block.slice())).add(unique.map((d) => d[0]), unique.map((d) => d[1]), unique.map(() => 'web'), unique.map(() => 1), null, new Uint8Array(16 * unique.length));
    writeFileSync(markerFiles(other, marker).docs, Buffer.concat(bytes));
    for (const bits of [52, 1]) {
      const result = await findDuplicateIds(inputs, [marker], other, 'fail', 'id', undefined, 1 << 20, 1, bits);
      expect([[...result.excluded], result.lines]).toEqual([[], []]);
    }
    expect((await findDuplicateIds(inputs, distinct, dir, 'quarantine', 'id')).excluded).toEqual(new Set([3]));
  });

  it('idHash: a function of the id alone, below 2^bits', () => {
    expect(idHash('..abc..', 2, 5)).toBe(idHash('abc', 0, 3));
    expect(idHash('abc', 0, 3)).not.toBe(idHash('abd', 0, 3));
    expect(idHash('ab', 0, 2)).not.toBe(idHash('ab\u0000', 0, 3));
    const hashes = Array.from({ length: 10_000 }, (_, i) => idHash(`doc-${i}`, 0, `doc-${i}`.length));
    expect(new Set(hashes).size).toBe(10_000);
    expect(hashes.every((h) => Number.isSafeInteger(h) && h >= 0 && h < 2 ** 52)).toBe(true);
    expect(hashes.some((h) => h >= 2 ** 51)).toBe(true);
    expect(hashes.every((h, i) => idHash(`doc-${i}`, 0, `doc-${i}`.length, 8) === h % 256)).toBe(true);
  });

  it('fail: the earliest repeat, whatever the partitions', async () => {
    for (const perPartition of [1 << 20, 1]) {
      const error = await findDuplicateIds(inputs, markers, dir, 'fail', 'id', undefined, perPartition).catch((e: Error) => e);
      expect((error as Error).message).toBe('tokenmix: a.jsonl:4: field "id": duplicate id "x" (first at a.jsonl:1); ids must be unique (or pass --on-error quarantine to set repeats aside and count them)');
    }
  });
});
