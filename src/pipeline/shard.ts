/**
 * Map phase: one input shard → one intermediate file of per-record facts (row, id,
 * source, tokens, score, heuristic verdict, exact-dedup hash, or the problem that kept the
 * record out), plus a completion marker with the shard's stats. The marker is written
 * last, after an atomic rename of the intermediate, so a killed run either has a complete
 * shard or none, and a rerun skips completed shards.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { TokenmixError } from '../errors.js';
import { readShardMarker, sortedKeys, writeShardMarker, type ShardMarkerBase } from '../work/markers.js';
import { tempPath } from '../work/temp.js';
import { inputIdentity } from '../work/fingerprint.js';
import { readRecords } from '../io/index.js';
import type { ResolvedInput, FieldMap } from '../io/types.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { normalizeForExactDedup } from '../text/normalize.js';
import { heuristicVerdict } from '../filters/heuristics.js';
import type { ContaminationIndex } from '../filters/contamination.js';
import { scoreField, type CurateConfig } from './config.js';
import type { Progress } from './progress.js';

/** One line of a shard's intermediate file. */
export type ShardRecord =
  | {
      row: number;
      id: string;
      source: string;
      tokens: number;
      score: number | null;
      heuristic: string | null;
      hash: string;
      /** Shares at least contamination.min_overlap n-grams with the eval sets. */
      eval_like: boolean;
    }
  | { row: number; problem: string; field: string; message: string; id?: undefined };

export interface ShardMarker extends ShardMarkerBase {
  sources: Record<string, number>;
  intermediate_sha256: string;
  intermediate_bytes: number;
}

export function shardPaths(workDir: string, shard: number): { records: string; marker: string } {
  const base = join(workDir, 'shards', String(shard).padStart(5, '0'));
  return { records: `${base}.records.jsonl`, marker: `${base}.done.json` };
}

/** The marker of a completed shard made with the same fingerprint, or null. */
export function readMarker(workDir: string, shard: number, fingerprint: string): Promise<ShardMarker | null> {
  return readShardMarker<ShardMarker>(
    shardPaths(workDir, shard).marker,
    fingerprint,
    `the output directory holds shard ${shard} from a run with a different config or tool version (${join(workDir, 'shards')}); ` +
      'use a new --out directory, or delete that one to start over',
  );
}

/** Hash of the normalized text used by exact dedup (128 bits of SHA-256, base64url). */
export function exactHash(text: string): string {
  return createHash('sha256').update(normalizeForExactDedup(text)).digest('base64url').slice(0, 22);
}

export interface ShardContext {
  config: CurateConfig;
  fields: FieldMap;
  tokenizer: Tokenizer;
  workDir: string;
  fingerprint: string;
  progress: Progress;
  /** Eval-set n-gram index when `contamination` is configured. */
  contamination: ContaminationIndex | null;
}

/** Process one shard and leave its intermediate and marker. Returns the marker. */
export async function processShard(input: ResolvedInput, shard: number, ctx: ShardContext): Promise<ShardMarker> {
  const paths = shardPaths(ctx.workDir, shard);
  await mkdir(join(ctx.workDir, 'shards'), { recursive: true });
  const temp = tempPath(paths.records);
  const out = createWriteStream(temp);
  const digest = createHash('sha256');
  // The input's fingerprints, read alongside the map's own read (work/fingerprint.ts).
  const identity = inputIdentity(input.path);
  identity.catch(() => {}); // awaited below; a read error of the map itself comes first
  let intermediateBytes = 0;
  const write = async (line: string) => {
    digest.update(line);
    intermediateBytes += Buffer.byteLength(line);
    if (!out.write(line)) await once(out, 'drain');
  };
  // The score that the quality filter and `keep: best-quality` use (see scoreField in config.ts).
  const qualityField = scoreField(ctx.config);
  const heuristics = ctx.config.filters.heuristics;
  const sources: Record<string, number> = {};
  let records = 0;
  let problems = 0;
  let blankLines = 0;
  let lastBytes = 0;
  try {
    for await (const batch of readRecords(input, ctx.fields, { batchSize: ctx.config.batch_size })) {
      // Interleave valid rows and problems back into input order by their line/row numbers.
      const lines: { row: number; text: string }[] = [];
      for (const p of batch.problems) {
        if (ctx.config.on_error === 'fail') {
          throw new TokenmixError(`${p.message} (or set "on_error": "quarantine" to set such records aside and count them)`);
        }
        const row = p.line ?? p.row;
        lines.push({ row, text: JSON.stringify({ row, problem: p.reason, field: p.field, message: p.message } satisfies ShardRecord) });
      }
      for (let i = 0; i < batch.length; i++) {
        const text = batch.texts[i];
        const source = batch.sources[i];
        const record: ShardRecord = {
          row: batch.rows[i],
          id: batch.ids[i],
          source,
          tokens: ctx.tokenizer.count(text),
          score: qualityField ? batch.scores[qualityField][i] : null,
          heuristic: heuristics ? heuristicVerdict(text, heuristics) : null,
          hash: exactHash(text),
          eval_like: ctx.contamination ? ctx.contamination.flags(text) : false,
        };
        sources[source] = (sources[source] ?? 0) + 1;
        lines.push({ row: record.row, text: JSON.stringify(record) });
      }
      lines.sort((a, b) => a.row - b.row);
      for (const line of lines) await write(`${line.text}\n`);
      records += batch.length;
      problems += batch.problems.length;
      blankLines += batch.blankLines;
      ctx.progress.advance(batch.length + batch.problems.length, batch.bytesRead - lastBytes);
      lastBytes = batch.bytesRead;
    }
    out.end();
    await once(out, 'finish');
  } catch (error) {
    out.destroy();
    throw error;
  }
  await rename(temp, paths.records);
  const marker: ShardMarker = {
    shard,
    file: input.displayPath,
    fingerprint: ctx.fingerprint,
    input: await identity,
    records,
    problems,
    blank_lines: blankLines,
    sources: sortedKeys(sources),
    intermediate_sha256: digest.digest('hex'),
    intermediate_bytes: intermediateBytes,
  };
  await writeShardMarker(paths.marker, marker);
  return marker;
}
