/**
 * Final pass of near dedup (SPEC §2 "one representative kept per cluster", §6 outputs):
 * components from the union-find become clusters, one member of each is kept, and every
 * record is accounted for per source, in documents and tokens.
 *
 * Reads the shards' docs.jsonl twice in document order (never all records in memory):
 *  1. per cluster: the kept member (`first`: smallest index, i.e. input order — the
 *     component id itself; `best-quality`: highest score, ties by smaller id in code-unit
 *     order, then by input order) and the rule (`exact` when every member has the same
 *     exact-text hash, else `near`);
 *  2. clusters.jsonl (one line per clustered record: exactly {"id","cluster","kept"}, with
 *     cluster = the component id), cluster_rules.jsonl, and per input shard keep/ and
 *     drops/ lists.
 * Memory: the component array (4 bytes per document) plus O(1) per cluster.
 */
import { createReadStream } from 'node:fs';
import { mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ResolvedInput } from '../io/types.js';
import { LineFile, type OutputFile } from './line-file.js';
import type { KeepRule } from './options.js';
import { markerFiles, type SignatureMarker } from './signature-phase.js';

/** One line of docs.jsonl. */
type DocLine = [row: number, id: string, source: string, tokens: number, score: number | null, hash: string];

/** Every document in order, with the input file (shard) it came from: units are read in plan order. */
async function* docLines(workDir: string, markers: SignatureMarker[]): AsyncGenerator<{ shard: number; doc: DocLine }> {
  for (const marker of markers) {
    const lines = createInterface({ input: createReadStream(markerFiles(workDir, marker).docs), crlfDelay: Infinity });
    for await (const line of lines) if (line.length > 0) yield { shard: marker.shard, doc: JSON.parse(line) as DocLine };
  }
}

export interface SourceTotals {
  docs_in: number;
  docs_out: number;
  tokens_in: number;
  tokens_out: number;
}

export interface ClusterSummary {
  clusters: number;
  clusters_exact: number;
  clusters_near: number;
  docs_in_clusters: number;
  largest_cluster: number;
  removed_exact: number;
  removed_near: number;
  sources: Record<string, SourceTotals>;
  files: OutputFile[];
}

/** `00003-name` for input shard 3 `.../name.jsonl.zst`: ordered, readable, collision-free. */
export function shardOutputName(shard: number, file: string): string {
  const stem = basename(file).replace(/\.(jsonl|json|ndjson|parquet|arrow|arrows|ipc|feather)(\.(gz|zst|zstd))?$/i, '');
  return `${String(shard).padStart(5, '0')}-${stem.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

interface Best {
  doc: number;
  score: number;
  id: string;
}

export async function writeClusters(
  components: Uint32Array,
  keep: KeepRule,
  inputs: ResolvedInput[],
  markers: SignatureMarker[],
  workDir: string,
  outDir: string,
): Promise<ClusterSummary> {
  const count = components.length;
  const sizes = new Uint32Array(count);
  for (let d = 0; d < count; d++) sizes[components[d]]++;

  // Pass 1: rule and kept member of every cluster (Maps are in component-id order).
  const firstHash = new Map<number, string>();
  const mixed = new Set<number>();
  const best = new Map<number, Best>();
  let doc = 0;
  for await (const { doc: line } of docLines(workDir, markers)) {
    const root = components[doc];
    if (sizes[root] > 1) {
      const hash = firstHash.get(root);
      if (hash === undefined) firstHash.set(root, line[5]);
      else if (hash !== line[5]) mixed.add(root);
      if (keep === 'best-quality') {
        const score = line[4] as number;
        const current = best.get(root);
        if (!current || score > current.score || (score === current.score && line[1] < current.id)) best.set(root, { doc, score, id: line[1] });
      }
    }
    doc++;
  }
  const keptOf = (root: number) => (keep === 'first' ? root : best.get(root)!.doc);

  // Pass 2: the files.
  for (const dir of ['keep', 'drops']) {
    rmSync(join(outDir, dir), { recursive: true, force: true });
    mkdirSync(join(outDir, dir), { recursive: true });
  }
  const files: OutputFile[] = [];
  const clusters = new LineFile(join(outDir, 'clusters.jsonl'));
  const keptIds = new Map<number, string>();
  const sources: Record<string, SourceTotals> = {};
  let removedExact = 0;
  let removedNear = 0;
  let docsInClusters = 0;
  let largest = 0;
  let shardFilesOpen: { shard: number; keep: LineFile; drops: LineFile } | null = null;
  const closeShard = () => {
    if (shardFilesOpen) files.push(shardFilesOpen.keep.close(outDir), shardFilesOpen.drops.close(outDir));
    shardFilesOpen = null;
  };
  const openShard = (shard: number) => {
    const name = shardOutputName(shard, inputs[shard].displayPath);
    shardFilesOpen = { shard, keep: new LineFile(join(outDir, 'keep', `${name}.jsonl`)), drops: new LineFile(join(outDir, 'drops', `${name}.jsonl`)) };
  };
  doc = 0;
  let nextShard = 0;
  for await (const { shard, doc: line } of docLines(workDir, markers)) {
    // Shards without records still get (empty) keep and drops files.
    while (nextShard <= shard) {
      closeShard();
      openShard(nextShard++);
    }
    const [row, id, source, tokens] = line;
    const root = components[doc];
    const position = inputs[shard].format === 'jsonl' ? 'line' : 'row';
    const totals = (sources[source] ??= { docs_in: 0, docs_out: 0, tokens_in: 0, tokens_out: 0 });
    totals.docs_in++;
    totals.tokens_in += tokens;
    let kept = true;
    if (sizes[root] > 1) {
      kept = keptOf(root) === doc;
      docsInClusters++;
      if (kept) keptIds.set(root, id);
      largest = Math.max(largest, sizes[root]);
      clusters.line(`{"id":${JSON.stringify(id)},"cluster":${root},"kept":${kept}}`);
    }
    if (kept) {
      totals.docs_out++;
      totals.tokens_out += tokens;
      shardFilesOpen!.keep.line(`{"${position}":${row},"id":${JSON.stringify(id)}}`);
    } else {
      const rule = mixed.has(root) ? 'near' : 'exact';
      if (rule === 'exact') removedExact++;
      else removedNear++;
      shardFilesOpen!.drops.line(`{"${position}":${row},"id":${JSON.stringify(id)},"cluster":${root},"rule":"${rule}"}`);
    }
    doc++;
  }
  while (nextShard < inputs.length) {
    closeShard();
    openShard(nextShard++);
  }
  closeShard();
  files.push(clusters.close(outDir));

  const rules = new LineFile(join(outDir, 'cluster_rules.jsonl'));
  let exactClusters = 0;
  for (const root of firstHash.keys()) {
    const rule = mixed.has(root) ? 'near' : 'exact';
    if (rule === 'exact') exactClusters++;
    rules.line(`{"cluster":${root},"size":${sizes[root]},"rule":"${rule}","kept":${JSON.stringify(keptIds.get(root))}}`);
  }
  files.push(rules.close(outDir));
  const sortedSources: Record<string, SourceTotals> = {};
  for (const s of Object.keys(sources).sort()) sortedSources[s] = sources[s];
  return {
    clusters: firstHash.size,
    clusters_exact: exactClusters,
    clusters_near: firstHash.size - exactClusters,
    docs_in_clusters: docsInClusters,
    largest_cluster: largest,
    removed_exact: removedExact,
    removed_near: removedNear,
    sources: sortedSources,
    files: files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
}
