/**
 * Map phase of near dedup (SPEC §2, §7): one work unit (an input file or a part of one,
 * src/exec/units.ts) → per-unit intermediate files and a completion marker, so the work splits
 * over workers and ranks and a killed run resumes from completed units (the shape of
 * src/pipeline/shard.ts). The grouping phase treats each unit as a "shard" of documents;
 * only the outputs map units back to their input files.
 *
 * Per unit, in document order (local index = position among the unit's valid records):
 *   docs.bin        row, id, source, tokens, score, exact-text hash per record (doc-table.ts)
 *   problems.jsonl  bad records (when --on-error quarantine)
 *   shingles.bin    sorted unique u32 shingle hashes, concatenated   } exact verification
 *   lengths.bin     u32 shingle-set size per document                }
 *   signatures.bin  K u32 per document (only for --verify signature)
 *   bands.bin       (bandKey, doc) records, segmented (partition.ts), one per band per
 *                   document with at least one shingle, plus one exact-text record
 * Every file is written under a `.partial` name and renamed; the marker is written last.
 */
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { minhashConstants } from '../cpu/minhash.js';
import { InputCorruptError, TokenmixError } from '../errors.js';
import { readShardMarker, sortedKeys, unitIdentity, writeShardMarker, type UnitMarkerBase } from '../work/markers.js';
import { tempPath } from '../work/temp.js';
import { describeIntermediate, recordedStat, stableStatKey, unitInputIdentity } from '../work/fingerprint.js';
import type { PhaseTimes } from '../gpu/timing.js';
import { readRecords } from '../io/index.js';
import type { FieldMap, RecordBatch, ResolvedInput } from '../io/types.js';
import type { SignRequest } from '../exec/executor.js';
import { unitPart, type WorkUnit } from '../exec/units.js';
import { shingleBatch, ShingleBatchBuilder } from '../cpu/oph.js';
import { textKernel } from '../text/text-kernel.js';
import { bandKeys } from './lsh.js';
import type { ResolvedDedupOptions } from './options.js';
import { BandRecordWriter, type BandFileSummary } from './partition.js';
import { JsonLineShortcut, kernelScans, scanText, type DocScan, type ScanSettings } from './doc-scan.js';
import { DocTableWriter } from './doc-table.js';
import { dict } from '../dict.js';

/** Set on the document word of exact-text records (so at most 2^31 − 1 documents per shard). */
export const EXACT_FLAG = 0x80000000;

export interface SourceCounts {
  docs: number;
  tokens: number;
}

export interface SignatureMarker extends UnitMarkerBase {
  /** Valid records without any word (no shingle): never near duplicates. */
  without_words: number;
  sources: Record<string, SourceCounts>;
  bands: BandFileSummary;
  /** Size and SHA-256 of each intermediate file, by its key in shardFiles(): checked before grouping (with its statKey in a session). */
  intermediates: Record<string, { bytes: number; sha256: string; stat?: string }>;
}

/** A unit's files: `00003` for a whole input, `00003.part0001of4` for a part. */
export function unitFiles(workDir: string, unit: Pick<WorkUnit, 'input' | 'part' | 'parts'>) {
  const name = String(unit.input).padStart(5, '0') + (unit.parts > 1 ? `.part${String(unit.part).padStart(4, '0')}of${unit.parts}` : '');
  return shardFiles(workDir, name);
}

/** A finished unit's files, from its marker. */
export function markerFiles(workDir: string, marker: SignatureMarker) {
  return unitFiles(workDir, { input: marker.shard, part: marker.part, parts: marker.parts });
}

function shardFiles(workDir: string, name: string) {
  const base = join(workDir, 'shards', name);
  return {
    docs: `${base}.docs.bin`,
    problems: `${base}.problems.jsonl`,
    shingles: `${base}.shingles.bin`,
    lengths: `${base}.lengths.bin`,
    signatures: `${base}.signatures.bin`,
    bands: `${base}.bands.bin`,
    marker: `${base}.done.json`,
  };
}

/** The marker of a completed unit made with the same fingerprint and range, or null. */
export async function readSignatureMarker(workDir: string, unit: WorkUnit, fingerprint: string): Promise<SignatureMarker | null> {
  const marker = await readShardMarker<SignatureMarker>(
    unitFiles(workDir, unit).marker,
    fingerprint,
    `${join(workDir, 'shards')} holds input shard ${unit.input} of a dedup run with different inputs, options or tool version; ` +
      'use a new --out directory, or delete that one to start over',
  );
  if (marker && JSON.stringify(marker.range) !== JSON.stringify(unit.range ?? null)) return null;
  return marker;
}

