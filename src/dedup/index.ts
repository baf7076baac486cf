/** Near-duplicate removal (SPEC §2): Node only (it reads inputs and writes intermediate files). */
export { dedup, emptyDedupTimes, type DedupHooks, type DedupManifest, type DedupResult, type DedupTimes } from './run.js';
export { resolveDedupOptions, KEEP_RULES, VERIFY_MODES, type DedupOptions, type KeepRule, type VerifyMode } from './options.js';
export { planLsh, optimalBands, collisionProbability, falsePositiveArea, falseNegativeArea, sCurvePoints, bandKeys, type LshPlan } from './lsh.js';
export { UnionFind } from './union-find.js';
export { BucketTable, BUCKET_LINKS, type BucketLinks } from './bucket-table.js';
export { shingleSet, shingleWords, jaccardAtLeast, jaccardSorted, intersectionSize } from './shingles.js';
