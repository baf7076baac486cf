/**
 * The map task of `tokenmix dedup`: one work unit → its signature intermediates (signature-
 * phase.ts), runnable on any thread. Signatures come from the thread that owns the GPU
 * (through the task's link) or, on the CPU backend, from the CPU oracle on this thread.
 */
import type { Backend } from '../backend.js';
import type { PhaseTimes } from '../gpu/timing.js';
import { minhash } from '../kernels/minhash.js';
import { oph } from '../kernels/oph.js';
import type { SignRequest, Task, TaskLink } from '../exec/executor.js';
import type { WorkUnit } from '../exec/units.js';
import type { FieldMap, ResolvedInput } from '../io/types.js';
import type { ResolvedDedupOptions } from './options.js';
import { processSignatureUnit, type SignatureContext, type SignatureMarker } from './signature-phase.js';

export interface SignatureUnitTask extends Task {
  kind: 'signature-unit';
  options: ResolvedDedupOptions;
  fields: FieldMap;
  bands: number;
  rows: number;
  workDir: string;
  fingerprint: string;
  input: ResolvedInput;
  unit: WorkUnit;
  firstLine: number;
  /** Ask the submitting thread (the GPU's owner) for signatures instead of computing them here. */
  remoteSign: boolean;
  /** The input's selected rows (DedupOptions.selected; shared, not copied), or null for all. */
  selected: Uint32Array | null;
  /** The run's session (SignatureContext.session), or absent outside one (a cluster's map task). */
  session?: string;
}

export interface SignatureUnitResult {
  marker: SignatureMarker;
  times: NonNullable<SignatureContext['times']>;
}

/**
 * Signatures of a batch with the run's sketch: MinHash hashes the word CSR's shingles itself;
 * one-permutation MinHash takes the shingle sets (the request's `tokens` are then shingle hashes).
 */
export function signBatch(backend: Backend, options: ResolvedDedupOptions, request: SignRequest, times?: PhaseTimes): Promise<Uint32Array> {
  if (options.sketch === 'oph') return oph(backend, { offsets: request.offsets, shingles: request.tokens }, { numHashes: options.numHashes, seed: options.seed }, times);
  return minhash(backend, request, { ngram: options.ngram, numHashes: options.numHashes, seed: options.seed }, times);
}

const CPU: Backend = { kind: 'cpu', reason: 'worker thread' };

export function cpuSigner(options: ResolvedDedupOptions): (request: SignRequest) => Promise<Uint32Array> {
  return (request) => signBatch(CPU, options, request);
}

export async function runSignatureUnit(task: SignatureUnitTask, link: TaskLink): Promise<SignatureUnitResult> {
  const times = { readMs: 0, wordsMs: 0, minhashMs: 0, writeMs: 0 };
  const sign = task.remoteSign && link.sign ? link.sign.bind(link) : cpuSigner(task.options);
  const marker = await processSignatureUnit(task.input, task.unit, task.firstLine, {
    options: task.options,
    fields: task.fields,
    sign,
    bands: task.bands,
    rows: task.rows,
    workDir: task.workDir,
    fingerprint: task.fingerprint,
    selected: task.selected,
    ...(task.session !== undefined ? { session: task.session } : {}),
    advance: (records, bytes) => link.advance(records, bytes),
    times,
  });
  return { marker, times };
}
