/**
 * dedup's unique-id check (src/dedup/unique-ids.ts) groups ids out of core with curate's rule:
 * the first occurrence in shard order, then line order, wins. The repeats and their messages
 * are the same for one partition or many, and `fail` names the earliest repeat.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findDuplicateIds } from '../../src/dedup/unique-ids.js';
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

  it('fail: the earliest repeat, whatever the partitions', async () => {
    for (const perPartition of [1 << 20, 1]) {
      const error = await findDuplicateIds(inputs, markers, dir, 'fail', 'id', undefined, perPartition).catch((e: Error) => e);
      expect((error as Error).message).toBe('tokenmix: a.jsonl:4: field "id": duplicate id "x" (first at a.jsonl:1); ids must be unique (or pass --on-error quarantine to set repeats aside and count them)');
    }
  });
});
