/**
 * Final pass of near dedup (SPEC §2 "one representative kept per cluster", §6 outputs):
 * components from the union-find become clusters, the cluster rule (cover.ts) decides which
 * members are removed, and every record is accounted for per source, in documents and tokens.
 *
 * Reads the shards' docs.jsonl twice in document order (never all records in memory):
 *  1. per clustered record: its exact-text class (the first clustered document with the same
 *     exact-text hash) and, for `best-quality`, its score and id (the keep order: highest
 *     score, ties by smaller id in code-unit order, then input order); per cluster, the rule
 *     (`exact` when every member has the same exact-text hash, else `near`);
 *  then cover.ts decides, per component in keep order, which members are removed and for
 *  which kept member;
 *  2. clusters.jsonl (one line per clustered record: {"id","cluster","kept"}, with cluster =
 *     the component id, and on removed records "of" (the kept id) and "jaccard"),
 *     cluster_rules.jsonl, and per input shard keep/ and drops/ lists.
 * Memory per document: 4 bytes (component) + 4 (exact-text class) + cover.ts's 8 (+ 4 per
 * clustered one); per clustered record: its exact-text hash during pass 1, for
 * `best-quality` its score (8 bytes per document) and id; per kept clustered record its id.
 */
import { createReadStream } from 'node:fs';
import { mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ResolvedInput } from '../io/types.js';
import { LineFile, type OutputFile } from './line-file.js';
import { componentLayout, decide, KEPT, type ClusterRule, type PairVerdict, type RuleStats } from './cover.js';
import type { KeptIndex } from './kept-index.js';
import type { KeepRule } from './options.js';
import { markerFiles, type SignatureMarker } from './signature-phase.js';
import { dict } from '../dict.js';

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
}

/** JSON of a Jaccard in clusters.jsonl: 6 decimals, null when unknown (--verify none). */
const jaccardJson = (j: number) => (Number.isNaN(j) ? 'null' : String(Math.round(j * 1e6) / 1e6));

export async function writeClusters(
  components: Uint32Array,
  { keep, rule, judge, index, measure }: ClusterRuleRequest,
  inputs: ResolvedInput[],
  markers: SignatureMarker[],
  workDir: string,
  outDir: string,
  /** Documents quarantined for a duplicate id: in no cluster, kept nor dropped. */
  excluded: ReadonlySet<number> = new Set(),
): Promise<ClusterSummary> {
  const count = components.length;
  const sizes = new Uint32Array(count);
  // Excluded documents were never joined to a component (group-phase.ts): they are singletons.
  for (let d = 0; d < count; d++) if (!excluded.has(d)) sizes[components[d]]++;

  // Pass 1: exact-text classes, keep-order data, rule of every cluster (Maps in component-id order).
  const firstHash = new Map<number, string>();
  const mixed = new Set<number>();
  const exactClass = new Uint32Array(count);
  let classOf = new Map<string, number>();
  const scores = keep === 'best-quality' ? new Float64Array(count) : null;
  const ids = new Map<number, string>();
  let doc = 0;
  for await (const { doc: line } of docLines(workDir, markers)) {
    const root = components[doc];
    exactClass[doc] = doc;
    if (excluded.has(doc)) {
      doc++;
      continue;
    }
    if (sizes[root] > 1) {
      const hash = firstHash.get(root);
      if (hash === undefined) firstHash.set(root, line[5]);
      else if (hash !== line[5]) mixed.add(root);
      const same = classOf.get(line[5]);
      if (same === undefined) classOf.set(line[5], doc);
      else exactClass[doc] = same;
      if (scores) {
        scores[doc] = line[4] as number;
        ids.set(doc, line[1]);
      }
    }
    doc++;
  }
  classOf = new Map();
  const before = scores
    ? (a: number, b: number) => {
        if (scores[a] !== scores[b]) return scores[a] > scores[b] ? -1 : 1;
        const [x, y] = [ids.get(a)!, ids.get(b)!];
        return x < y ? -1 : x > y ? 1 : a - b;
      }
    : null;
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
  const decisions = decide({ rule, components, sizes, before, judge: judge(exactClass), index: index?.(exactClass) ?? null, layout, ...(first ? { first } : {}) });
  const { of, jaccard } = decisions;

  // Pass 2: the files.
  for (const dir of ['keep', 'drops']) {
    rmSync(join(outDir, dir), { recursive: true, force: true });
    mkdirSync(join(outDir, dir), { recursive: true });
  }
  const files: OutputFile[] = [];
  const clusters = new LineFile(join(outDir, 'clusters.jsonl'));
  const keptIds = new Map<number, string>();
  // Kept clustered records by index, for the "of" of later records (best-quality: all ids).
  const keptById = scores ? ids : new Map<number, string>();
  const sources: Record<string, SourceTotals> = dict();
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
    if (excluded.has(doc)) {
      doc++;
      continue;
    }
    const [row, id, source, tokens] = line;
    const root = components[doc];
    const position = inputs[shard].format === 'jsonl' ? 'line' : 'row';
    const totals = (sources[source] ??= { docs_in: 0, docs_out: 0, tokens_in: 0, tokens_out: 0 });
    totals.docs_in++;
    totals.tokens_in += tokens;
    let kept = true;
    if (sizes[root] > 1) {
      kept = of[doc] === KEPT;
      docsInClusters++;
      if (kept && !keptIds.has(root)) keptIds.set(root, scores ? ids.get(decisions.leaders.get(root)!)! : id);
      if (kept && !scores) keptById.set(doc, id);
      largest = Math.max(largest, sizes[root]);
      const removed = kept ? '' : `,"of":${JSON.stringify(keptById.get(of[doc]))},"jaccard":${jaccardJson(jaccard[doc])}`;
      clusters.line(`{"id":${JSON.stringify(id)},"cluster":${root},"kept":${kept}${removed}}`);
    }
    if (kept) {
      totals.docs_out++;
      totals.tokens_out += tokens;
      shardFilesOpen!.keep.line(`{"${position}":${row},"id":${JSON.stringify(id)}}`);
    } else {
      // cover: exact when the kept record it duplicates has the same text; components: per cluster.
      const exact = rule === 'cover' ? exactClass[doc] === exactClass[of[doc]] : !mixed.has(root);
      if (exact) removedExact++;
      else removedNear++;
      shardFilesOpen!.drops.line(`{"${position}":${row},"id":${JSON.stringify(id)},"cluster":${root},"rule":"${exact ? 'exact' : 'near'}"}`);
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
  const sortedSources: Record<string, SourceTotals> = dict();
  for (const s of Object.keys(sources).sort()) sortedSources[s] = sources[s];
  return {
    clusters: firstHash.size,
    clusters_exact: exactClusters,
    clusters_near: firstHash.size - exactClusters,
    docs_in_clusters: docsInClusters,
    largest_cluster: largest,
    removed_exact: removedExact,
    removed_near: removedNear,
    decision: decisions.stats,
    checks: decisions.checks,
    sources: sortedSources,
    files: files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
}
