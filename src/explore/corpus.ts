/**
 * The explorer's corpus: records held in memory (the browser reads a dropped file whole),
 * tokenized once, with every per-record fact the curation stages need computed lazily and
 * cached, so moving a control re-runs only the stages it touches.
 *
 * The facts are the ones the Node pipeline's map phase records per record
 * (src/pipeline/shard.ts): source, token count T_r, quality score, heuristic verdict, the
 * exact-dedup key and the eval-like flag. Exact dedup there compares 128 bits of SHA-256 of
 * `normalizeForExactDedup(text)`; here the normalized strings themselves are compared (the same
 * equivalence, without a hash). Token ids are global over every record and eval text; the
 * per-run vocabulary (SPEC §3: distinct tokens of the *kept* documents and the eval sets, in
 * code-point order) is a sorted subset of it, picked after curation (retained.ts).
 */
import { TokenmixError } from '../errors.js';
import { ContaminationIndex } from '../filters/contamination.js';
import { heuristicVerdict } from '../filters/heuristics.js';
import type { HeuristicFilterConfig } from '../pipeline/config.js';
import { normalizeForExactDedup } from '../text/normalize.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { Vocabulary } from '../text/vocabulary.js';

/** One valid record (what a reader yields after validation, src/io/batch.ts). */
export interface ExploreRecord {
  id: string;
  source: string;
  text: string;
  /** Quality scores by field name (finite numbers). */
  scores?: Record<string, number>;
}

/** One evaluation domain: its texts (SPEC §4 p_j, and the contamination index of SPEC §2). */
export interface ExploreEvalSet {
  name: string;
  texts: string[];
}

/** Documents (or eval texts) as token ids in CSR form: item d owns ids[offsets[d] .. offsets[d+1]). */
export interface TokenRows {
  offsets: Uint32Array;
  ids: Uint32Array;
}

export class ExploreCorpus {
  readonly records: readonly ExploreRecord[];
  /** Distinct sources of all records, sorted (the manifest's `sources`). */
  readonly sources: string[];
  /** Source index of each record. */
  readonly sourceOf: Uint32Array;
  /** T_r of each record (`tokenizer.count`). */
  readonly tokenCounts: Uint32Array;
  /** 1 for a record whose id an earlier record already has (quarantined, as in the reduce phase). */
  readonly duplicateId: Uint8Array;
  /** Eval sets sorted by name (the order the Node pipeline reads them in). */
  readonly evals: ExploreEvalSet[];
  readonly tokenizer: Tokenizer;
  /** `words`: the token of each global id; null for a BPE tokenizer (ids are its own). */
  readonly vocabulary: string[] | null;
  /** Size of the global id space. */
  readonly vocabSize: number;
  /** Token ids of the records. */
  readonly tokens: TokenRows;
  /** Token ids of each eval set's texts, concatenated. */
  readonly evalTokens: Uint32Array[];

  private exactKeys: Uint32Array | null = null;
  private readonly heuristicCache = new Map<string, (string | null)[]>();
  private readonly evalLikeCache = new Map<string, Uint8Array>();

  constructor(records: readonly ExploreRecord[], evals: readonly ExploreEvalSet[], tokenizer: Tokenizer) {
    this.records = records;
    this.tokenizer = tokenizer;
    this.sources = [...new Set(records.map((r) => r.source))].sort();
    const sourceIndex = new Map(this.sources.map((s, i) => [s, i]));
    this.sourceOf = Uint32Array.from(records, (r) => sourceIndex.get(r.source)!);
    this.tokenCounts = Uint32Array.from(records, (r) => tokenizer.count(r.text));
    this.duplicateId = new Uint8Array(records.length);
    const seen = new Set<string>();
    records.forEach((r, i) => {
      if (seen.has(r.id)) this.duplicateId[i] = 1;
      else seen.add(r.id);
    });
    this.evals = [...evals].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const names = new Set<string>();
    for (const set of this.evals) {
      if (names.has(set.name)) throw new TokenmixError(`explorer: eval set "${set.name}" is given twice; eval names must be unique`);
      names.add(set.name);
    }

    if (tokenizer.vocabSize === null) {
      // Open vocabulary: intern in first-seen order, then renumber in code-point order.
      const vocabulary = new Vocabulary();
      const encode = (text: string) => Uint32Array.from(tokenizer.tokenize(text)!, (t) => vocabulary.intern(t));
      const raw = records.map((r) => encode(r.text));
      const rawEvals = this.evals.map((set) => concat(set.texts.map(encode)));
      const remap = vocabulary.sortedRemap();
      const renumber = (ids: Uint32Array) => ids.map((id) => remap[id]);
      this.tokens = csr(raw.map(renumber));
      this.evalTokens = rawEvals.map(renumber);
      const tokens = vocabulary.tokenList();
      this.vocabulary = new Array<string>(tokens.length);
      tokens.forEach((token, id) => (this.vocabulary![remap[id]] = token));
      this.vocabSize = tokens.length;
    } else {
      this.tokens = csr(records.map((r) => tokenizer.encode(r.text)));
      this.evalTokens = this.evals.map((set) => concat(set.texts.map((t) => tokenizer.encode(t))));
      this.vocabulary = null;
      this.vocabSize = tokenizer.vocabSize;
    }
  }

  get size(): number {
    return this.records.length;
  }

  /** Score of each record in `field` (NaN where a record has none: the threshold kernel's "no score"). */
  scores(field: string): Float64Array {
    return Float64Array.from(this.records, (r) => r.scores?.[field] ?? NaN);
  }

  /** Equal numbers mean equal `normalizeForExactDedup` texts. */
  exactDedupKeys(): Uint32Array {
    if (this.exactKeys === null) {
      const ids = new Map<string, number>();
      this.exactKeys = Uint32Array.from(this.records, (r) => {
        const key = normalizeForExactDedup(r.text);
        let id = ids.get(key);
        if (id === undefined) ids.set(key, (id = ids.size));
        return id;
      });
    }
    return this.exactKeys;
  }

  /** The first heuristic rule each record fails, or null (src/filters/heuristics.ts). */
  heuristicVerdicts(rules: HeuristicFilterConfig): (string | null)[] {
    const key = JSON.stringify(rules);
    let verdicts = this.heuristicCache.get(key);
    if (verdicts === undefined) {
      verdicts = this.records.map((r) => heuristicVerdict(r.text, rules));
      this.heuristicCache.set(key, verdicts);
    }
    return verdicts;
  }

  /** 1 where a record shares at least `minOverlap` word n-grams with the eval texts (SPEC §2). */
  evalLike(ngram: number, minOverlap: number): Uint8Array {
    const key = `${ngram}/${minOverlap}`;
    let flags = this.evalLikeCache.get(key);
    if (flags === undefined) {
      const index = new ContaminationIndex(ngram, minOverlap);
      for (const set of this.evals) for (const text of set.texts) index.addEvalText(text);
      flags = Uint8Array.from(this.records, (r) => (index.flags(r.text) ? 1 : 0));
      this.evalLikeCache.set(key, flags);
    }
    return flags;
  }
}

function concat(parts: Uint32Array[]): Uint32Array {
  const out = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function csr(rows: Uint32Array[]): TokenRows {
  const offsets = new Uint32Array(rows.length + 1);
  rows.forEach((row, i) => (offsets[i + 1] = offsets[i] + row.length));
  return { offsets, ids: concat(rows) };
}
