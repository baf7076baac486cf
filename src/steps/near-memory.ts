/**
 * Near dedup in memory (SPEC §2) with the `tokenmix dedup` engine's own parts, for the
 * explorer and small runs: LSH bands (lsh.ts: planLsh, band keys), buckets turned into star +
 * chain candidate edges (bucket-table.ts), exact-text buckets chained unverified, candidates
 * verified on exact shingle-set Jaccard as the grouping phase does, union-find components, and
 * the cluster rule (cover.ts `decide`, with the exact-text classes, keep order and judge that
 * clusters.ts gives it). Only where things live differs: band keys, shingle sets and exact keys
 * are arrays here, partitioned files there. So the clusters, kept set and cluster-rule counts
 * equal those of `tokenmix dedup` and curate's `dedup.near` on the same documents.
 *
 * Components are a function of the set of verified candidate edges alone (an edge inside a
 * component is not verified; union-find roots are smallest members), so feeding the buckets
 * document by document gives the components the engine gets range by range.
 */
import { BucketTable, type BucketLinks } from '../dedup/bucket-table.js';
import { bestQualityOrder, decide, KEPT, makeJudge, type ClusterRule, type RuleStats } from '../dedup/cover.js';
import { jaccardPrefix, KeptIndex } from '../dedup/kept-index.js';
import { planLsh, type LshPlan } from '../dedup/lsh.js';
import type { KeepRule } from '../dedup/options.js';
import { jaccardAtLeast } from '../dedup/shingles.js';
import { UnionFind } from '../dedup/union-find.js';
import { invariant } from '../errors.js';
import type { Step, StepRecord } from './step.js';

/** The documents near dedup decides among, in input order (document d = the d-th one). */
export interface NearDocuments {
  count: number;
  /** Sorted unique shingle hashes of document d (empty: no words, never a near duplicate). */
  set(d: number): Uint32Array;
  /** Band keys of document d: two u32 per band (lsh.ts bandKeys). */
  bandKeys(d: number): Uint32Array;
  /** Equal numbers ⇔ equal exact-dedup normalized texts. */
  exactKey(d: number): number;
  /** The `best-quality` score (null: none) and the id that breaks its ties. */
  score(d: number): number | null;
  id(d: number): string;
}

export interface NearRequest {
  threshold: number;
  numHashes: number;
  bands?: number;
  rows?: number;
  keep: KeepRule;
  cluster: ClusterRule;
  /** Candidate links per bucket (`tokenmix dedup --links`; default star-chain). */
  links?: BucketLinks;
}

export interface NearOutcome {
  plan: LshPlan;
  /** Component id (its smallest member) of every document. */
  components: Uint32Array;
  /** Members per component id. */
  sizes: Uint32Array;
  /** Per document: the kept document it is removed for, or KEPT (cover.ts). */
  of: Uint32Array;
  /** Per removed document: Jaccard with `of` (NaN when unknown). */
  jaccard: Float32Array;
  /** Components of two or more documents, and the documents in them. */
  clusters: number;
  documentsInClusters: number;
  largestCluster: number;
  removed: number;
  /** What each cluster rule removes (the manifest's `cluster_rule`). */
  rule: RuleStats;
  /** Candidate pairs verified on their shingle sets while grouping, and the cluster rule's checks. */
  pairsVerified: number;
}

/** The LSH plan `tokenmix dedup` uses for these options (bands aimed below the threshold unless given). */
export function nearPlan(request: Pick<NearRequest, 'threshold' | 'numHashes' | 'bands' | 'rows'>): LshPlan {
  const { threshold, numHashes, bands, rows } = request;
  return planLsh({ threshold, numHashes, ...(bands !== undefined && rows !== undefined ? { bands, rows } : {}) });
}

