/**
 * JSONL reader (plain, gzip, zstd): one JSON object per line, streamed chunk by chunk.
 * Blank (whitespace-only) lines are skipped and counted in `RecordBatch.blankLines`; they
 * keep their line number, so messages point at the line a text editor shows. A BOM before
 * the first line is ignored. A file that is one JSON array fails as a whole (TokenmixError).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { TokenmixError } from '../errors.js';
import { BatchBuilder, WHOLE_LINE, type BatchOptions } from './batch.js';
import { openByteSource } from './bytes.js';
import { fieldPath, getField, MISSING } from './fields.js';
import { BAD_UTF8_LINE, LineSplitter, TOO_LONG_LINE, type Line, type RawLine } from './lines.js';
import type { FieldMap, LineShortcut, RecordBatch, ResolvedInput } from './types.js';

export interface JsonlOptions extends BatchOptions {
  maxLineBytes: number;
  chunkBytes: number;
  /** Only these bytes (line-aligned, uncompressed files only), numbered from `firstLine`. */
  part?: { bytes: { start: number; end: number }; firstLine: number };
  /** Reads the lines it can from their bytes (LineShortcut); the others are decoded and parsed. */
  shortcut?: LineShortcut;
}

export async function* readJsonl(input: ResolvedInput, fields: FieldMap, options: JsonlOptions): AsyncGenerator<RecordBatch> {
  const source = await openByteSource(input, options.chunkBytes, options.part?.bytes);
  const builder = BatchBuilder.forInput(input, fields, options);
  const idPath = fieldPath(fields.id);
  const textPath = fieldPath(fields.text);
  const sourcePath = fields.source === undefined ? undefined : fieldPath(fields.source);
  const qualityPaths = (fields.quality ?? []).map(fieldPath);
  const shortcut = options.shortcut;
  const splitter = new LineSplitter<boolean>(options.maxLineBytes, shortcut !== undefined);
  let lineNumber = (options.part?.firstLine ?? 1) - 1;

  const addLine = (raw: Line | RawLine) => {
    lineNumber++;
    let line: Line;
    if (typeof raw === 'object') {
      const record = shortcut!.take(raw.bytes, raw.start, raw.end);
      if (record !== null) return builder.addShortcut(lineNumber, record);
      line = splitter.decode(raw);
    } else {
      line = raw;
    }
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

/**
 * The text field of chosen lines of an uncompressed JSONL file, by a byte scan for newlines:
 * only those lines are decoded and parsed, and the scan stops after the last one (audit
 * excerpts want a few records spread over the file; reading every record for them cost as much
 * as the whole reduce's other passes). Lines are numbered as readJsonl numbers them (the first
 * is 1, blank lines count, a BOM before the first is ignored). A chosen line that is not an
 * object with a string at `textField` is left out.
 */
export function jsonlLineTexts(path: string, lines: ReadonlySet<number>, textField: string, chunkBytes = 4 << 20): Map<number, string> {
  const out = new Map<number, string>();
  const textPath = fieldPath(textField);
  let line = 1;
  let remaining = lines.size;
  const take = (bytes: Buffer) => {
    remaining--;
    let text = bytes.toString('utf8');
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      return;
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) return;
    const value = getField(record as Record<string, unknown>, textPath);
    if (typeof value === 'string') out.set(line, value);
  };
  if (remaining === 0) return out;
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(chunkBytes);
    let pending: Buffer[] | null = lines.has(1) ? [] : null;
    for (;;) {
      const read = readSync(fd, chunk, 0, chunkBytes, null);
      if (read === 0) break;
      const data = chunk.subarray(0, read);
      let start = 0;
      for (;;) {
        const newline = data.indexOf(0x0a, start);
        if (newline === -1) {
          pending?.push(Buffer.from(data.subarray(start)));
          break;
        }
        if (pending) take(Buffer.concat([...pending, data.subarray(start, newline)]));
        if (remaining === 0) return out;
        line++;
        start = newline + 1;
        pending = lines.has(line) ? [] : null;
      }
    }
    if (pending && pending.length > 0) take(Buffer.concat(pending));
    return out;
  } finally {
    closeSync(fd);
  }
}
