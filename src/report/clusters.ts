/**
 * Cluster-size distribution from a near-dedup `clusters.jsonl` (one `{"id","cluster","kept"}`
 * line per record in a cluster of two or more). Streamed line by line: the file has one
 * line per duplicated record, which can be many; only a count per cluster is held.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { TokenmixError } from '../errors.js';
import { asRecord } from './read.js';

export interface ClusterSizes {
  /** Distinct cluster sizes ascending, with how many clusters have that size. */
  bySize: Array<{ size: number; count: number }>;
  clusters: number;
  records: number;
  largest: number;
}

/** Size distribution of clusters given each record's cluster id (pure; the reader feeds it). */
export function clusterSizesOf(clusterIds: Iterable<string>): ClusterSizes {
  const members = new Map<string, number>();
  for (const id of clusterIds) members.set(id, (members.get(id) ?? 0) + 1);
  return sizeDistribution(members);
}

function sizeDistribution(members: ReadonlyMap<string, number>): ClusterSizes {
  const countBySize = new Map<number, number>();
  for (const size of members.values()) countBySize.set(size, (countBySize.get(size) ?? 0) + 1);
  const bySize = [...countBySize.entries()].sort((a, b) => a[0] - b[0]).map(([size, count]) => ({ size, count }));
  let records = 0;
  for (const { size, count } of bySize) records += size * count;
  return { bySize, clusters: members.size, records, largest: bySize.length ? bySize[bySize.length - 1].size : 0 };
}

export async function readClusterSizes(path: string): Promise<ClusterSizes> {
  const members = new Map<string, number>();
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    let record: Record<string, unknown> | undefined;
    try {
      record = asRecord(JSON.parse(line));
    } catch {
      record = undefined;
    }
    const cluster = record?.cluster;
    if (typeof cluster !== 'number' && typeof cluster !== 'string') {
      throw new TokenmixError(`${path}:${lineNumber}: expected a JSON object with a "cluster" id (number or string); regenerate the file with tokenmix dedup`, {
        where: `${path}:${lineNumber}`,
      });
    }
    // Number and string ids stay distinct clusters (1 vs "1").
    const key = `${typeof cluster}:${cluster}`;
    members.set(key, (members.get(key) ?? 0) + 1);
  }
  return sizeDistribution(members);
}