export function nearDuplicates(docs: NearDocuments, request: NearRequest): NearOutcome {
  const plan = nearPlan(request);
  const n = docs.count;
  const threshold = plan.threshold;
  const uf = new UnionFind(n);
  let pairsVerified = 0;
  // The grouping phase's verification (group-phase.ts makeVerifier, --verify exact).
  const verify = (a: number, b: number) => {
    pairsVerified++;
    return jaccardAtLeast(docs.set(a), docs.set(b), threshold);
  };
  const sink = (a: number, b: number, exact: boolean) => {
    if (uf.connected(a, b)) return;
    if (exact || verify(a, b)) uf.union(a, b);
  };
  // Exact-text buckets, then each band's buckets, one table's worth at a time (band keys are
  // seeded by the band, so no bucket spans two bands; the engine tells them apart by key alone).
  const table = new BucketTable(n, request.links ?? 'star-chain');
  for (let d = 0; d < n; d++) table.add(docs.exactKey(d), 0, d, true, sink);
  for (let j = 0; j < plan.bands; j++) {
    table.clear();
    for (let d = 0; d < n; d++) {
      if (docs.set(d).length === 0) continue; // no words: no near-duplicate buckets
      const keys = docs.bandKeys(d);
      table.add(keys[2 * j], keys[2 * j + 1], d, false, sink);
    }
  }
  const components = uf.flatten();
  const sizes = new Uint32Array(n);
  for (const root of components) sizes[root]++;

  // As clusters.ts: each clustered document's exact-text class is the first clustered
  // document with its text; `best-quality` orders a component by score, then id, then input order.
  const exactClass = Uint32Array.from({ length: n }, (_, d) => d);
  const classOf = new Map<number, number>();
  const scores = new Float64Array(n);
  for (let d = 0; d < n; d++) {
    if (sizes[components[d]] < 2) continue;
    const same = classOf.get(docs.exactKey(d));
    if (same === undefined) classOf.set(docs.exactKey(d), d);
    else exactClass[d] = same;
    scores[d] = docs.score(d) ?? 0;
  }
  const before = request.keep === 'best-quality' ? bestQualityOrder(scores, (d) => docs.id(d)) : null;
  const vectors = { get: (d: number) => docs.set(d), length: (d: number) => docs.set(d).length };
  const decisions = decide({
    rule: request.cluster,
    components,
    sizes,
    before,
    judge: makeJudge('exact', threshold, vectors, exactClass),
    index: new KeptIndex((d) => jaccardPrefix(docs.set(d), threshold), (d) => exactClass[d], { set: (d) => docs.set(d), threshold }),
  });
  let clusters = 0;
  let documentsInClusters = 0;
  let largestCluster = 0;
  let removed = 0;
  for (let d = 0; d < n; d++) {
    const size = sizes[components[d]];
    if (size < 2) continue;
    documentsInClusters++;
    largestCluster = Math.max(largestCluster, size);
    if (components[d] === d) clusters++;
    if (decisions.of[d] !== KEPT) removed++;
  }
  return {
    plan, components, sizes, of: decisions.of, jaccard: decisions.jaccard,
    clusters, documentsInClusters, largestCluster, removed, rule: decisions.stats, pairsVerified: pairsVerified + decisions.checks,
  };
}

/**
 * The near-dedup step over records held in memory: it notes which records enter it and, at
 * the end, decides among them with `nearDuplicates`. `documents` gives the facts of the
 * entering records (in the order they entered); `outcome()` is available once the step ran.
 */
export function memoryNearDedupStep<R extends StepRecord>(
  request: NearRequest,
  documents: (entering: readonly { shard: number; index: number }[]) => NearDocuments,
): Step<R> & { outcome(): NearOutcome; entering(): readonly { shard: number; index: number }[] } {
  const entering: { shard: number; index: number }[] = [];
  let outcome: NearOutcome | null = null;
  return {
    stage: 'near_dedup',
    judge: (batch) => batch.indices.forEach((index) => entering.push({ shard: batch.shard, index })),
    finish(drop) {
      outcome = nearDuplicates(documents(entering), request);
      entering.forEach(({ shard, index }, d) => {
        if (outcome!.of[d] !== KEPT) drop(shard, index, 'near_duplicate');
      });
    },
    outcome() {
      invariant(outcome !== null, 'near dedup has not run');
      return outcome;
    },
    entering: () => entering,
  };
}
