import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { ShardMarker, ShardRecord } from './shard.js';

/** Stream an input shard's intermediate records in input order (its units' files, in part order). */
export async function* shardRecords(workDir: string, marker: ShardMarker): AsyncGenerator<ShardRecord> {
  for (const file of marker.intermediates) {
    const lines = createInterface({ input: createReadStream(join(workDir, file)), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.length > 0) yield JSON.parse(line) as ShardRecord;
    }
  }
}

/** Group a stream into arrays of at most `size` items (the last may be shorter). */
export async function* chunked<T>(items: Iterable<T> | AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  for await (const item of items) {
    chunk.push(item);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}
