/**
 * What near dedup needs of every record of an explorer corpus, computed once per
 * (ngram, numHashes, seed, sketch) as `tokenmix dedup`'s signature phase computes it per
 * document (src/dedup/signature-phase.ts): word hashes after the shingle normalization, the
 * sorted shingle set, and the signature (one-permutation MinHash of the set, or K-permutation
 * MinHash of the words; the kernel on the session's backend, GPU or CPU, bit-identical). The
 * decisions among the records that reach the stage are the engine's (src/steps/near-memory.ts).
 */
import type { Backend } from '../backend.js';
import { minhashConstants } from '../cpu/minhash.js';
import { shingleBatch } from '../cpu/oph.js';
import { bandKeys, type LshPlan } from '../dedup/lsh.js';
import { DEFAULT_SKETCH, type SketchKind } from '../dedup/options.js';
import { shingleSet, shingleWords } from '../dedup/shingles.js';
import { minhash } from '../kernels/minhash.js';
import { oph } from '../kernels/oph.js';
import type { NearDocuments } from '../steps/near-memory.js';
import type { CurationRecord } from '../steps/curation.js';
import type { ExploreCorpus } from './corpus.js';

export interface NearDedupParams {
  ngram: number;
  numHashes: number;
  seed: number;
  /** The signature sketch, as `tokenmix dedup --sketch` (default `oph`). */
  sketch?: SketchKind;
}

/** Signatures and shingle sets of every record of a corpus, for one (ngram, numHashes, seed, sketch). */
export class NearDedupIndex {
  private readonly keysByBanding = new Map<string, Uint32Array>();

  private constructor(
    readonly params: NearDedupParams,
    /** N × numHashes signature slots. */
    readonly signatures: Uint32Array,
    /** Sorted unique shingle hashes of each record (empty: no words, never a near duplicate). */
    readonly shingleSets: Uint32Array[],
    /** Equal numbers ⇔ equal exact-dedup texts. */
    private readonly exactKeys: Uint32Array,
  ) {}

  static async build(corpus: ExploreCorpus, params: NearDedupParams, backend: Backend): Promise<NearDedupIndex> {
    const words = corpus.records.map((r) => shingleWords(r.text));
    const { shingleSeed } = minhashConstants(params);
    const sets = words.map((w) => shingleSet(w, params.ngram, shingleSeed));
    let signatures: Uint32Array;
    if ((params.sketch ?? DEFAULT_SKETCH) === 'oph') {
      signatures = await oph(backend, shingleBatch(sets), { numHashes: params.numHashes, seed: params.seed });
    } else {
      const batch = shingleBatch(words);
      signatures = await minhash(backend, { offsets: batch.offsets, tokens: batch.shingles }, params);
    }
    return new NearDedupIndex(params, signatures, sets, corpus.exactDedupKeys());
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

  /** The records `members` (corpus indices, in input order) as near dedup's documents 0, 1, …. */
  documents(members: readonly number[], plan: LshPlan, records: readonly CurationRecord[]): NearDocuments {
    const keys = this.bandKeys(plan.bands, plan.rows);
    const width = 2 * plan.bands;
    return {
      count: members.length,
      set: (d) => this.shingleSets[members[d]],
      bandKeys: (d) => keys.subarray(members[d] * width, (members[d] + 1) * width),
      exactKey: (d) => this.exactKeys[members[d]],
      score: (d) => records[members[d]].score,
      id: (d) => records[members[d]].id,
    };
  }
}
