/**
 * Final pass of near dedup (SPEC §2 "one representative kept per cluster", §6 outputs):
 * components from the union-find become clusters, the cluster rule (cover.ts) decides which
 * members are removed, and every record is accounted for per source, in documents and tokens.
 *
 * Reads the units' docs.jsonl twice, one task per unit on the run's workers (cluster-tasks.ts;
 * never all records in memory), the results taken in document order:
 *  1. per clustered record: its exact-text class (the first clustered document with the same
 *     exact-text hash) and, for `best-quality`, its score and id (the keep order: highest
 *     score, ties by smaller id in code-unit order, then input order); per cluster, the rule
 *     (`exact` when every member has the same exact-text hash, else `near`);
 *  then cover.ts decides, per component in keep order, which members are removed and for
 *  which kept member;
 *  2. clusters.jsonl (one line per clustered record: {"id","cluster","kept"}, with cluster =
 *     the component id, and on removed records "of" (the kept id) and "jaccard"),
 *     cluster_rules.jsonl, and per input shard keep/ and drops/ lists (each unit writes its
 *     parts; they are joined in unit order).
 * Memory per document: 4 bytes (component) + 4 (exact-text class) + cover.ts's 8 (+ 4 per
 * clustered one); per clustered record: its exact-text hash during pass 1, for
 * `best-quality` its score (8 bytes per document) and id; per kept clustered record its id.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Task } from '../exec/executor.js';
import type { ResolvedInput } from '../io/types.js';
import { LineFile, type OutputFile } from '../work/line-file.js';
import type { ClusterScan, ClusterScanTask, ClusterWriteResult, ClusterWriteTask, SourceTotals } from './cluster-tasks.js';
import { bestQualityOrder, componentLayout, decide, decideInBlocks, KEPT, type ClusterRule, type FirstPassSearch, type PairVerdict, type RuleStats } from './cover.js';
import type { KeptIndex } from './kept-index.js';
import type { KeepRule } from './options.js';
import { markerFiles, type SignatureMarker } from './signature-phase.js';
import { dict } from '../dict.js';

export type { SourceTotals } from './cluster-tasks.js';

export interface ClusterSummary {
  clusters: number;
  clusters_exact: number;
  clusters_near: number;
  docs_in_clusters: number;
  largest_cluster: number;
  removed_exact: number;
  removed_near: number;
  decision: RuleStats;
  /** Pair checks of the cluster rule (run.json). */
  checks: number;
  sources: Record<string, SourceTotals>;
  files: OutputFile[];
}

