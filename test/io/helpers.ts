/** Shared helpers for the input-layer tests: temp dirs and reading a whole file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRecords } from '../../src/io/index.js';
import type { BadRecord, FieldMap, ReadOptions, RecordBatch, ResolvedInput } from '../../src/io/index.js';

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tokenmix-io-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ReadResult {
  batches: RecordBatch[];
  ids: string[];
  sources: string[];
  texts: string[];
  rows: number[];
  scores: Record<string, number[]>;
  problems: BadRecord[];
  blankLines: number;
}

export async function readAll(input: ResolvedInput, fields: FieldMap, options?: ReadOptions): Promise<ReadResult> {
  const result: ReadResult = { batches: [], ids: [], sources: [], texts: [], rows: [], scores: {}, problems: [], blankLines: 0 };
  for await (const batch of readRecords(input, fields, options)) {
    result.batches.push(batch);
    result.ids.push(...batch.ids);
    result.sources.push(...batch.sources);
    result.texts.push(...batch.texts);
    result.rows.push(...batch.rows);
    for (const [name, column] of Object.entries(batch.scores)) (result.scores[name] ??= []).push(...column);
    result.problems.push(...batch.problems);
    result.blankLines += batch.blankLines;
  }
  return result;
}

/** A ResolvedInput for a file the test wrote itself (no glob resolution involved). */
export function inputFor(path: string, displayPath: string, format: ResolvedInput['format'], extra: Partial<ResolvedInput> = {}): ResolvedInput {
  const compression = path.endsWith('.gz') ? 'gzip' : path.endsWith('.zst') ? 'zstd' : 'none';
  return { path, displayPath, format, compression, specIndex: 0, ...extra };
}
