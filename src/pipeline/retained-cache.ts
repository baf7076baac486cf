/**
 * The retained corpus of a curated directory, cached under `DIR/.tokenmix/retained/` so that
 * mixture-only reruns (`tokenmix mix` with changed mixture keys, `tokenmix mix --from DIR`) skip
 * curation and the histogram pass: they read K×V counts, per-document token counts and the
 * kept-record store back instead of re-reading and re-tokenizing the inputs.
 *
 * The cache is keyed by `curatedDigest`: the curated manifest with only the curation keys of its
 * config, so any change of curation (config, inputs' content, eval sets, tool version) misses it
 * and a mixture key never does. `corpus.json` is written last: its presence means a whole cache.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest } from './curate.js';
import type { RetainedCorpus } from './distributions.js';
import { curationConfig } from './mix-config.js';

/** Mixture blocks a `tokenmix mix` manifest adds to the curated one. */
export const MIX_MANIFEST_KEYS = ['mixture', 'diagnostics', 'optimized', 'sweep', 'sampling_plan'] as const;

/** Outputs `tokenmix mix` adds beside curation's (the materialized plan). */
export function isMixOutput(path: string): boolean {
  return path === 'sampling_plan.jsonl' || path.startsWith('mixed/');
}

/** The curated part of a curate or mix manifest: mixture blocks and mixed outputs removed. */
export function curatedPart(manifest: Manifest): Manifest {
  const out = { ...manifest } as Record<string, unknown>;
  for (const key of MIX_MANIFEST_KEYS) delete out[key];
  out.outputs = manifest.outputs.filter((o) => !isMixOutput(o.path));
  return out as unknown as Manifest;
}

export function curatedDigest(manifest: Manifest): string {
  const curated = { ...curatedPart(manifest), config: curationConfig(manifest.config) };
  return createHash('sha256').update(JSON.stringify(curated)).digest('hex');
}

export interface CacheRecord {
  curated_digest: string;
  /** [path, size, mtime ms] of each input when the cache was built: a cheap "inputs unchanged" check. */
  input_stats: [string, number, number][];
  has_store: boolean;
  sources: string[];
  vocab_size: number;
  vocabulary: string[] | null;
  retained_docs: number[];
  leak_tokens: number[];
  doc_counts: number[];
  eval_names: string[];
}

export function cacheDir(curatedDir: string): string {
  return join(curatedDir, '.tokenmix', 'retained');
}

export function keptStorePath(curatedDir: string): string {
  return join(cacheDir(curatedDir), 'kept.jsonl');
}

export async function readCacheRecord(curatedDir: string): Promise<CacheRecord | null> {
  try {
    return JSON.parse(await readFile(join(cacheDir(curatedDir), 'corpus.json'), 'utf8')) as CacheRecord;
  } catch {
    return null;
  }
}

/** Save `corpus` (whose kept-record store, if any, is already at `keptStorePath`). */
export async function saveRetainedCorpus(curatedDir: string, corpus: RetainedCorpus, record: Pick<CacheRecord, 'curated_digest' | 'input_stats'>): Promise<void> {
  const dir = cacheDir(curatedDir);
  await mkdir(dir, { recursive: true });
  const evalNames = [...corpus.evalCounts.keys()];
  const parts: Float64Array[] = [corpus.counts, ...corpus.docTokens.map((d) => Float64Array.from(d))];
  if (corpus.docRefs) parts.push(...corpus.docRefs.map((refs) => Float64Array.from(refs.flatMap((r) => [r.offset, r.length]))));
  parts.push(...evalNames.map((name) => corpus.evalCounts.get(name)!));
  await writeFile(join(dir, 'arrays.f64.partial'), Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
  await rename(join(dir, 'arrays.f64.partial'), join(dir, 'arrays.f64'));
  const full: CacheRecord = {
    ...record,
    has_store: corpus.docRefs !== null,
    sources: corpus.sources,
    vocab_size: corpus.vocabSize,
    vocabulary: corpus.vocabulary,
    retained_docs: corpus.retainedDocs,
    leak_tokens: corpus.leakTokens,
    doc_counts: corpus.docTokens.map((d) => d.length),
    eval_names: evalNames,
  };
  await writeFile(join(dir, 'corpus.json.partial'), JSON.stringify(full));
  await rename(join(dir, 'corpus.json.partial'), join(dir, 'corpus.json'));
}

/** Forget the cache before rebuilding it: a kill mid-rebuild then leaves no record of a stale store. */
export async function dropCacheRecord(curatedDir: string): Promise<void> {
  await rm(join(cacheDir(curatedDir), 'corpus.json'), { force: true });
}

/** The cached corpus, or null when its arrays do not have the sizes the record says (then rebuild). */
export async function loadRetainedCorpus(curatedDir: string, record: CacheRecord): Promise<RetainedCorpus | null> {
  const bytes = await readFile(join(cacheDir(curatedDir), 'arrays.f64'));
  const docs = record.doc_counts.reduce((a, b) => a + b, 0);
  const expected = record.sources.length * record.vocab_size + docs * (record.has_store ? 3 : 1) + record.eval_names.length * record.vocab_size;
  if (bytes.byteLength !== expected * 8) return null;
  const all = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  let at = 0;
  const take = (n: number) => all.slice(at, (at += n));
  const K = record.sources.length;
  const counts = take(K * record.vocab_size);
  const docTokens = record.doc_counts.map((n) => Array.from(take(n)));
  const docRefs = record.has_store
    ? record.doc_counts.map((n) => {
        const flat = take(2 * n);
        return Array.from({ length: n }, (_, d) => ({ offset: flat[2 * d], length: flat[2 * d + 1] }));
      })
    : null;
  const evalCounts = new Map(record.eval_names.map((name) => [name, take(record.vocab_size)]));
  return {
    sources: record.sources,
    vocabSize: record.vocab_size,
    vocabulary: record.vocabulary,
    counts,
    retainedDocs: record.retained_docs,
    leakTokens: record.leak_tokens,
    docTokens,
    docRefs,
    evalCounts,
  };
}
