/**
 * Ids must be unique across all inputs of a `dedup` run, as in `curate` (SPEC §1: `id`
 * unique). Checked between the map phase and grouping, over every shard's docs.jsonl in
 * shard order: the first occurrence wins. With `--on-error fail` a repeat stops the run with
 * one line naming both places; with `quarantine` later occurrences are set aside (not kept,
 * not dropped, counted in quarantine.jsonl) by global document index.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { TokenmixError } from '../errors.js';
import type { ResolvedInput } from '../io/types.js';
import { markerFiles, type SignatureMarker } from './signature-phase.js';

export interface DuplicateIds {
  /** Global document indices (shard order, then local order) of quarantined repeats. */
  excluded: Set<number>;
  /** quarantine.jsonl lines, in document order. */
  lines: string[];
}

const where = (input: ResolvedInput, row: number) => (input.format === 'jsonl' ? `${input.displayPath}:${row}` : `${input.displayPath} row ${row}`);

export async function findDuplicateIds(inputs: ResolvedInput[], markers: SignatureMarker[], workDir: string, onError: 'fail' | 'quarantine', idField: string): Promise<DuplicateIds> {
  // id → shard · 2^32 + row of its first occurrence (exact in a double up to 2^21 shards).
  const first = new Map<string, number>();
  const excluded = new Set<number>();
  const lines: string[] = [];
  let doc = 0;
  for (const marker of markers) {
    const shard = marker.shard;
    const input = inputs[shard];
    const reader = createInterface({ input: createReadStream(markerFiles(workDir, marker).docs), crlfDelay: Infinity });
    for await (const text of reader) {
      if (text.length === 0) continue;
      const [row, id] = JSON.parse(text) as [number, string];
      const seen = first.get(id);
      if (seen === undefined) {
        first.set(id, shard * 2 ** 32 + row);
      } else {
        const firstShard = Math.floor(seen / 2 ** 32);
        const message = `${where(input, row)}: field "${idField}": duplicate id ${JSON.stringify(id)} (first at ${where(inputs[firstShard], seen - firstShard * 2 ** 32)})`;
        if (onError === 'fail') throw new TokenmixError(`${message}; ids must be unique (or pass --on-error quarantine to set repeats aside and count them)`);
        excluded.add(doc);
        lines.push(JSON.stringify({ file: input.displayPath, [input.format === 'jsonl' ? 'line' : 'row']: row, field: idField, reason: 'duplicate-id', message }));
      }
      doc++;
    }
  }
  return { excluded, lines };
}
