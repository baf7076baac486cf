/**
 * The options of a near-dedup run (SPEC §2), validated once, with every default resolved,
 * so the manifest can record exactly what ran.
 */
import { TokenmixError } from '../errors.js';
import { OPH_MAX_HASHES } from '../cpu/oph.js';
import type { FieldMap, InputSpec } from '../io/types.js';
import { BUCKET_LINKS, type BucketLinks } from './bucket-table.js';
import { CLUSTER_RULES, type ClusterRule } from './cover.js';
import { DEFAULT_MARGIN, DEFAULT_WEIGHTS, type LshWeights } from './lsh.js';

export type KeepRule = 'first' | 'best-quality';
export type VerifyMode = 'exact' | 'signature' | 'none';
export const KEEP_RULES: readonly KeepRule[] = ['first', 'best-quality'];
export const VERIFY_MODES: readonly VerifyMode[] = ['exact', 'signature', 'none'];

/**
 * `minhash`: K independent permutations, O(shingles × K) per document. `oph`: one permutation
 * split into K bins with optimal densification (src/cpu/oph.ts), O(shingles + K); the same
 * estimator and LSH banding.
 */
export const SKETCHES = ['minhash', 'oph'] as const;
export type SketchKind = (typeof SKETCHES)[number];
export const DEFAULT_SKETCH: SketchKind = 'oph';

export interface DedupOptions {
  inputs: InputSpec[];
  /** Base directory of relative input paths (default: the current directory). */
  baseDir?: string;
  outDir: string;
  /** Jaccard threshold of a near duplicate (default 0.8). */
  threshold?: number;
  /** Give both to fix the banding; otherwise it is chosen from the threshold. */
  bands?: number;
  rows?: number;
  /** Bands are tuned for threshold − margin (default 0.2). */
  margin?: number;
  weights?: LshWeights;
  ngram?: number;
  numHashes?: number;
  seed?: number;
  /** Shingle normalization options (src/text/normalize.ts). */
  digits?: boolean;
  diacritics?: boolean;
  keep?: KeepRule;
  /** Score field for `keep: best-quality` (higher is better). */
  qualityField?: string;
  /** Record fields; `source: null` reads no source field (each input's `source` is used, as curate's `fields.source: null`). */
  fields?: Partial<Pick<FieldMap, 'id' | 'text'>> & { source?: string | null };
  verify?: VerifyMode;
  /** Signature sketch: K-permutation MinHash, or one-permutation MinHash with optimal densification. */
  sketch?: SketchKind;
  links?: BucketLinks;
  /** Which members of a cluster go (cover.ts; default cover). */
  cluster?: ClusterRule;
  /**
   * Memory budget of the run, bytes (default 512 MiB per worker, at least 1 GiB): the threads,
   * the per-document arrays, the vector caches and the grouping tables are planned to fit it
   * (memory.ts); when it is given, each worker's heap is also capped at its share.
   */
  memoryBytes?: number;
  /**
   * Per input (in the order the inputs resolve to), the only records to read: their rows,
   * ascending (1-based lines for JSONL, row indices otherwise), or null for all of them. Other
   * records, problems and blank lines are passed over as if absent, and documents are numbered
   * among the selected. curate's near dedup selects the records that reach it.
   */
  selected?: (Uint32Array | null)[];
  /** Fixes each grouping table (with its range's reads) at this many bytes instead of planning it from `memoryBytes` (tests use it to force many bucket ranges). */
  groupingBytes?: number;
  batchSize?: number;
  onError?: 'fail' | 'quarantine';
  rank?: number;
  worldSize?: number;
  /** Worker threads for the signature phase (default: the cores available; 1 = this thread). */
  workers?: number;
  /** Heap limit of the workers together, MiB (each gets its share; default `memoryBytes`). */
  workerMemoryMb?: number;
  /** Target size of a work unit in bytes (default 64 MiB): big files split into parts. */
  unitBytes?: number;
  /** 'map': signatures of this rank's shards only; 'reduce': grouping and outputs only. Default 'all'. */
  stage?: 'map' | 'reduce' | 'all';
  /** Keep the intermediate files after a complete run (default: delete them). */
  keepWork?: boolean;
}

