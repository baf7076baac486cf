/**
 * Ids must be unique across all inputs of a `dedup` run, as in `curate` (SPEC §1: `id`
 * unique). Checked between the map phase and grouping, over every shard's docs.jsonl in
 * shard order, with curate's rule (work/key-partitions.ts `repeatedKeys`): the first
 * occurrence wins. With `--on-error fail` the earliest repeat stops the run with one line
 * naming both places; with `quarantine` later occurrences are set aside (not kept, not
 * dropped, counted in quarantine.jsonl) by global document index.
 *
 * Memory: ids are grouped out of core, one key partition at a time (~2^20 ids), plus the
 * repeats found; not one map entry per document of the corpus.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { TokenmixError } from '../errors.js';
import type { ResolvedInput } from '../io/types.js';
import { inInputOrder, partitionCount, RECORDS_PER_PARTITION, partitionLines, PartitionWriter, repeatedKeys, type PartitionedRun } from '../work/key-partitions.js';
import { markerFiles, type SignatureMarker } from './signature-phase.js';

export interface DuplicateIds {
  /** Global document indices (shard order, then local order) of quarantined repeats. */
  excluded: Set<number>;
  /** quarantine.jsonl lines, in document order. */
  lines: string[];
}

const where = (input: ResolvedInput, row: number) => (input.format === 'jsonl' ? `${input.displayPath}:${row}` : `${input.displayPath} row ${row}`);

/** A partition line: id, global document index, input shard, row. */
type IdEntry = [id: string, doc: number, shard: number, row: number];

export async function findDuplicateIds(
  inputs: ResolvedInput[],
  markers: SignatureMarker[],
  workDir: string,
  onError: 'fail' | 'quarantine',
  idField: string,
  recordsPerPartition = RECORDS_PER_PARTITION,
): Promise<DuplicateIds> {
  const dir = join(workDir, 'unique-ids');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    const partitions = partitionCount(markers.reduce((sum, m) => sum + m.records, 0), recordsPerPartition);
    const runs: PartitionedRun[] = [];
    let doc = 0;
    for (const [u, marker] of markers.entries()) {
      const writer = new PartitionWriter(join(dir, `${String(u).padStart(5, '0')}.ids`), partitions);
      const reader = createInterface({ input: createReadStream(markerFiles(workDir, marker).docs), crlfDelay: Infinity });
      for await (const text of reader) {
        if (text.length === 0) continue;
        const [row, id] = JSON.parse(text) as [number, string];
        writer.add(id, JSON.stringify([id, doc++, marker.shard, row] satisfies IdEntry));
      }
      runs.push(writer.close());
    }
    const repeats = inInputOrder(
      Array.from({ length: partitions }, (_, p) => repeatedKeys<IdEntry>((function* () {
        for (const line of partitionLines(runs, p)) yield JSON.parse(line) as IdEntry;
      })())),
    );
    const excluded = new Set<number>();
    const lines: string[] = [];
    for (const { repeat: [id, doc, shard, row], first } of repeats) {
      const input = inputs[shard];
      const message = `${where(input, row)}: field "${idField}": duplicate id ${JSON.stringify(id)} (first at ${where(inputs[first[2]], first[3])})`;
      if (onError === 'fail') throw new TokenmixError(`${message}; ids must be unique (or pass --on-error quarantine to set repeats aside and count them)`);
      excluded.add(doc);
      lines.push(JSON.stringify({ file: input.displayPath, [input.format === 'jsonl' ? 'line' : 'row']: row, field: idField, reason: 'duplicate-id', message }));
    }
    return { excluded, lines };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