/** `00003-name` for input shard 3 `.../name.jsonl.zst`: ordered, readable, collision-free. */
export function shardOutputName(shard: number, file: string): string {
  const stem = basename(file).replace(/\.(jsonl|json|ndjson|parquet|arrow|arrows|ipc|feather)(\.(gz|zst|zstd))?$/i, '');
  return `${String(shard).padStart(5, '0')}-${stem.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

export interface ClusterRuleRequest {
  keep: KeepRule;
  rule: ClusterRule;
  /** The pair judge, given each document's exact-text class (cover.ts makeJudge). */
  judge: (exactClass: Uint32Array) => (a: number, b: number, measure: boolean) => PairVerdict;
  /** Candidates among the kept for exact verification (kept-index.ts), or null. */
  index?: (exactClass: Uint32Array) => KeptIndex | null;
  /**
   * Measured verdicts of many (doc, leader) pairs at once (pairs interleaved), e.g. on worker
   * threads; null or absent: decide() measures each pair itself with `judge`.
   */
  measure?: (exactClass: Uint32Array) => ((pairs: Uint32Array) => Promise<PairVerdict[]>) | null;
  /** The checks of large components against their kept members, made ahead in blocks (cover.ts decideInBlocks), or null. */
  search?: (exactClass: Uint32Array) => FirstPassSearch | null;
}

/** JSON of a Jaccard in clusters.jsonl: 6 decimals, null when unknown (--verify none). */
const jaccardJson = (j: number) => (Number.isNaN(j) ? 'null' : String(Math.round(j * 1e6) / 1e6));

export async function writeClusters(
  components: Uint32Array,
  { keep, rule, judge, index, measure, search }: ClusterRuleRequest,
  inputs: ResolvedInput[],
  markers: SignatureMarker[],
  workDir: string,
  outDir: string,
  /** Documents quarantined for a duplicate id: in no cluster, kept nor dropped. */
  excluded: ReadonlySet<number>,
  /** Runs a cluster-tasks.ts task (on a worker, or here). */
  run: <R>(task: Task) => Promise<R>,
): Promise<ClusterSummary> {
  const count = components.length;
  const sizes = new Uint32Array(count);
  // Excluded documents were never joined to a component (group-phase.ts): they are singletons.
  for (let d = 0; d < count; d++) if (!excluded.has(d)) sizes[components[d]]++;
  const bases = [0];
  for (const m of markers) bases.push(bases[bases.length - 1] + m.records);
  const local = (u: number, pick: (d: number) => boolean) => {
    const out: number[] = [];
    for (let d = bases[u]; d < bases[u + 1]; d++) if (pick(d)) out.push(d - bases[u]);
    return Uint32Array.from(out);
  };
  const isClustered = (d: number) => !excluded.has(d) && sizes[components[d]] > 1;
  const clustered = markers.map((_, u) => local(u, isClustered));

  // Pass 1: exact-text classes, keep-order data, rule of every cluster (Maps in component-id order).
  const scans = await Promise.all(markers.map((marker, u) => run<ClusterScan>({
    kind: 'cluster-scan', label: `${marker.file} (cluster records)`, docs: markerFiles(workDir, marker).docs, clustered: clustered[u],
  } as ClusterScanTask)));
  const firstHash = new Map<number, string>();
  const mixed = new Set<number>();
  const exactClass = new Uint32Array(count);
  for (let d = 0; d < count; d++) exactClass[d] = d;
  let classOf = new Map<string, number>();
  const scores = keep === 'best-quality' ? new Float64Array(count) : null;
  const ids = new Map<number, string>();
  scans.forEach((scan, u) => {
    clustered[u].forEach((offset, i) => {
      const doc = bases[u] + offset;
      const root = components[doc];
      const hash = scan.hashes[i];
      const first = firstHash.get(root);
      if (first === undefined) firstHash.set(root, hash);
      else if (first !== hash) mixed.add(root);
      const same = classOf.get(hash);
      if (same === undefined) classOf.set(hash, doc);
      else exactClass[doc] = same;
      if (scores) scores[doc] = scan.scores[i];
      ids.set(doc, scan.ids[i]);
    });
  });
  classOf = new Map();
  const before = scores ? bestQualityOrder(scores, (d) => ids.get(d)!) : null;
  const layout = componentLayout(components, sizes, before);
  const measureAll = measure?.(exactClass) ?? null;
  let first: ((doc: number, leader: number) => PairVerdict) | undefined;
  if (measureAll) {
    // Every member against its component's leader, measured ahead (the checks decide() would make first).
    const pairs = new Uint32Array(2 * (layout.members.length - layout.roots.length));
    let next = 0;
    let offset = 0;
    for (const root of layout.roots) {
      for (let m = 1; m < sizes[root]; m++) {
        pairs[next++] = layout.members[offset + m];
        pairs[next++] = layout.members[offset];
      }
      offset += sizes[root];
    }
    const verdicts = await measureAll(pairs);
    const byDoc = new Map<number, PairVerdict>();
    for (let i = 0; i < verdicts.length; i++) byDoc.set(pairs[2 * i], verdicts[i]);
    first = (doc) => byDoc.get(doc)!;
  }
  const request = { rule, components, sizes, before, judge: judge(exactClass), index: index?.(exactClass) ?? null, layout, ...(first ? { first } : {}) };
  const searchAll = search?.(exactClass) ?? null;
  const decisions = searchAll ? await decideInBlocks(request, searchAll) : decide(request);
  const { of, jaccard } = decisions;

  // Pass 2: each unit's lines into part files, joined below in unit order.
  for (const dir of ['keep', 'drops']) {
    rmSync(join(outDir, dir), { recursive: true, force: true });
    mkdirSync(join(outDir, dir), { recursive: true });
  }
  const partsDir = join(workDir, 'cluster-parts');
  rmSync(partsDir, { recursive: true, force: true });
  mkdirSync(partsDir, { recursive: true });
  const parts = (u: number) => join(partsDir, String(u).padStart(5, '0'));
  let largest = 0;
  const written = await Promise.all(markers.map((marker, u) => {
    const docs = clustered[u];
    const roots = new Uint32Array(docs.length);
    const keptFlags = new Uint8Array(docs.length);
    const exactFlags = new Uint8Array(docs.length);
    const removedFields = new Array<string>(docs.length);
    docs.forEach((offset, i) => {
      const doc = bases[u] + offset;
      const root = components[doc];
      largest = Math.max(largest, sizes[root]);
      roots[i] = root;
      const kept = of[doc] === KEPT;
      keptFlags[i] = kept ? 1 : 0;
      // cover: exact when the kept record it duplicates has the same text; components: per cluster.
      exactFlags[i] = !kept && (rule === 'cover' ? exactClass[doc] === exactClass[of[doc]] : !mixed.has(root)) ? 1 : 0;
      removedFields[i] = kept ? '' : `,"of":${JSON.stringify(ids.get(of[doc]))},"jaccard":${jaccardJson(jaccard[doc])}`;
    });
    return run<ClusterWriteResult>({
      kind: 'cluster-write', label: `${marker.file} (keep and drop lists)`, docs: markerFiles(workDir, marker).docs, parts: parts(u),
      position: inputs[marker.shard].format === 'jsonl' ? 'line' : 'row', excluded: local(u, (d) => excluded.has(d)), clustered: docs,
      roots, kept: keptFlags, exact: exactFlags, removedFields,
    } as ClusterWriteTask);
  }));
  const files: OutputFile[] = [];
  const clusters = new LineFile(join(outDir, 'clusters.jsonl'));
  for (const [shard, input] of inputs.entries()) {
    // Inputs without records still get (empty) keep and drops files.
    const name = shardOutputName(shard, input.displayPath);
    const keepFile = new LineFile(join(outDir, 'keep', `${name}.jsonl`));
    const dropsFile = new LineFile(join(outDir, 'drops', `${name}.jsonl`));
    markers.forEach((marker, u) => {
      if (marker.shard !== shard) return;
      keepFile.append(readFileSync(`${parts(u)}.keep`));
      dropsFile.append(readFileSync(`${parts(u)}.drops`));
      clusters.append(readFileSync(`${parts(u)}.clusters`));
    });
    files.push(keepFile.close(outDir), dropsFile.close(outDir));
  }
  files.push(clusters.close(outDir));
  rmSync(partsDir, { recursive: true, force: true });
  const sources: Record<string, SourceTotals> = dict();
  let removedExact = 0;
  let removedNear = 0;
  for (const unit of written) {
    removedExact += unit.removedExact;
    removedNear += unit.removedNear;
    for (const [source, t] of Object.entries(unit.sources)) {
      const totals = (sources[source] ??= { docs_in: 0, docs_out: 0, tokens_in: 0, tokens_out: 0 });
      totals.docs_in += t.docs_in;
      totals.docs_out += t.docs_out;
      totals.tokens_in += t.tokens_in;
      totals.tokens_out += t.tokens_out;
    }
  }

  const rules = new LineFile(join(outDir, 'cluster_rules.jsonl'));
  let exactClusters = 0;
  for (const root of firstHash.keys()) {
    const clusterRule = mixed.has(root) ? 'near' : 'exact';
    if (clusterRule === 'exact') exactClusters++;
    // The kept member named per cluster: its leader (first in keep order), which both rules keep.
    rules.line(`{"cluster":${root},"size":${sizes[root]},"rule":"${clusterRule}","kept":${JSON.stringify(ids.get(decisions.leaders.get(root) ?? root))}}`);
  }
  files.push(rules.close(outDir));
  const sortedSources: Record<string, SourceTotals> = dict();
  for (const s of Object.keys(sources).sort()) sortedSources[s] = sources[s];
  return {
    clusters: firstHash.size,
    clusters_exact: exactClusters,
    clusters_near: firstHash.size - exactClusters,
    docs_in_clusters: clustered.reduce((a, c) => a + c.length, 0),
    largest_cluster: largest,
    removed_exact: removedExact,
    removed_near: removedNear,
    decision: decisions.stats,
    checks: decisions.checks,
    sources: sortedSources,
    files: files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
}
