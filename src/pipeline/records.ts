import { join } from 'node:path';
import { jsonLines } from '../work/json-lines.js';
import type { ShardMarker, ShardRecord } from './shard.js';

/** An input shard's intermediate records in input order (its units' files, in part order). */
export function* shardRecords(workDir: string, marker: ShardMarker): Generator<ShardRecord> {
  for (const file of marker.intermediates) yield* jsonLines<ShardRecord>(join(workDir, file));
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
