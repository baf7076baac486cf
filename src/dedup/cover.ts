/**
 * Which members of a cluster are removed (SPEC §2; issue 10): the `cover` rule and the
 * connected-component rule, decided per candidate component (union-find over verified edges).
 *
 * `components` keeps one member per component (the first in keep order) and removes the rest,
 * as datatrove, NeMo Curator and text-dedup do. Components chain: A–B–C with each neighbour
 * pair above the threshold merge even when A and C are far apart, and C goes although
 * nothing similar to it is kept.
 *
 * `cover` (default) walks the component in keep order and removes a member iff it has an
 * already KEPT member with exact Jaccard >= T; otherwise the member is kept. So every removed
 * document names a kept near duplicate (`of`, checked on shingle sets), and no two kept
 * documents of a component are near duplicates. Pairs in different components were never
 * LSH candidates that verified, so this is the exact greedy rule as far as LSH finds pairs.
 *
 * Cost: one check per member against the component's first kept member (which also gives
 * the components rule's Jaccard, for the manifest), then, only for members below T with it,
 * checks against other kept members in keep order up to the first success. Under exact
 * verification only the kept members that prefix filtering (kept-index.ts) cannot rule out
 * are checked, so the work follows the overlap of the sets, not the number kept; otherwise
 * (signature estimates) every kept member is, with sizes compared before any read: worst case
 * Σ over components of members × kept members. A clique-like cluster costs one check per
 * member. Memory: 4 bytes per clustered document (members) plus the outputs (`of` u32 and
 * Jaccard f32 per document).
 * The decisions depend only on the component's members and their exact sets, so they are
 * the same for any band-file partition, memory budget, rank split or resume.
 */
import { estimateJaccard } from '../cpu/minhash.js';
import type { KeptIndex } from './kept-index.js';
import { intersectionSize, verifyPair } from './shingles.js';
import type { VerifyMode } from './options.js';

/** Per-document vectors (set-store.ts's VectorStore, or in-memory sets in the explorer). */
export interface Vectors {
  get(doc: number): Uint32Array;
  length(doc: number): number;
}

export type ClusterRule = 'cover' | 'components';
export const CLUSTER_RULES: readonly ClusterRule[] = ['cover', 'components'];

/** `of` of a document that is kept (or in no cluster). */
export const KEPT = 0xffffffff;

/** A verdict on one pair: pass (J >= T) and J (NaN when the run does not verify). */
export interface PairVerdict {
  pass: boolean;
  jaccard: number;
}

/**
 * Judges pairs the way grouping verified them (--verify): exact shingle-set Jaccard on the
 * integers (inter >= T·union − 1e-9, as the ground truth's scorer), the signature estimate, or
 * (`none`) every pair passes with an unknown J. Exact-text duplicates (same exact class) always
 * pass, also when they have no words (J = 1 then). `measure` asks for J even below the size bound.
 */
export function makeJudge(
  verify: VerifyMode,
  threshold: number,
  store: Vectors | null,
  exactClass: Uint32Array,
): (a: number, b: number, measure: boolean) => PairVerdict {
  const judge = makePairJudge(verify, threshold, store);
  return (a, b, measure) => judge(a, b, exactClass[a] === exactClass[b], measure);
}

/** makeJudge's verdicts given whether the pair shares its exact-text class (for threads without the classes). */
export function makePairJudge(
  verify: VerifyMode,
  threshold: number,
  store: Vectors | null,
): (a: number, b: number, exact: boolean, measure: boolean) => PairVerdict {
  return (a, b, exact, measure) => {
    if (verify === 'none' || store === null) return { pass: true, jaccard: exact ? 1 : Number.NaN };
    if (measure && verify === 'exact') {
      const la = store.length(a);
      const lb = store.length(b);
      return measuredVerdict(la, lb, la === 0 || lb === 0 ? 0 : intersectionSize(store.get(a), store.get(b)), exact, threshold);
    }
    // Same exact text passes, but its shingle J is still measured (NFC vs NFD differ there).
    if (exact) return { pass: true, jaccard: store.length(a) + store.length(b) === 0 ? 1 : judgeSets(a, b, true).jaccard };
    return judgeSets(a, b, measure);
  };
  function judgeSets(a: number, b: number, measure: boolean): PairVerdict {
    if (verify === 'signature') {
      const jaccard = estimateJaccard(store!.get(a), store!.get(b));
      return { pass: jaccard >= threshold - 1e-9, jaccard };
    }
    const la = store!.length(a);
    const lb = store!.length(b);
    if (la === 0 || lb === 0) return { pass: false, jaccard: 0 };
    if (!measure) {
      // Only a pass's J is used: stop as soon as the threshold is out of reach.
      const jaccard = verifyPair(store!.get(a), store!.get(b), threshold);
      return jaccard >= 0 ? { pass: true, jaccard } : { pass: false, jaccard: Number.NaN };
    }
    const shared = intersectionSize(store!.get(a), store!.get(b));
    const union = la + lb - shared;
    return { pass: shared >= threshold * union - 1e-9, jaccard: shared / union };
  }
}

