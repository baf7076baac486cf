import { join } from 'node:path';
import { jsonLines } from '../work/json-lines.js';
import type { ShardMarker, ShardRecord } from './shard.js';
import type { CurationRecord } from '../steps/curation.js';

/** A record of the map phase's intermediates, as the curation steps see it. */
export type ReduceRecord = Extract<ShardRecord, { hash: string }> & CurationRecord;

/** An input shard's intermediate records in input order (its units' files, in part order). */
export function* shardRecords(workDir: string, marker: ShardMarker): Generator<ShardRecord> {
  for (const file of marker.intermediates) yield* jsonLines<ShardRecord>(join(workDir, file));
}

/** One intermediate file's lines as the steps take them: problems (quarantined before any step) as null. */
export function* stepRecords(path: string): Generator<ReduceRecord | null> {
  for (const record of jsonLines<ShardRecord>(path)) yield record.id === undefined ? null : record;
}

/** Group a stream into arrays of at most `size` items (the last may be shorter); no promise per item. */
export function* chunked<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let chunk: T[] = [];
  for (const item of items) {
    chunk.push(item);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}