export interface ResolvedDedupOptions {
  threshold: number;
  bands: number | null;
  rows: number | null;
  margin: number;
  weights: LshWeights;
  ngram: number;
  numHashes: number;
  seed: number;
  digits: boolean;
  diacritics: boolean;
  keep: KeepRule;
  qualityField: string | null;
  fields: { id: string; text: string; source: string | null };
  verify: VerifyMode;
  sketch: SketchKind;
  links: BucketLinks;
  cluster: ClusterRule;
  /** null: the default for the run's workers (memory.ts defaultMemoryBytes). */
  memoryBytes: number | null;
  groupingBytes: number | null;
  batchSize: number;
  onError: 'fail' | 'quarantine';
}

function oneOf<T extends string>(value: T | undefined, allowed: readonly T[], fallback: T, flag: string): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) throw new TokenmixError(`${flag} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  return value;
}

function integer(value: number | undefined, fallback: number, flag: string, min: number, max: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max) throw new TokenmixError(`${flag} must be an integer from ${min} to ${max} (got ${value})`);
  return n;
}

export function resolveDedupOptions(options: DedupOptions): ResolvedDedupOptions {
  const threshold = options.threshold ?? 0.8;
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) throw new TokenmixError(`--threshold must be a number in (0, 1] (got ${threshold})`);
  const keep = oneOf(options.keep, KEEP_RULES, 'first', '--keep');
  const qualityField = options.qualityField ?? null;
  if (keep === 'best-quality' && !qualityField) throw new TokenmixError('--keep best-quality needs --quality-field NAME (the numeric score to keep the best of; higher is better)');
  if (qualityField !== null && qualityField.length === 0) throw new TokenmixError('--quality-field must be a non-empty field name');
  const fields = { id: options.fields?.id ?? 'id', text: options.fields?.text ?? 'text', source: options.fields?.source === null ? null : (options.fields?.source ?? 'source') };
  for (const [name, value] of Object.entries(fields)) if (value !== null && !value) throw new TokenmixError(`--${name}-field must be a non-empty field name`);
  const margin = options.margin ?? DEFAULT_MARGIN;
  if (typeof margin !== 'number' || !(margin >= 0 && margin < 1)) throw new TokenmixError(`--margin must be a number in [0, 1) (got ${margin})`);
  const sketch = oneOf(options.sketch, SKETCHES, DEFAULT_SKETCH, '--sketch');
  const numHashes = integer(options.numHashes, 128, '--num-hashes', 1, 0xffff);
  if (sketch === 'oph' && numHashes > OPH_MAX_HASHES) {
    throw new TokenmixError(`--num-hashes ${numHashes} is above ${OPH_MAX_HASHES}, the most one-permutation MinHash takes: lower it or pass --sketch minhash`);
  }
  return {
    threshold,
    bands: options.bands ?? null,
    rows: options.rows ?? null,
    margin,
    weights: options.weights ?? { ...DEFAULT_WEIGHTS },
    ngram: integer(options.ngram, 5, '--ngram', 1, 0xffff),
    numHashes,
    seed: integer(options.seed, 1, '--seed', 0, 0xffffffff),
    digits: options.digits ?? false,
    diacritics: options.diacritics ?? false,
    keep,
    qualityField,
    fields,
    verify: oneOf(options.verify, VERIFY_MODES, 'exact', '--verify'),
    sketch,
    links: oneOf(options.links, BUCKET_LINKS, 'star-chain', '--links'),
    cluster: oneOf(options.cluster, CLUSTER_RULES, 'cover', '--cluster'),
    memoryBytes: options.memoryBytes === undefined ? null : integer(options.memoryBytes, 0, '--memory-mb (bytes)', 2 ** 20, 2 ** 50),
    groupingBytes: options.groupingBytes === undefined ? null : integer(options.groupingBytes, 0, 'groupingBytes', 4096, 2 ** 45),
    batchSize: integer(options.batchSize, 4096, 'batchSize', 1, 1 << 22),
    onError: oneOf(options.onError, ['fail', 'quarantine'] as const, 'fail', '--on-error'),
  };
}
