/**
 * The two passes of clusters.ts over the units' document tables (doc-table.ts), one task per work unit so they run
 * on every worker (issue 9: every phase parallelizes):
 *   `cluster-scan`  — the exact-text hash, id and score of the unit's clustered records (what
 *                     the keep order and the exact-text classes need), nothing for the rest;
 *   `cluster-write` — the unit's keep and drop lines and its clusters.jsonl lines, into part
 *                     files, with its per-source totals.
 * Everything that comes back is per record in document order, or a sum, so the result does not
 * depend on which thread ran which unit; clusters.ts joins the parts in unit order.
 */
import { LineFile } from '../work/line-file.js';
import type { Task } from '../exec/executor.js';
import { dict } from '../dict.js';
import { blockId, readDocTable } from './doc-table.js';

export interface SourceTotals {
  docs_in: number;
  docs_out: number;
  tokens_in: number;
  tokens_out: number;
}

export interface ClusterScanTask extends Task {
  kind: 'cluster-scan';
  /** The unit's document table. */
  docs: string;
  /** Indices in the unit of its clustered records, ascending. */
  clustered: Uint32Array;
}

/**
 * A unit's clustered records, compactly (this crosses threads and is held until every unit's
 * has arrived): the exact-text hashes' 16 bytes each, the ids joined into one string with their
 * end offsets, the scores.
 */
export interface ClusterScan {
  hashes: Uint8Array;
  ids: string;
  idEnds: Uint32Array;
  scores: Float64Array;
}

export async function runClusterScan(task: ClusterScanTask): Promise<ClusterScan> {
  const n = task.clustered.length;
  const hashes = new Uint8Array(16 * n);
  const ids: string[] = [];
  const idEnds = new Uint32Array(n + 1);
  const scores = new Float64Array(n);
  let local = 0;
  let next = 0;
  for (const block of readDocTable(task.docs)) {
    // Only clustered records matter: jump from one to the next within the block.
    while (next < n && task.clustered[next] < local + block.count) {
      const i = task.clustered[next] - local;
      hashes.set(block.hashes.subarray(16 * i, 16 * i + 16), 16 * next);
      const id = blockId(block, i);
      ids.push(id);
      idEnds[next + 1] = idEnds[next] + id.length;
      const score = block.scores[i];
      scores[next] = Number.isNaN(score) ? 0 : score; // no score counts as 0
      next++;
    }
    local += block.count;
  }
  return { hashes, ids: ids.join(''), idEnds, scores };
}

/** What the writer needs of each clustered record of a unit (parallel arrays, in unit order). */
export interface ClusterWriteTask extends Task {
  kind: 'cluster-write';
  docs: string;
  /** Part files: `${parts}.keep`, `.drops`, `.clusters`. */
  parts: string;
  position: 'line' | 'row';
  /** Indices in the unit of records quarantined for a duplicate id (in no list), ascending. */
  excluded: Uint32Array;
  clustered: Uint32Array;
  /** Component id of each clustered record. */
  roots: Uint32Array;
  /** 1 when the record is kept. */
  kept: Uint8Array;
  /** 1 when a removed record goes as an exact duplicate. */
  exact: Uint8Array;
  /** Per clustered record, the id of the kept record a removed one goes for ('' when kept): joined, with end offsets. */
  ofIds: string;
  ofEnds: Uint32Array;
  /** Per clustered record, the Jaccard with that kept record (NaN when unknown or kept). */
  jaccard: Float64Array;
}

/** JSON of a Jaccard in clusters.jsonl: 6 decimals, null when unknown (--verify none). */
const jaccardJson = (j: number) => (Number.isNaN(j) ? 'null' : String(Math.round(j * 1e6) / 1e6));

export interface ClusterWriteResult {
  sources: Record<string, SourceTotals>;
  removedExact: number;
  removedNear: number;
}

export async function runClusterWrite(task: ClusterWriteTask): Promise<ClusterWriteResult> {
  const keep = new LineFile(`${task.parts}.keep`);
  const drops = new LineFile(`${task.parts}.drops`);
  const clusters = new LineFile(`${task.parts}.clusters`);
  const result: ClusterWriteResult = { sources: dict(), removedExact: 0, removedNear: 0 };
  const position = task.position;
  let local = 0;
  let next = 0;
  let nextExcluded = 0;
  try {
    for (const block of readDocTable(task.docs)) {
      for (let i = 0; i < block.count; i++, local++) {
        if (nextExcluded < task.excluded.length && task.excluded[nextExcluded] === local) {
          nextExcluded++;
          continue;
        }
        const row = block.rows[i];
        const id = blockId(block, i);
        const tokens = block.tokens[i];
        const source = block.sources[block.sourceIndex[i]];
        const totals = (result.sources[source] ??= { docs_in: 0, docs_out: 0, tokens_in: 0, tokens_out: 0 });
        totals.docs_in++;
        totals.tokens_in += tokens;
        let kept = true;
        let c = -1;
        if (next < task.clustered.length && task.clustered[next] === local) {
          c = next++;
          kept = task.kept[c] === 1;
          const removed = kept ? '' : `,"of":${JSON.stringify(task.ofIds.slice(task.ofEnds[c], task.ofEnds[c + 1]))},"jaccard":${jaccardJson(task.jaccard[c])}`;
          clusters.line(`{"id":${JSON.stringify(id)},"cluster":${task.roots[c]},"kept":${kept}${removed}}`);
        }
        if (kept) {
          totals.docs_out++;
          totals.tokens_out += tokens;
          keep.line(`{"${position}":${row},"id":${JSON.stringify(id)}}`);
        } else {
          const exact = task.exact[c] === 1;
          if (exact) result.removedExact++;
          else result.removedNear++;
          drops.line(`{"${position}":${row},"id":${JSON.stringify(id)},"cluster":${task.roots[c]},"rule":"${exact ? 'exact' : 'near'}"}`);
        }
      }
    }
  } finally {
    for (const part of [keep, drops, clusters]) part.close('');
  }
  return result;
}