export interface SignatureContext {
  options: ResolvedDedupOptions;
  fields: FieldMap;
  /** MinHash signatures of a batch (K u32 per document): the GPU owner's, or the CPU oracle. */
  sign: (request: SignRequest) => Promise<Uint32Array>;
  bands: number;
  rows: number;
  workDir: string;
  fingerprint: string;
  /** Called after each batch with (records + problems, bytes read since last call). */
  advance?: (records: number, bytes: number) => void;
  /**
   * Wall times: reading+parsing, words+shingle sets+exact hashes, waiting for signatures
   * (on the GPU this overlaps the next batch's reading and words), band keys+writes.
   */
  times?: { readMs: number; wordsMs: number; minhashMs: number; writeMs: number; gpu?: PhaseTimes };
  /** Checked between batches: lets tests interrupt a shard midway (a "kill"). */
  signal?: AbortSignal;
  /** The only rows to read (ascending), or null/absent for all (DedupOptions.selected). */
  selected?: Uint32Array | null;
  /**
   * The run's session (a token of the process that maps and reduces): its marker then also
   * records the files' stat keys, and that process's reduce compares them instead of hashing
   * again what this unit hashed (work/markers.ts inputStaleReason).
   */
  session?: string;
}

/** Whether `selected` may hold a row of `unit`: any row of a byte range (its lines are not known before reading), one in a row range. */
function selectsIn(selected: Uint32Array, unit: WorkUnit): boolean {
  if (selected.length === 0) return false;
  if (unit.range?.kind !== 'rows') return true;
  const { start, end } = unit.range;
  const at = lowerBound(selected, start);
  return at < selected.length && selected[at] < end;
}