/**
 * The verdict of an exact-verification pair from its set sizes and |A ∩ B| (makeJudge's
 * `measure` case, also fed by intersections counted on worker threads): same exact text
 * passes, with its shingle J (1 for two empty sets); otherwise J >= T on the integers.
 */
export function measuredVerdict(la: number, lb: number, shared: number, exact: boolean, threshold: number): PairVerdict {
  if (la === 0 || lb === 0) return exact ? { pass: true, jaccard: la + lb === 0 ? 1 : 0 } : { pass: false, jaccard: 0 };
  const union = la + lb - shared;
  return { pass: exact || shared >= threshold * union - 1e-9, jaccard: shared / union };
}

/** Removed documents per 0.05-wide Jaccard bin (bin 19 holds J = 1), and those of unknown J. */
export class JaccardHistogram {
  readonly counts = new Float64Array(20);
  unknown = 0;
  add(jaccard: number): void {
    if (Number.isNaN(jaccard)) this.unknown++;
    else this.counts[Math.min(19, Math.floor(jaccard * 20 + 1e-9))]++;
  }
  /** Non-empty bins as {"0.80-0.85": n, …} in bin order (what the manifest records). */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    this.counts.forEach((n, bin) => {
      if (n > 0) out[`${(bin / 20).toFixed(2)}-${((bin + 1) / 20).toFixed(2)}`] = n;
    });
    if (this.unknown > 0) out.unknown = this.unknown;
    return out;
  }
}

export interface RuleStats {
  /** The rule that decided the outputs. */
  rule: ClusterRule;
  /** Documents each rule removes on this run's components. */
  removed_cover: number;
  removed_components: number;
  /** Documents `components` removes whose J with their component's kept document is < T. */
  components_removed_below_threshold: number;
  /** Kept documents in clusters under the rule that ran. */
  kept_in_clusters: number;
  /** J of each removed document with the kept document it is removed for, per rule. */
  jaccard_to_kept: { cover: JaccardHistogram; components: JaccardHistogram };
}

export interface Decisions {
  /** Per document: the kept document it is removed for, or KEPT. */
  of: Uint32Array;
  /** Per removed document: J with `of` (NaN when unknown). */
  jaccard: Float32Array;
  stats: RuleStats;
  /** The first member in keep order of each component with keep order (best-quality). */
  leaders: Map<number, number>;
  /** Pair checks made (run.json: depends on nothing but the components, but is a cost). */
  checks: number;
}

export interface DecideRequest {
  rule: ClusterRule;
  /** Component id (its smallest member) of every document. */
  components: Uint32Array;
  /** Members per component id. */
  sizes: Uint32Array;
  /** Keep order among the members of one component (negative: a first); null = input order. */
  before: ((a: number, b: number) => number) | null;
  judge: (a: number, b: number, measure: boolean) => PairVerdict;
  /** Exact verification: candidates among the kept by prefix filtering (kept-index.ts). */
  index?: KeptIndex | null;
  /** componentLayout(components, sizes, before), when the caller made it already. */
  layout?: ComponentLayout;
  /** Each member's measured verdict with its leader, when computed ahead (else `judge(d, leader, true)`). */
  first?: (doc: number, leader: number) => PairVerdict;
}

/**
 * The `best-quality` keep order among documents: higher score first, ties by smaller id (code
 * units), then input order. A negative result puts `a` first.
 */
export function bestQualityOrder(scores: Float64Array, id: (doc: number) => string): (a: number, b: number) => number {
  return (a, b) => {
    if (scores[a] !== scores[b]) return scores[a] > scores[b] ? -1 : 1;
    const [x, y] = [id(a), id(b)];
    return x < y ? -1 : x > y ? 1 : a - b;
  };
}

/** Members of every component of two or more, each component in keep order (its leader first). */
export interface ComponentLayout {
  /** Members, component after component (component-id order). */
  members: Uint32Array;
  /** Component ids in that order, with their member counts in `sizes`. */
  roots: number[];
}

