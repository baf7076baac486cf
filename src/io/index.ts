/**
 * Input layer (Node only: it reads files): resolve the config's inputs to files, then stream
 * each file as validated columnar batches. See `types.ts` for the batch and problem shapes.
 */
export { resolveInputs, formatFromName } from './resolve.js';
export { readRecords } from './read.js';
export { contentHash } from './hash.js';
export {
  DEFAULT_BATCH_SIZE, DEFAULT_FIELDS, DEFAULT_MAX_LINE_BYTES,
  type BadRecord, type Compression, type FieldMap, type InputFormat, type InputSpec,
  type ProblemReason, type ReadOptions, type RecordBatch, type ResolvedInput,
} from './types.js';
