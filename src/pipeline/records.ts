import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ShardRecord } from './shard.js';

/** Stream a shard's intermediate records in input order. */
export async function* shardRecords(path: string): AsyncGenerator<ShardRecord> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.length > 0) yield JSON.parse(line) as ShardRecord;
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
