/**
 * A work unit's per-document table (`docs.bin`), written by the map (signature-phase.ts) and
 * read by the id check (unique-ids.ts) and both cluster passes (cluster-tasks.ts): each
 * record's row, id, source, token count, quality score and exact-text hash, in document order.
 *
 * It was a JSON line per record. Parsing those lines was about half of each worker's cluster
 * pass and most of its garbage (1M documents: `JSON.parse` 0.7–0.8 s and GC 0.7 s a worker), so
 * the table is columnar binary, one block per map batch, read a block at a time as typed-array
 * views with one UTF-8 decode for all of a block's ids.
 *
 * Layout (little-endian; every section starts at a multiple of 8 bytes from the block's start):
 *   file    "TMDOCS1\n", then blocks
 *   block   u32 count n, u32 id bytes, u32 new-source bytes, u32 flags (1: ids as a JSON string)
 *           rows u32[n] · tokens f64[n] · scores f64[n] (NaN: none) · hashes 16 B[n]
 *           source indices u32[n] · id ends u32[n] (UTF-16 units into the block's joined ids)
 *           ids, joined, UTF-8 · new sources: a JSON array of the source names first used here
 * A source index counts over every name of the file so far, in order of first use. A block whose
 * ids hold a surrogate stores them as one JSON string, which keeps an unpaired one (a JSON id may
 * have it) exactly.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { TokenmixError } from '../errors.js';

const MAGIC = Buffer.from('TMDOCS1\n', 'latin1');
const HEADER_BYTES = 16;
const IDS_AS_JSON = 1;

const pad8 = (n: number) => (n + 7) & ~7;

/** Byte offsets of a block's sections, from its header. */
function layout(count: number, idBytes: number, sourceBytes: number) {
  const rows = HEADER_BYTES;
  const tokens = rows + pad8(4 * count);
  const scores = tokens + 8 * count;
  const hashes = scores + 8 * count;
  const sources = hashes + 16 * count;
  const idEnds = sources + pad8(4 * count);
  const ids = idEnds + pad8(4 * count);
  const newSources = ids + pad8(idBytes);
  return { rows, tokens, scores, hashes, sources, idEnds, ids, newSources, end: newSources + pad8(sourceBytes) };
}

/** One block of the table: views into a buffer the next block reuses (copy what you keep). */
export interface DocBlock {
  count: number;
  rows: Uint32Array;
  tokens: Float64Array;
  /** NaN where the record had no score (or no --quality-field was given). */
  scores: Float64Array;
  /** 16 bytes per record. */
  hashes: Uint8Array;
  /** Index into `sources` of each record's source. */
  sourceIndex: Uint32Array;
  /** Every source name of the file so far. */
  sources: string[];
  /** The block's ids joined; record i's id is ids.slice(idStart(i), idEnds[i]). */
  ids: string;
  idEnds: Uint32Array;
}

/** Record i's id in a block. */
export function blockId(block: DocBlock, i: number): string {
  return block.ids.slice(i === 0 ? 0 : block.idEnds[i - 1], block.idEnds[i]);
}

const encoder = new TextEncoder();
const SURROGATE = /[\ud800-\udfff]/;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Appends blocks to a unit's table through `write` (which gets the magic first). */
export class DocTableWriter {
  private readonly sourceIndex = new Map<string, number>();

  constructor(private readonly write: (bytes: Uint8Array) => void) {
    write(MAGIC);
  }