export function componentLayout(components: Uint32Array, sizes: Uint32Array, before: DecideRequest['before']): ComponentLayout {
  const count = components.length;
  const cursor = new Uint32Array(count);
  const roots: number[] = [];
  let next = 0;
  for (let d = 0; d < count; d++) {
    if (components[d] === d && sizes[d] > 1) {
      cursor[d] = next;
      next += sizes[d];
      roots.push(d);
    }
  }
  const members = new Uint32Array(next);
  for (let d = 0; d < count; d++) {
    const root = components[d];
    if (sizes[root] > 1) members[cursor[root]++] = d;
  }
  if (before) {
    let offset = 0;
    for (const root of roots) {
      members.subarray(offset, offset + sizes[root]).sort(before);
      offset += sizes[root];
    }
  }
  return { members, roots };
}

/** Both rules on every component of two or more members; the outputs follow `rule`. */
export function decide(request: DecideRequest): Decisions {
  const walk = new CoverWalk(request);
  for (const group of walk.components()) {
    for (let m = 1; m < group.length; m++) walk.member(group, m);
  }
  return walk.decisions();
}

/**
 * For each query document, the first kept member in keep order, after the leader kept[0], it
 * passes with, as the request's `judge(doc, kept, false)` would say (searchKept): its position
 * in `kept` or −1, J of that pass and the checks made.
 */
export type FirstPassSearch = (query: FirstPassQuery) => Promise<FirstPasses>;

export interface FirstPassQuery {
  /** The component's leader (its id for caches: a component's kept list only grows). */
  leader: number;
  /** Members to search for, in keep order. */
  docs: Uint32Array;
  /** The component's kept members so far, in keep order (kept[0] is the leader). */
  kept: Uint32Array;
}

export interface FirstPasses {
  found: Int32Array;
  jaccard: Float64Array;
  tried: Uint32Array;
}

/**
 * FirstPassSearch on this thread. `index` holds exactly `query.kept` (kept-index.ts: the
 * candidates that prefix filtering cannot rule out), or is null: every kept member is tried.
 */
export function searchKept(query: FirstPassQuery, judge: (a: number, b: number) => PairVerdict, index: KeptIndex | null): FirstPasses {
  const { docs, kept } = query;
  const found = new Int32Array(docs.length);
  const jaccard = new Float64Array(docs.length);
  const tried = new Uint32Array(docs.length);
  docs.forEach((d, q) => {
    const pass = firstPass(d, kept, 1, judge, index);
    found[q] = pass.position;
    jaccard[q] = pass.jaccard;
    tried[q] = pass.tried;
  });
  return { found, jaccard, tried };
}

/**
 * The first kept member at position `from` or later, in keep order, that `doc` passes with
 * (−1 if none), J of that pass (NaN if none) and the checks made. `index` holds `kept` (only
 * the candidates prefix filtering cannot rule out are checked), or is null (every one is).
 */
function firstPass(
  doc: number,
  kept: ArrayLike<number>,
  from: number,
  judge: (a: number, b: number) => PairVerdict,
  index: KeptIndex | null,
): { position: number; jaccard: number; tried: number } {
  const positions = index ? index.candidatesFrom(doc, from) : null;
  const tries = positions ? positions.length : kept.length;
  let tried = 0;
  for (let i = positions ? 0 : from; i < tries; i++) {
    const k = positions ? positions[i] : i;
    const verdict = judge(doc, kept[k]);
    tried++;
    if (verdict.pass) return { position: k, jaccard: verdict.jaccard, tried };
  }
  return { position: -1, jaccard: Number.NaN, tried };
}

/**
 * decide(), with the checks of large components made ahead by `search` (e.g. on worker
 * threads): the same decisions, checks and statistics. A component of at least `minMembers`
 * is walked in blocks of `blockMembers` in keep order. The kept members before a block do not
 * change while it is decided, so each member's first pass among them is searched for all of
 * the block at once; only members without one are then checked here, in order, against the
 * members the block itself kept (later in keep order than any searched).
 */
export async function decideInBlocks(request: DecideRequest, search: FirstPassSearch, blockMembers = 256, minMembers = 512): Promise<Decisions> {
  const walk = new CoverWalk(request);
  for (const group of walk.components()) {
    if (group.length < minMembers) {
      for (let m = 1; m < group.length; m++) walk.member(group, m);
      continue;
    }
    for (let start = 1; start < group.length; start += blockMembers) {
      const end = Math.min(group.length, start + blockMembers);
      const kept = walk.keptMembers();
      const verdicts = Array.from({ length: end - start }, (_, i) => walk.leaderVerdict(group[start + i], group[0]));
      const queried: number[] = [];
      for (let m = start; m < end; m++) if (!verdicts[m - start].pass && kept.length > 1) queried.push(m);
      const ahead = queried.length === 0 ? null : await search({ leader: group[0], docs: Uint32Array.from(queried, (m) => group[m]), kept });
      let q = 0;
      for (let m = start; m < end; m++) {
        const mine = q < queried.length && queried[q] === m;
        const found = mine ? ahead!.found[q] : -1;
        walk.member(group, m, verdicts[m - start], {
          from: kept.length,
          tried: mine ? ahead!.tried[q] : 0,
          keeper: found >= 0 ? kept[found] : KEPT,
          jaccard: found >= 0 ? ahead!.jaccard[q] : Number.NaN,
        });
        if (mine) q++;
      }
    }
  }
  return walk.decisions();
}

