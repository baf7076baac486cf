/**
 * JSONL reader (plain, gzip, zstd): one JSON object per line, streamed chunk by chunk.
 * Blank (whitespace-only) lines are skipped and counted in `RecordBatch.blankLines`; they
 * keep their line number, so messages point at the line a text editor shows. A BOM before
 * the first line is ignored. A file that is one JSON array fails as a whole (TokenmixError).
 */
import { TokenmixError } from '../errors.js';
import { BatchBuilder, WHOLE_LINE, type BatchOptions } from './batch.js';
import { openByteSource } from './bytes.js';
import { fieldPath, getField, MISSING } from './fields.js';
import { BAD_UTF8_LINE, LineSplitter, TOO_LONG_LINE, type Line } from './lines.js';
import type { FieldMap, RecordBatch, ResolvedInput } from './types.js';

export interface JsonlOptions extends BatchOptions {
  maxLineBytes: number;
  chunkBytes: number;
  /** Only these bytes (line-aligned, uncompressed files only), numbered from `firstLine`. */
  part?: { bytes: { start: number; end: number }; firstLine: number };
}

export async function* readJsonl(input: ResolvedInput, fields: FieldMap, options: JsonlOptions): AsyncGenerator<RecordBatch> {
  const source = await openByteSource(input, options.chunkBytes, options.part?.bytes);
  const builder = BatchBuilder.forInput(input, fields, options);
  const idPath = fieldPath(fields.id);
  const textPath = fieldPath(fields.text);
  const sourcePath = fields.source === undefined ? undefined : fieldPath(fields.source);
  const qualityPaths = (fields.quality ?? []).map(fieldPath);
  const splitter = new LineSplitter(options.maxLineBytes);
  let lineNumber = (options.part?.firstLine ?? 1) - 1;

  const addLine = (line: Line) => {
    lineNumber++;
    if (line === BAD_UTF8_LINE) {
      builder.addProblem(lineNumber, WHOLE_LINE, 'invalid-utf8', 'line is not valid UTF-8 (convert the file to UTF-8)');
      return;
    }
    if (line === TOO_LONG_LINE) {
      builder.addProblem(lineNumber, WHOLE_LINE, 'line-too-long',
        `line is longer than ${options.maxLineBytes} bytes and was skipped (raise maxLineBytes if such records are expected)`);
      return;
    }
    let text = line;
    if (lineNumber === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const first = text.charCodeAt(0);
    if (first !== 0x7b /* { */ && text.trim().length === 0) {
      builder.addBlankLine();
      return;
    }
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (error) {
      if (lineNumber === 1 && text.trimStart().startsWith('[')) {
        // A whole-file JSON array would otherwise turn into one problem per line.
        throw new TokenmixError(`${input.displayPath} looks like one JSON array, not JSON Lines (one object per line); convert it, e.g. jq -c '.[]' in.json > out.jsonl`, { where: input.displayPath });
      }
      builder.addProblem(lineNumber, WHOLE_LINE, 'malformed-json', `line is not valid JSON (${jsonErrorText(error)})`);
      return;
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      const kind = record === null ? 'null' : Array.isArray(record) ? 'an array' : `a ${typeof record}`;
      builder.addProblem(lineNumber, WHOLE_LINE, 'not-an-object', `line is JSON ${kind}, expected an object with the record's fields`);
      return;
    }
    const object = record as Record<string, unknown>;
    const scores = qualityPaths.map((path) => getField(object, path));
    builder.addRecord(
      lineNumber,
      getField(object, idPath),
      sourcePath === undefined ? MISSING : getField(object, sourcePath),
      getField(object, textPath),
      scores,
    );
  };

  for await (const chunk of source.chunks) {
    for (const line of splitter.push(chunk)) {
      addLine(line);
      if (builder.full) yield builder.take(source.bytesRead())!;
    }
  }
  for (const line of splitter.end()) {
    addLine(line);
    if (builder.full) yield builder.take(source.bytesRead())!;
  }
  const last = builder.take(source.bytesRead());
  if (last !== undefined) yield last;
}

/** V8's JSON.parse message, on one line and short (it may quote part of the line). */
function jsonErrorText(error: unknown): string {
  const text = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ');
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
