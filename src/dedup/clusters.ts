/**
 * Final pass of near dedup (SPEC §2 "one representative kept per cluster", §6 outputs):
 * components from the union-find become clusters, the cluster rule (cover.ts) decides which
 * members are removed, and every record is accounted for per source, in documents and tokens.
 *
 * Reads the units' document tables twice, one task per unit on the run's workers (cluster-tasks.ts;
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
 * Memory per document: 4 bytes (component) + 4 (exact-text class) + 1 (mixed-cluster flag) +
 * cover.ts's 8 (+ 4 per clustered one), and for `best-quality` 8 (score); per clustered record:
 * its position (4 bytes), its id's characters and their end (4 bytes), and during pass 1 its
 * exact-text hash (16 bytes) and a hash-table slot (4 to 8 bytes). No Map entry per record.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Task } from '../exec/executor.js';
import type { ResolvedInput } from '../io/types.js';
import { LineFile, PartFiles, type OutputFile } from '../work/line-file.js';
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

/** Verdicts of pairs, in pair order: whether each passes, and its Jaccard. */
export interface MeasuredPairs {
  pass: Uint8Array;
  jaccard: Float64Array;
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
  measure?: (exactClass: Uint32Array) => ((pairs: Uint32Array) => Promise<MeasuredPairs>) | null;
  /** The checks of large components against their kept members, made ahead in blocks (cover.ts decideInBlocks), or null. */
  search?: (exactClass: Uint32Array) => FirstPassSearch | null;
}

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

  // Pass 1: exact-text classes, keep-order data and the ids of the clustered records, compactly:
  // per clustered record 16 bytes of hash (until the classes are made), its id's characters and
  // 4 bytes of offset; no Map entry per record.
  const scans = await Promise.all(markers.map((marker, u) => run<ClusterScan>({
    kind: 'cluster-scan', label: `${marker.file} (cluster records)`, docs: markerFiles(workDir, marker).docs, clustered: clustered[u],
  } as ClusterScanTask)));
  const clusteredDocs = new Uint32Array(clustered.reduce((a, c) => a + c.length, 0));
  const idEnds = new Uint32Array(clusteredDocs.length + 1);
  const hashes = new Uint8Array(16 * clusteredDocs.length);
  const scores = keep === 'best-quality' ? new Float64Array(count) : null;
  let idText = '';
  let g = 0;
  scans.forEach((scan, u) => {
    hashes.set(scan.hashes, 16 * g);
    clustered[u].forEach((offset, i) => {
      const doc = bases[u] + offset;
      clusteredDocs[g] = doc;
      idEnds[g + 1] = idText.length + scan.idEnds[i + 1];
      if (scores) scores[doc] = scan.scores[i];
      g++;
    });
    idText += scan.ids;
    scans[u] = null as unknown as ClusterScan; // its hashes are copied: let it go
  });
  /** A clustered document's position among them (a binary search). */
  const positionOf = (doc: number): number => {
    let lo = 0;
    let hi = clusteredDocs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (clusteredDocs[mid] < doc) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const idOf = (doc: number): string => {
    const at = positionOf(doc);
    return idText.slice(idEnds[at], idEnds[at + 1]);
  };
  const exactClass = exactTextClasses(count, clusteredDocs, hashes);
  // A component's root is its smallest document, so its first member: the cluster is `exact`
  // when every member has the root's exact text.
  const mixed = new Uint8Array(count);
  for (const doc of clusteredDocs) if (exactClass[doc] !== exactClass[components[doc]]) mixed[components[doc]] = 1;
  const before = scores ? bestQualityOrder(scores, idOf) : null;
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
    // Kept by the member's position among the clustered documents (no object per pair).
    const verdicts = await measureAll(pairs);
    const passes = new Uint8Array(clusteredDocs.length);
    const jaccards = new Float64Array(clusteredDocs.length);
    for (let i = 0; i < verdicts.pass.length; i++) {
      const at = positionOf(pairs[2 * i]);
      passes[at] = verdicts.pass[i];
      jaccards[at] = verdicts.jaccard[i];
    }
    first = (doc) => {
      const at = positionOf(doc);
      return { pass: passes[at] === 1, jaccard: jaccards[at] };
    };
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
  const parts = new PartFiles(join(workDir, 'cluster-parts'));
  let largest = 0;
  const written = await Promise.all(markers.map((marker, u) => {
    const docs = clustered[u];
    const roots = new Uint32Array(docs.length);
    const keptFlags = new Uint8Array(docs.length);
    const exactFlags = new Uint8Array(docs.length);
    const ofIds: string[] = [];
    const ofEnds = new Uint32Array(docs.length + 1);
    const jaccards = new Float64Array(docs.length);
    docs.forEach((offset, i) => {
      const doc = bases[u] + offset;
      const root = components[doc];
      largest = Math.max(largest, sizes[root]);
      roots[i] = root;
      const kept = of[doc] === KEPT;
      keptFlags[i] = kept ? 1 : 0;
      // cover: exact when the kept record it duplicates has the same text; components: per cluster.
      exactFlags[i] = !kept && (rule === 'cover' ? exactClass[doc] === exactClass[of[doc]] : mixed[root] === 0) ? 1 : 0;
      const ofId = kept ? '' : idOf(of[doc]);
      ofIds.push(ofId);
      ofEnds[i + 1] = ofEnds[i] + ofId.length;
      jaccards[i] = kept ? Number.NaN : jaccard[doc];
    });
    return run<ClusterWriteResult>({
      kind: 'cluster-write', label: `${marker.file} (keep and drop lists)`, docs: markerFiles(workDir, marker).docs, parts: parts.prefix(u),
      position: inputs[marker.shard].format === 'jsonl' ? 'line' : 'row', excluded: local(u, (d) => excluded.has(d)), clustered: docs,
      roots, kept: keptFlags, exact: exactFlags, ofIds: ofIds.join(''), ofEnds, jaccard: jaccards,
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
      parts.joinInto(keepFile, u, 'keep');
      parts.joinInto(dropsFile, u, 'drops');
      parts.joinInto(clusters, u, 'clusters');
    });
    files.push(keepFile.close(outDir), dropsFile.close(outDir));
  }
  files.push(clusters.close(outDir));
  parts.remove();
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
  for (const root of layout.roots) {
    const clusterRule = mixed[root] === 1 ? 'near' : 'exact';
    if (clusterRule === 'exact') exactClusters++;
    // The kept member named per cluster: its leader (first in keep order), which both rules keep.
    rules.line(`{"cluster":${root},"size":${sizes[root]},"rule":"${clusterRule}","kept":${JSON.stringify(idOf(decisions.leaders.get(root) ?? root))}}`);
  }
  files.push(rules.close(outDir));
  const sortedSources: Record<string, SourceTotals> = dict();
  for (const s of Object.keys(sources).sort()) sortedSources[s] = sources[s];
  return {
    clusters: layout.roots.length,
    clusters_exact: exactClusters,
    clusters_near: layout.roots.length - exactClusters,
    docs_in_clusters: clusteredDocs.length,
    largest_cluster: largest,
    removed_exact: removedExact,
    removed_near: removedNear,
    decision: decisions.stats,
    checks: decisions.checks,
    sources: sortedSources,
    files: files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
}

/**
 * Each document's exact-text class: the first clustered document (in document order) with the
 * same 16-byte exact-text hash, or itself. An open-addressing table of clustered positions
 * (4 bytes a slot, at most half full) stands for a Map keyed by hash strings.
 */
function exactTextClasses(count: number, clusteredDocs: Uint32Array, hashes: Uint8Array): Uint32Array {
  const exactClass = new Uint32Array(count);
  for (let d = 0; d < count; d++) exactClass[d] = d;
  let slots = 2;
  while (slots < 2 * clusteredDocs.length) slots *= 2;
  const table = new Int32Array(slots).fill(-1);
  const words = new DataView(hashes.buffer, hashes.byteOffset, hashes.byteLength);
  const same = (a: number, b: number) => {
    for (let k = 0; k < 16; k += 4) if (words.getUint32(16 * a + k) !== words.getUint32(16 * b + k)) return false;
    return true;
  };
  for (let g = 0; g < clusteredDocs.length; g++) {
    let slot = words.getUint32(16 * g) & (slots - 1);
    for (;;) {
      const first = table[slot];
      if (first === -1) {
        table[slot] = g;
        break;
      }
      if (same(first, g)) {
        exactClass[clusteredDocs[g]] = clusteredDocs[first];
        break;
      }
      slot = (slot + 1) & (slots - 1);
    }
  }
  return exactClass;
}