/** A member's checks against the kept members before position `from`, made ahead. */
interface Ahead {
  from: number;
  tried: number;
  keeper: number;
  jaccard: number;
}

/** decide()'s state: components in keep order, the kept members of the current one, the outputs. */
class CoverWalk {
  private readonly of: Uint32Array;
  private readonly jaccard: Float32Array;
  private readonly stats: RuleStats;
  private readonly leaders = new Map<number, number>();
  private checks = 0;
  private readonly kept: number[] = [];
  private readonly index: KeptIndex | null;
  /** Kept members added to the index so far: it is brought up to date only when asked (most components never ask). */
  private indexed = 0;
  /** A member against a kept one (not the leader): only a pass's J is needed. */
  private readonly judgeKept = (a: number, b: number) => this.request.judge(a, b, false);

  constructor(private readonly request: DecideRequest) {
    const count = request.components.length;
    this.of = new Uint32Array(count).fill(KEPT);
    this.jaccard = new Float32Array(count).fill(Number.NaN);
    this.index = request.index ?? null;
    this.stats = {
      rule: request.rule,
      removed_cover: 0,
      removed_components: 0,
      components_removed_below_threshold: 0,
      kept_in_clusters: 0,
      jaccard_to_kept: { cover: new JaccardHistogram(), components: new JaccardHistogram() },
    };
  }

  /** Each component's members in keep order, its leader first (kept), as the walk reaches it. */
  *components(): Generator<Uint32Array> {
    const { components, sizes, before } = this.request;
    const { members, roots } = this.request.layout ?? componentLayout(components, sizes, before);
    let offset = 0;
    for (const root of roots) {
      const group = members.subarray(offset, offset + sizes[root]);
      offset += sizes[root];
      if (before) this.leaders.set(root, group[0]);
      this.kept.length = 0;
      this.kept.push(group[0]);
      if (this.indexed > 0) this.index?.clear();
      this.indexed = 0;
      yield group;
      this.stats.kept_in_clusters += this.request.rule === 'cover' ? this.kept.length : 1;
    }
  }

  leaderVerdict(doc: number, leader: number): PairVerdict {
    return this.request.first ? this.request.first(doc, leader) : this.request.judge(doc, leader, true);
  }

  /** The current component's kept members so far, in keep order. */
  keptMembers(): Uint32Array {
    return Uint32Array.from(this.kept);
  }

  /** Decides group[m]: removed for the first kept member in keep order it passes with, else kept. */
  member(group: Uint32Array, m: number, firstVerdict = this.leaderVerdict(group[m], group[0]), ahead: Ahead | null = null): void {
    const d = group[m];
    const { stats } = this;
    this.checks++;
    stats.removed_components++;
    stats.jaccard_to_kept.components.add(firstVerdict.jaccard);
    if (!firstVerdict.pass) stats.components_removed_below_threshold++;
    let keeper = firstVerdict.pass ? group[0] : KEPT;
    let similarity = firstVerdict.jaccard;
    let from = 1;
    if (keeper === KEPT && ahead) {
      this.checks += ahead.tried;
      keeper = ahead.keeper;
      similarity = ahead.jaccard;
      from = ahead.from;
    }
    if (keeper === KEPT) {
      // The first passing kept member in keep order from position `from` (kept[0] is already checked).
      const pass = firstPass(d, this.kept, from, this.judgeKept, this.index && this.indexUpToDate());
      this.checks += pass.tried;
      if (pass.position >= 0) {
        keeper = this.kept[pass.position];
        similarity = pass.jaccard;
      }
    }
    if (keeper === KEPT) this.kept.push(d);
    else {
      stats.removed_cover++;
      stats.jaccard_to_kept.cover.add(similarity);
    }
    if (this.request.rule === 'cover' && keeper !== KEPT) {
      this.of[d] = keeper;
      this.jaccard[d] = similarity;
    } else if (this.request.rule === 'components') {
      this.of[d] = group[0];
      this.jaccard[d] = firstVerdict.jaccard;
    }
  }

  private indexUpToDate(): KeptIndex {
    const index = this.index!;
    for (; this.indexed < this.kept.length; this.indexed++) index.add(this.kept[this.indexed], this.indexed);
    return index;
  }

  decisions(): Decisions {
    return { of: this.of, jaccard: this.jaccard, stats: this.stats, leaders: this.leaders, checks: this.checks };
  }
}