  /** One block: per-record columns of equal length (`hashes` 16 bytes a record). */
  add(rows: ArrayLike<number>, ids: string[], sources: string[], tokens: ArrayLike<number>, scores: ArrayLike<number | null> | null, hashes: Uint8Array): void {
    const count = ids.length;
    const newSources: string[] = [];
    const sourceIndex = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      let index = this.sourceIndex.get(sources[i]);
      if (index === undefined) {
        index = this.sourceIndex.size;
        this.sourceIndex.set(sources[i], index);
        newSources.push(sources[i]);
      }
      sourceIndex[i] = index;
    }
    const joined = ids.join('');
    // Any surrogate (rare in ids) sends the block's ids through JSON, which keeps unpaired ones.
    const asJson = SURROGATE.test(joined);
    const idBytes = encoder.encode(asJson ? JSON.stringify(joined) : joined);
    const sourceBytes = newSources.length > 0 ? encoder.encode(JSON.stringify(newSources)) : new Uint8Array(0);
    const at = layout(count, idBytes.length, sourceBytes.length);
    const block = new Uint8Array(at.end);
    const view = new DataView(block.buffer);
    view.setUint32(0, count, true);
    view.setUint32(4, idBytes.length, true);
    view.setUint32(8, sourceBytes.length, true);
    view.setUint32(12, asJson ? IDS_AS_JSON : 0, true);
    const u32 = (offset: number) => new Uint32Array(block.buffer, offset, count);
    const f64 = (offset: number) => new Float64Array(block.buffer, offset, count);
    u32(at.rows).set(rows);
    f64(at.tokens).set(tokens);
    const scoreColumn = f64(at.scores);
    for (let i = 0; i < count; i++) {
      const score = scores?.[i] ?? null;
      scoreColumn[i] = score === null ? NaN : score;
    }
    block.set(hashes.subarray(0, 16 * count), at.hashes);
    u32(at.sources).set(sourceIndex);
    const idEnds = u32(at.idEnds);
    let end = 0;
    for (let i = 0; i < count; i++) idEnds[i] = end += ids[i].length;
    block.set(idBytes, at.ids);
    block.set(sourceBytes, at.newSources);
    this.write(block);
  }
}

/** The blocks of a unit's table, in order (each block's views are reused by the next). */
export function* readDocTable(path: string): Generator<DocBlock> {
  const fail = (what: string): never => {
    throw new TokenmixError(`${path}: ${what}; the run's intermediate files are damaged: delete the --out directory's work files and run again`);
  };
  const fd = openSync(path, 'r');
  try {
    const readExactly = (into: Uint8Array, bytes: number): number => {
      let done = 0;
      while (done < bytes) {
        const n = readSync(fd, into, done, bytes - done, null);
        if (n === 0) break;
        done += n;
      }
      return done;
    };
    const magic = new Uint8Array(MAGIC.length);
    if (readExactly(magic, MAGIC.length) !== MAGIC.length || !MAGIC.equals(magic)) fail('not a tokenmix document table');
    const sources: string[] = [];
    let buffer = new Uint8Array(1 << 16);
    for (;;) {
      const got = readExactly(buffer, HEADER_BYTES);
      if (got === 0) return;
      if (got !== HEADER_BYTES) fail('ends inside a block header');
      const header = new DataView(buffer.buffer, 0, HEADER_BYTES);
      const count = header.getUint32(0, true);
      const idBytes = header.getUint32(4, true);
      const sourceBytes = header.getUint32(8, true);
      const flags = header.getUint32(12, true);
      const at = layout(count, idBytes, sourceBytes);
      if (buffer.length < at.end) {
        const grown = new Uint8Array(Math.max(at.end, 2 * buffer.length));
        grown.set(buffer.subarray(0, HEADER_BYTES));
        buffer = grown;
      }
      if (readExactly(buffer.subarray(HEADER_BYTES), at.end - HEADER_BYTES) !== at.end - HEADER_BYTES) fail('ends inside a block');
      if (sourceBytes > 0) sources.push(...(JSON.parse(decoder.decode(buffer.subarray(at.newSources, at.newSources + sourceBytes))) as string[]));
      const u32 = (offset: number) => new Uint32Array(buffer.buffer, offset, count);
      const f64 = (offset: number) => new Float64Array(buffer.buffer, offset, count);
      const idText = decoder.decode(buffer.subarray(at.ids, at.ids + idBytes));
      const sourceIndex = u32(at.sources);
      for (let i = 0; i < count; i++) if (sourceIndex[i] >= sources.length) fail(`record ${i + 1} of a block names source ${sourceIndex[i]} of ${sources.length}`);
      yield {
        count,
        rows: u32(at.rows),
        tokens: f64(at.tokens),
        scores: f64(at.scores),
        hashes: buffer.subarray(at.hashes, at.hashes + 16 * count),
        sourceIndex,
        sources,
        ids: flags & IDS_AS_JSON ? (JSON.parse(idText) as string) : idText,
        idEnds: u32(at.idEnds),
      };
    }
  } finally {
    closeSync(fd);
  }
}
