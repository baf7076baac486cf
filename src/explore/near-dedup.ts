/**
 * In-memory near dedup for the explorer (SPEC §2): MinHash signatures over word n-gram
 * shingles (the minhash kernel, GPU or CPU), LSH banding chosen for the Jaccard threshold
 * (planLsh), candidate pairs from shared buckets, exact verification on the shingle sets the
 * signatures estimate (jaccardAtLeast), connected components (UnionFind), and the cluster rule
 * of src/dedup/cover.ts (`cover`: a record goes only for an already kept record at J >= T, in
 * keep order; `components`: one kept per component), keep order `first` (input order) or
 * `best-quality` (ties broken by id).
 *
 * These are the building blocks of `tokenmix dedup` (src/dedup/), which streams shards
 * through files; here everything fits in memory. `tokenmix curate`/`mix` run near dedup
 * (`dedup.near`) through that engine, which proposes candidates by star + chain edges per
 * bucket; this in-memory version may verify more pairs per bucket, so in rare bucket shapes
 * the components can differ (on the fixture corpus they agree: test/explore/explore.test.ts).
 */
import type { Backend } from '../backend.js';
import { minhashConstants } from '../cpu/minhash.js';
import { decide, KEPT, makeJudge, type ClusterRule } from '../dedup/cover.js';
import { jaccardPrefix, KeptIndex } from '../dedup/kept-index.js';
import { bandKeys, planLsh, type LshPlan } from '../dedup/lsh.js';
import { jaccardAtLeast, shingleSet, shingleWords } from '../dedup/shingles.js';
import { UnionFind } from '../dedup/union-find.js';
import { minhash } from '../kernels/minhash.js';
import { oph } from '../kernels/oph.js';
import { shingleBatch } from '../cpu/oph.js';
import { DEFAULT_SKETCH, type SketchKind } from '../dedup/options.js';
import type { KeepRule } from '../pipeline/config.js';
import type { ExploreCorpus } from './corpus.js';

export interface NearDedupParams {
  ngram: number;
  numHashes: number;
  seed: number;
  /** The signature sketch, as `tokenmix dedup --sketch` (default `oph`). */
  sketch?: SketchKind;
}

/** Signatures and shingle sets of every record of a corpus, for one (ngram, numHashes, seed). */
export class NearDedupIndex {
  private readonly keysByBanding = new Map<string, Uint32Array>();

  private constructor(
    readonly params: NearDedupParams,
    /** N × numHashes signature slots. */
    readonly signatures: Uint32Array,
    /** Sorted unique shingle hashes of each record (empty: no words, never a near duplicate). */
    readonly shingleSets: Uint32Array[],
  ) {}

  static async build(corpus: ExploreCorpus, params: NearDedupParams, backend: Backend): Promise<NearDedupIndex> {
    const words = corpus.records.map((r) => shingleWords(r.text));
    const offsets = new Uint32Array(words.length + 1);
    words.forEach((w, i) => (offsets[i + 1] = offsets[i] + w.length));
    const tokens = new Uint32Array(offsets[words.length]);
    words.forEach((w, i) => tokens.set(w, offsets[i]));
    const { shingleSeed } = minhashConstants(params);
    const sets = words.map((w) => shingleSet(w, params.ngram, shingleSeed));
    const signatures = (params.sketch ?? DEFAULT_SKETCH) === 'oph'
      ? await oph(backend, shingleBatch(sets), { numHashes: params.numHashes, seed: params.seed })
      : await minhash(backend, { offsets, tokens }, params);
    return new NearDedupIndex(params, signatures, sets);
  }

  /** Band keys of every record (two u32 per band), cached per banding. */
  bandKeys(bands: number, rows: number): Uint32Array {
    const key = `${bands}x${rows}`;
    let keys = this.keysByBanding.get(key);
    if (keys === undefined) {
      keys = bandKeys(this.signatures, this.params.numHashes, bands, rows);
      this.keysByBanding.set(key, keys);
    }
    return keys;
  }
}

export interface NearDedupOutcome {
  plan: LshPlan;
  /** Record indices dropped as near duplicates, ascending. */
  dropped: number[];
  /** Components with more than one member. */
  clusters: number;
  /** Candidate pairs verified on their shingle sets (grouping, then the cluster rule). */
  pairsVerified: number;
  /** Records each rule removes (the rule that ran decides `dropped`). */
  removedCover: number;
  removedComponents: number;
}

export interface NearDedupRequest {
  threshold: number;
  bands?: number;
  rows?: number;
  keep: KeepRule;
  /** Default `cover` (src/dedup/cover.ts). */
  cluster?: ClusterRule;
  /** Quality score per record for `best-quality` (-Infinity when none). */
  score: (record: number) => number;
  id: (record: number) => string;
}

/** Near duplicates among `survivors` (record indices in input order). */
export function nearDuplicates(index: NearDedupIndex, survivors: readonly number[], request: NearDedupRequest): NearDedupOutcome {
  const plan = planLsh({ threshold: request.threshold, numHashes: index.params.numHashes, bands: request.bands, rows: request.rows });
  const keys = index.bandKeys(plan.bands, plan.rows);
  const buckets = new Map<string, number[]>();
  survivors.forEach((record, position) => {
    if (index.shingleSets[record].length === 0) return;
    for (let band = 0; band < plan.bands; band++) {
      const at = 2 * (record * plan.bands + band);
      const key = `${keys[at]}:${keys[at + 1]}`;
      const members = buckets.get(key);
      if (members) members.push(position);
      else buckets.set(key, [position]);
    }
  });
  // Positions are in input order, so a component's root (its smallest member) is its first document.
  const components = new UnionFind(survivors.length);
  let pairsVerified = 0;
  for (const members of buckets.values()) {
    for (let a = 0; a < members.length; a++) {
      for (let b = a + 1; b < members.length; b++) {
        if (components.connected(members[a], members[b])) continue;
        pairsVerified++;
        if (jaccardAtLeast(index.shingleSets[survivors[members[a]]], index.shingleSets[survivors[members[b]]], plan.threshold)) {
          components.union(members[a], members[b]);
        }
      }
    }
  }
  const root = components.flatten();
  const sizes = new Uint32Array(survivors.length);
  for (const component of root) sizes[component]++;
  const sets = index.shingleSets;
  const before =
    request.keep === 'best-quality'
      ? (a: number, b: number) => {
          const [s, t] = [request.score(survivors[a]), request.score(survivors[b])];
          if (s !== t) return s > t ? -1 : 1;
          const [x, y] = [request.id(survivors[a]), request.id(survivors[b])];
          return x < y ? -1 : x > y ? 1 : a - b;
        }
      : null;
  // No exact-text classes here: every position is its own class (identical texts have J = 1).
  const exactClass = Uint32Array.from(survivors, (_, position) => position);
  const vectors = { get: (p: number) => sets[survivors[p]], length: (p: number) => sets[survivors[p]].length };
  const judge = makeJudge('exact', plan.threshold, vectors, exactClass);
  const kept = new KeptIndex((p) => jaccardPrefix(vectors.get(p), plan.threshold), exactClass);
  const decisions = decide({ rule: request.cluster ?? 'cover', components: root, sizes, before, judge, index: kept });
  const dropped = survivors.filter((_, position) => decisions.of[position] !== KEPT);
  let clusters = 0;
  for (const size of sizes) if (size > 1) clusters++;
  pairsVerified += decisions.checks;
  return { plan, dropped, clusters, pairsVerified, removedCover: decisions.stats.removed_cover, removedComponents: decisions.stats.removed_components };
}
