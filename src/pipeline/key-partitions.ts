/**
 * Out-of-core grouping by key for curate's reduce: lines go to one of P partition files by a
 * hash of their key, each file is then grouped on its own. Memory holds one partition at a
 * time (about RECORDS_PER_PARTITION records), not every key of the corpus: curate's duplicate-id
 * and exact-dedup passes used to keep every id and every text hash in memory (~440 bytes a
 * record, 44 GB at 100 M records).
 *
 * Within a partition, lines keep the order they were added in (input order), which is what
 * "the first occurrence wins" needs.
 */
import { closeSync, createReadStream, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fmix32, murmur3Round } from '../text/hash.js';

/** Records per partition aimed at: ~100–200 MB of Map entries when one is grouped. */
export const RECORDS_PER_PARTITION = 1 << 20;
/** Open files are bounded too; past this, partitions grow instead. */
const MAX_PARTITIONS = 1024;
const FLUSH_CHARS = 1 << 16;

export function partitionCount(records: number, perPartition = RECORDS_PER_PARTITION): number {
  return Math.min(MAX_PARTITIONS, Math.max(1, Math.ceil(records / perPartition)));
}

/** A well-mixed u32 of a string key (its UTF-16 units), for choosing a partition. */
function keyHash(key: string): number {
  let h = 0x9747b28c;
  for (let i = 0; i < key.length; i++) h = murmur3Round(h, key.charCodeAt(i));
  return fmix32(h ^ key.length);
}

export class KeyPartitions {
  private readonly fds: number[] = [];
  private readonly pending: string[][] = [];
  private readonly pendingChars: number[] = [];

  constructor(private readonly dir: string, readonly count: number) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (let p = 0; p < count; p++) {
      this.fds.push(openSync(this.path(p), 'w'));
      this.pending.push([]);
      this.pendingChars.push(0);
    }
  }

  private path(partition: number): string {
    return join(this.dir, `${String(partition).padStart(4, '0')}.jsonl`);
  }

  /** Append `line` (one JSON value, no newline) to the partition of `key`. */
  add(key: string, line: string): void {
    const p = keyHash(key) % this.count;
    this.pending[p].push(line, '\n');
    this.pendingChars[p] += line.length + 1;
    if (this.pendingChars[p] > FLUSH_CHARS) this.flush(p);
  }

  private flush(p: number): void {
    if (this.pending[p].length === 0) return;
    writeSync(this.fds[p], this.pending[p].join(''));
    this.pending[p] = [];
    this.pendingChars[p] = 0;
  }

  /** Finish writing; then `lines(p)` reads partition p back in the order it was written. */
  close(): void {
    for (let p = 0; p < this.count; p++) {
      this.flush(p);
      closeSync(this.fds[p]);
    }
  }

  async *lines(partition: number): AsyncGenerator<string> {
    const reader = createInterface({ input: createReadStream(this.path(partition)), crlfDelay: Infinity });
    for await (const line of reader) if (line.length > 0) yield line;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
