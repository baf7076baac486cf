/**
 * Curate's reduce groups ids and exact-dedup hashes out of core (src/work/key-partitions.ts):
 * the decisions must not depend on how many partitions the keys were spread over — duplicate
 * ids, "first" and "best-quality" exact dedup alike — and with on_error "fail" the duplicate
 * reported is the first one in input order.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { curate } from '../../src/pipeline/curate.js';
import { CPU, snapshot, tempDir, writeConfig } from './helpers.js';

const { dir, cleanup } = tempDir('tokenmix-reduce-');
afterAll(cleanup);
let runs = 0;

// Exact duplicates (same text up to layout), duplicate ids and scores that make best-quality
// pick a later copy.
const records: object[] = [];
for (let i = 0; i < 300; i++) {
  const family = i % 37;
  records.push({ id: `r${i}`, source: i % 3 === 0 ? 'web' : 'code', text: `document family ${family}  with\nthe same words`, q: (i * 7919) % 101 / 100 });
}
records.push({ id: 'r5', source: 'web', text: 'a second record with id r5', q: 0.5 });
records.push({ id: 'r250', source: 'code', text: 'a second record with id r250', q: 0.5 });
writeFileSync(join(dir, 'data.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');

function config(keep: 'first' | 'best-quality', onError: 'fail' | 'quarantine') {
  return writeConfig(dir, {
    inputs: [{ path: 'data.jsonl' }],
    fields: { quality: 'q' },
    dedup: { exact: true, keep },
    on_error: onError,
  }, `curate-${keep}-${onError}.json`);
}

async function run(configPath: string, reducePartitionRecords?: number, split?: { unitBytes: number; workers: number }) {
  const out = join(dir, `out-${runs++}`);
  const result = await curate({ configPath, outDir: out, backend: CPU, ...(reducePartitionRecords ? { reducePartitionRecords } : {}), ...(split ?? {}) });
  expect(result.status).toBe('complete');
  return { out, files: snapshot(out) };
}

describe('out-of-core reduce', () => {
  for (const keep of ['first', 'best-quality'] as const) {
    it(`${keep}: one partition or dozens give the same bytes`, async () => {
      const path = config(keep, 'quarantine');
      const one = await run(path);
      const many = await run(path, 7);
      expect(many.files).toEqual(one.files);
      const manifest = JSON.parse(readFileSync(join(one.out, 'manifest.json'), 'utf8'));
      expect(manifest.totals.quarantined).toBe(2);
      expect(manifest.totals.dropped['exact_dedup:duplicate']).toBe(300 - 37);
    });

    it(`${keep}: keys scattered by many units on 3 workers, outputs written per unit: the same bytes`, async () => {
      const path = config(keep, 'quarantine');
      const one = await run(path);
      // ~25 units of ~1 KB: the duplicate ids (r5, r250) and their first records sit in different units.
      const split = await run(path, 7, { unitBytes: 1000, workers: 3 });
      expect(split.files).toEqual(one.files);
      const quarantine = readFileSync(join(split.out, 'quarantine.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(quarantine.map((q) => [q.line, q.reason])).toEqual([[301, 'duplicate-id'], [302, 'duplicate-id']]);
    });
  }

  it('fail mode names the first duplicate id in input order, whatever the partitions', async () => {
    const path = config('first', 'fail');
    for (const partitionRecords of [undefined, 3]) {
      const error = await curate({ configPath: path, outDir: join(dir, `out-${runs++}`), backend: CPU, ...(partitionRecords ? { reducePartitionRecords: partitionRecords } : {}) }).catch((e: Error) => e);
      expect((error as Error).message).toBe('tokenmix: data.jsonl:301: field "id": duplicate id "r5" (first seen at data.jsonl:6); ids must be unique (or set "on_error": "quarantine")');
    }
  });
});