/** The first position of an ascending list holding a value >= `value` (its length if none). */
export function lowerBound(list: Uint32Array, value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The records of `batch` at rows in `selected` (ascending); problems and blank lines go. */
function selectRows(batch: RecordBatch, selected: Uint32Array): RecordBatch {
  const keep: number[] = [];
  // The first selected row at or after the batch's first row, then a walk (both ascend).
  for (let i = 0, k = lowerBound(selected, batch.length > 0 ? batch.rows[0] : 0); i < batch.length && k < selected.length; i++) {
    while (k < selected.length && selected[k] < batch.rows[i]) k++;
    if (selected[k] === batch.rows[i]) keep.push(i);
  }
  const pick = <T>(values: ArrayLike<T>) => keep.map((i) => values[i]);
  const scores: Record<string, Float64Array> = {};
  for (const [name, column] of Object.entries(batch.scores) as [string, Float64Array][]) scores[name] = Float64Array.from(keep, (i) => column[i]);
  return {
    ...batch,
    length: keep.length,
    ids: pick(batch.ids),
    sources: pick(batch.sources),
    texts: pick(batch.texts),
    ...(batch.shortcut ? { shortcut: pick(batch.shortcut) } : {}),
    scores,
    rows: Uint32Array.from(keep, (i) => batch.rows[i]),
    problems: [],
    blankLines: 0,
  };
}

class OutFile {
  readonly fd: number;
  private readonly temp: string;
  constructor(readonly path: string) {
    this.temp = tempPath(path);
    this.fd = openSync(this.temp, 'w');
  }
  write(data: string | Uint8Array): void {
    if (typeof data === 'string') {
      writeSync(this.fd, data);
      return;
    }
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done);
  }
  commit(): void {
    closeSync(this.fd);
    renameSync(this.temp, this.path);
  }
  abandon(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

const u8 = (a: Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export async function processSignatureUnit(input: ResolvedInput, unit: WorkUnit, firstLine: number, ctx: SignatureContext): Promise<SignatureMarker> {
  const { options, bands, rows, times } = ctx;
  const paths = unitFiles(ctx.workDir, unit);
  const part = unitPart(unit, firstLine);
  const { shingleSeed } = minhashConstants({ ngram: options.ngram, numHashes: options.numHashes, seed: options.seed });
  const docs = new OutFile(paths.docs);
  const docTable = new DocTableWriter((bytes) => docs.write(bytes));
  const problemsFile = new OutFile(paths.problems);
  const shingles = new OutFile(paths.shingles);
  const lengths = new OutFile(paths.lengths);
  const signaturesFile = options.verify === 'signature' ? new OutFile(paths.signatures) : null;
  const files = [docs, problemsFile, shingles, lengths, ...(signaturesFile ? [signaturesFile] : [])];
  const bandsTemp = tempPath(paths.bands);
  const bandWriter = new BandRecordWriter(bandsTemp);
  // The unit's fingerprints, read alongside the map's own read (work/fingerprint.ts).
  const statBefore = ctx.session ? await stableStatKey(input.path) : null;
  const identity = unitInputIdentity(input.path, unit.range, unit.part);
  identity.catch(() => {}); // awaited below; a read error of the map itself comes first
  const sources: Record<string, SourceCounts> = dict();
  let records = 0;
  let problems = 0;
  let blankLines = 0;
  let withoutWords = 0;
  let lastBytes = 0;
  const qualityField = options.qualityField;
  const scanSettings: ScanSettings = { options, shingleSeed, keepWords: options.sketch !== 'oph' };
  const kernel = kernelScans(options) ? textKernel() : null;
  const shortcut = input.format === 'jsonl' ? JsonLineShortcut.create(ctx.fields, input.source, false, scanSettings) : null;
  const clock = () => performance.now();
  // Two builders, alternating: batch k's sets may still be read by its signing (on the GPU)
  // while batch k + 1's are built; batch k + 2 comes after batch k's signatures are awaited.
  const builders = [new ShingleBatchBuilder(), new ShingleBatchBuilder()];
  let batches = 0;
  // Signatures of batch k are computed (on the GPU: asynchronously) while batch k+1 is read
  // and tokenized; band records are written when they arrive. Exact-text records and band
  // records live in different key spaces, so their interleaving does not matter.
  let pending: { base: number; count: number; setLengths: Uint32Array; signatures: Promise<Uint32Array> } | null = null;
  const finish = async () => {
    if (!pending) return;
    let t = clock();
    const signatures = await pending.signatures;
    if (times) times.minhashMs += clock() - t;
    t = clock();
    const keys = bandKeys(signatures, options.numHashes, bands, rows);
    for (let i = 0; i < pending.count; i++) {
      if (pending.setLengths[i] === 0) continue; // no words: no near-duplicate buckets
      for (let j = 0; j < bands; j++) {
        const at = 2 * (i * bands + j);
        bandWriter.add(keys[at], keys[at + 1], pending.base + i);
      }
    }
    signaturesFile?.write(u8(signatures));
    if (times) times.writeMs += clock() - t;
    pending = null;
  };
  try {
    let readStart = clock();
    // A selection without a row in this unit reads nothing (curate's near dedup: a unit curate
    // quarantined whole, as a damaged file, is not read again).
    const reads = ctx.selected && !selectsIn(ctx.selected, unit) ? [] : readRecords(input, ctx.fields, { batchSize: options.batchSize, ...(part ? { part } : {}), ...(shortcut ? { shortcut } : {}) });
    for await (const read of reads) {
      const batch = ctx.selected ? selectRows(read, ctx.selected) : read;
      if (times) times.readMs += clock() - readStart;
      if (ctx.signal?.aborted) throw ctx.signal.reason;
      if (records + batch.length >= EXACT_FLAG) throw new TokenmixError(`${input.displayPath}: more than 2^31 − 1 records in one work unit; lower --unit-mb`);
      const t = clock();
      const problemLines: string[] = [];
      for (const p of batch.problems) {
        if (options.onError === 'fail') throw new TokenmixError(`${p.message} (or pass --on-error quarantine to set such records aside and count them)`);
        problemLines.push(`${JSON.stringify({ file: p.file, ...(p.line !== undefined ? { line: p.line } : { row: p.row }), field: p.field, reason: p.reason, message: p.message })}\n`);
      }
      // Each document's shingle set, words, token count and exact-text hash (doc-scan.ts): made
      // while reading for the lines the shortcut took, here for the others.
      const wordLists: Uint32Array[] = [];
      const tokenCounts: number[] = [];
      // Each document's exact-text hash, 16 bytes (the docs table's column).
      const hashBytes = Buffer.alloc(16 * batch.length);
      const sets = builders[batches++ & 1];
      sets.start(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const doc = (batch.shortcut?.[i] as DocScan | undefined) ?? scanText(batch.texts[i], kernel, scanSettings);
        sets.add(doc.set);
        if (doc.words) wordLists.push(doc.words);
        tokenCounts.push(doc.tokens);
        hashBytes.set(doc.hash, 16 * i);
      }
      const setBatch = sets.batch();
      const setLengths = new Uint32Array(batch.length);
      const base = records;
      for (let i = 0; i < batch.length; i++) {
        const length = setBatch.offsets[i + 1] - setBatch.offsets[i];
        setLengths[i] = length;
        if (length === 0) withoutWords++;
        const source = batch.sources[i];
        const counts = (sources[source] ??= { docs: 0, tokens: 0 });
        counts.docs++;
        counts.tokens += tokenCounts[i];
        bandWriter.add(hashBytes.readUInt32BE(16 * i), hashBytes.readUInt32BE(16 * i + 4), (base + i) | EXACT_FLAG);
      }
      docTable.add(batch.rows, batch.ids, batch.sources, tokenCounts, qualityField ? batch.scores[qualityField] : null, hashBytes);
      // One write per batch for the shingle sets (documents are often a few hundred bytes).
      const packed = setBatch.shingles;
      shingles.write(u8(packed));
      if (problemLines.length > 0) problemsFile.write(problemLines.join(''));
      lengths.write(u8(setLengths));
      if (times) times.wordsMs += clock() - t;
      await finish();
      const launched = clock();
      // On the CPU this call does all the work before returning; the GPU owner answers later.
      // One-permutation MinHash signs the shingle sets (written to their file above, so the
      // buffer can be handed over); MinHash hashes the words' shingles itself.
      const words = options.sketch === 'oph' ? null : shingleBatch(wordLists);
      const signatures = ctx.sign(words ? { offsets: words.offsets, tokens: words.shingles } : { offsets: setBatch.offsets, tokens: packed });
      if (times) times.minhashMs += clock() - launched;
      signatures.catch(() => {}); // awaited by finish(); this only keeps Node from calling it unhandled meanwhile
      pending = { base, count: batch.length, setLengths, signatures };
      records += batch.length;
      problems += batch.problems.length;
      blankLines += batch.blankLines;
      ctx.advance?.(read.length + read.problems.length, batch.bytesRead - lastBytes);
      lastBytes = batch.bytesRead;
      readStart = clock();
    }
    await finish();
  } catch (error) {
    for (const f of files) f.abandon();
    try {
      bandWriter.close();
    } catch {
      // the error that got us here matters more
    }
    if (error instanceof InputCorruptError && options.onError === 'quarantine') return quarantineUnit(input, unit, ctx, error);
    throw error;
  }
  for (const f of files) f.commit();
  const bandSummary = bandWriter.close();
  await rename(bandsTemp, paths.bands);
  const marker: SignatureMarker = {
    ...unitIdentity(unit, input.displayPath, ctx.fingerprint),
    ...(ctx.session ? { session: ctx.session } : {}),
    input: ctx.session ? await recordedStat(input.path, await identity, statBefore) : await identity,
    records,
    problems,
    blank_lines: blankLines,
    without_words: withoutWords,
    sources: sortedKeys(sources),
    bands: bandSummary,
    intermediates: await describeIntermediates(paths, signaturesFile !== null, ctx.workDir, ctx.session !== undefined),
  };
  await writeShardMarker(paths.marker, marker);
  return marker;
}

/**
 * A damaged file (bad checksum, truncated, garbage) under `--on-error quarantine`, as in
 * curate: nothing this unit read is kept; it has no documents and one quarantine entry for
 * the file (or its part) (`field: "(file)"`, reason `unreadable-file`).
 */
async function quarantineUnit(input: ResolvedInput, unit: WorkUnit, ctx: SignatureContext, error: InputCorruptError): Promise<SignatureMarker> {
  const paths = unitFiles(ctx.workDir, unit);
  const files = [paths.docs, paths.problems, paths.shingles, paths.lengths, ...(ctx.options.verify === 'signature' ? [paths.signatures] : [])].map((path) => new OutFile(path));
  new DocTableWriter((bytes) => files[0].write(bytes)); // an empty table: its magic alone
  const message = error.message.replace(/^tokenmix: /, '');
  files[1].write(`${JSON.stringify({ file: input.displayPath, line: 0, field: '(file)', reason: 'unreadable-file', message })}\n`);
  for (const f of files) f.commit();
  const bandsTemp = tempPath(paths.bands);
  const bandWriter = new BandRecordWriter(bandsTemp);
  const bands = bandWriter.close();
  await rename(bandsTemp, paths.bands);
  const marker: SignatureMarker = {
    ...unitIdentity(unit, input.displayPath, ctx.fingerprint),
    input: await unitInputIdentity(input.path, unit.range, unit.part),
    records: 0, problems: 1, blank_lines: 0, without_words: 0, sources: {}, bands,
    intermediates: await describeIntermediates(paths, ctx.options.verify === 'signature', ctx.workDir),
  };
  await writeShardMarker(paths.marker, marker);
  return marker;
}

/** Size and SHA-256 of each intermediate file of a unit, for its marker (checked before grouping). */
async function describeIntermediates(paths: ReturnType<typeof unitFiles>, signatures: boolean, workDir: string, withStat = false): Promise<SignatureMarker['intermediates']> {
  const intermediates: SignatureMarker['intermediates'] = {};
  const kinds: ('docs' | 'problems' | 'shingles' | 'lengths' | 'bands' | 'signatures')[] = ['docs', 'problems', 'shingles', 'lengths', 'bands'];
  if (signatures) kinds.push('signatures');
  for (const key of kinds) {
    const found = await describeIntermediate(paths[key], withStat);
    if (!found) throw new TokenmixError(`${paths[key]} vanished right after it was written: is another process deleting ${workDir}?`);
    intermediates[key] = found;
  }
  return intermediates;
}
