/**
 * The near-dedup stage of `tokenmix curate` (config `dedup.near`, SPEC §2): the documents that
 * survive the earlier stages are written, per input shard and in input order, to work files,
 * and the `tokenmix dedup` engine (src/dedup: MinHash on the backend, LSH aimed below the
 * threshold, exact-Jaccard verification, union-find, cluster rule `dedup.near.cluster`, keep
 * rule) runs over them. Its drop lists mark the near duplicates; its clusters become
 * DIR/clusters.jsonl.
 *
 * Exact dedup has already run, so what dedup reports here is near duplicates (identical texts
 * after shingle normalization, e.g. differing only in punctuation, count as J = 1).
 */
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Backend } from '../backend.js';
import { invariant } from '../errors.js';
import { dedup, type DedupManifest } from '../dedup/index.js';
import { readRecords } from '../io/index.js';
import { scoreField } from './config.js';
import type { ReduceContext } from './outputs.js';
import { Fate } from './reduce.js';
import type { ShardMarker } from './shard.js';
import { shardRecords } from './records.js';

export interface NearDedupOutcome {
  threshold: number;
  ngram: number;
  num_hashes: number;
  lsh: DedupManifest['lsh'];
  clusters: number;
  documents_in_clusters: number;
  largest_cluster: number;
  removed: number;
  /** The rule that ran and what each rule removes (src/dedup/cover.ts). */
  cluster_rule: DedupManifest['cluster_rule'];
}

/** Rows of a shard whose fate is still `kept`, by intermediate line order. */
async function survivingRows(workDir: string, marker: ShardMarker, fates: Uint8Array): Promise<Set<number>> {
  const rows = new Set<number>();
  let index = 0;
  for await (const record of shardRecords(workDir, marker)) {
    if (fates[index++] === Fate.kept && record.id !== undefined) rows.add(record.row);
  }
  return rows;
}

export async function nearDedupStage(
  { config, fields, inputs, markers, decisions, workDir, outDir }: ReduceContext,
  backend: Backend,
  workers?: number,
): Promise<NearDedupOutcome | null> {
  const near = config.dedup.near;
  if (!near) return null;
  const nearDir = join(workDir, 'near');
  await rm(nearDir, { recursive: true, force: true });
  await mkdir(join(nearDir, 'input'), { recursive: true });
  const score = scoreField(config);
  const files: string[] = [];
  for (const [shard] of markers.entries()) {
    const rows = await survivingRows(workDir, markers[shard], decisions.fates[shard]);
    const file = join(nearDir, 'input', `${String(shard).padStart(5, '0')}.jsonl`);
    files.push(file);
    const out = createWriteStream(file);
    // A file quarantined whole (damaged) has no survivors and must not be read again.
    const batches = rows.size === 0 ? [] : readRecords(inputs[shard], fields, { batchSize: config.batch_size });
    for await (const batch of batches) {
      for (let i = 0; i < batch.length; i++) {
        if (!rows.has(batch.rows[i])) continue;
        const line = JSON.stringify({ id: batch.ids[i], source: batch.sources[i], text: batch.texts[i], ...(score ? { score: batch.scores[score][i] } : {}) });
        if (!out.write(`${line}\n`)) await once(out, 'drain');
      }
    }
    out.end();
    await once(out, 'finish');
  }
  const result = await dedup(
    {
      inputs: files.map((path) => ({ path, format: 'jsonl' as const })),
      outDir: join(nearDir, 'out'),
      threshold: near.threshold,
      ngram: near.ngram,
      numHashes: near.num_hashes,
      sketch: near.sketch,
      ...(near.bands !== undefined && near.rows !== undefined ? { bands: near.bands, rows: near.rows } : {}),
      seed: config.seed,
      keep: config.dedup.keep,
      cluster: near.cluster,
      ...(config.dedup.keep === 'best-quality' && score ? { qualityField: 'score' } : {}),
      batchSize: config.batch_size,
      ...(workers !== undefined ? { workers } : {}),
    },
    backend,
  );
  invariant(result.status === 'complete', 'near dedup of a single-rank curate run must complete');

  // Mark near duplicates: dedup's drop lists name them by id (ids are unique by now).
  const dropped = new Set<string>();
  const dropsDir = join(nearDir, 'out', 'drops');
  for (const name of (await readdir(dropsDir)).sort()) {
    for (const line of (await readFile(join(dropsDir, name), 'utf8')).split('\n')) {
      if (line !== '') dropped.add((JSON.parse(line) as { id: string }).id);
    }
  }
  for (const [shard, marker] of markers.entries()) {
    let index = 0;
    for await (const record of shardRecords(workDir, marker)) {
      const i = index++;
      if (record.id !== undefined && decisions.fates[shard][i] === Fate.kept && dropped.has(record.id)) decisions.fates[shard][i] = Fate.nearDuplicate;
    }
  }
  await copyFile(join(nearDir, 'out', 'clusters.jsonl'), join(outDir, 'clusters.jsonl'));
  const totals = result.manifest.totals;
  return {
    threshold: near.threshold,
    ngram: near.ngram,
    num_hashes: near.num_hashes,
    lsh: result.manifest.lsh,
    clusters: totals.clusters,
    documents_in_clusters: totals.docs_in_clusters,
    largest_cluster: totals.largest_cluster,
    removed: dropped.size,
    cluster_rule: result.manifest.cluster_rule,
  };
}
