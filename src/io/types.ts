/**
 * Types of the input layer (SPEC §1 "Objects", §7 "bad input"): what the user lists, what the
 * resolver expands it to, and the columnar batches the readers yield.
 */

/** Formats a reader exists for. JSONL covers plain, gzip and zstd; Arrow covers IPC file and stream. */
export type InputFormat = 'jsonl' | 'parquet' | 'arrow';

/** Byte-level compression of a JSONL file (Parquet and Arrow compress internally). */
export type Compression = 'none' | 'gzip' | 'zstd';

/**
 * One entry of the config's `inputs`. `path` is a file or a glob relative to the config's
 * directory; it may contain one `{source}` capture (e.g. `data/{source}/*.jsonl`) which
 * matches one path segment (or part of one) and names the source of every record in the
 * matched file, unless the record carries its own source field.
 */
export interface InputSpec {
  path: string;
  /** Overrides the format inferred from the extension. */
  format?: InputFormat;
  /** Source of every record in these files when the records carry none. Beats `{source}`. */
  source?: string;
}

/** One concrete input file after glob expansion. */
export interface ResolvedInput {
  /** Absolute path on disk. */
  path: string;
  /** Path shown in messages: relative to the base directory when inside it, POSIX separators. */
  displayPath: string;
  format: InputFormat;
  /** From the extension (`.gz`, `.zst`); JSONL readers also trust the file's magic bytes. */
  compression: Compression;
  /** Source for records that carry none: the spec's `source`, else the `{source}` capture. */
  source?: string;
  /** Index of the spec that produced this file (the first one, if several matched it). */
  specIndex: number;
}

/**
 * Where each record field lives. Names are looked up literally first; if there is no such
 * key, a dotted name walks nested objects (`meta.lang` → `record.meta.lang`), which also works
 * for Parquet/Arrow struct columns.
 */
export interface FieldMap {
  id: string;
  text: string;
  /** When unset, records carry no source and the input's `source` is used. */
  source?: string;
  /** Numeric quality scores to read; each becomes `RecordBatch.scores[name]`. */
  quality?: string[];
}

/** Field names used when the config names none. */
export const DEFAULT_FIELDS: Readonly<FieldMap> = Object.freeze({ id: 'id', text: 'text', source: 'source' });

/** Why a record was not accepted. One problem per record: the first check that fails. */
export type ProblemReason =
  | 'malformed-json' // the line does not parse as JSON
  | 'not-an-object' // the line parses, but to an array/number/string/null
  | 'invalid-utf8' // bytes are not UTF-8, or a string holds an unpaired surrogate
  | 'line-too-long' // a JSONL line longer than `maxLineBytes`; skipped without buffering it
  | 'missing-field' // absent or null id/text/score, or no source from record nor input
  | 'wrong-type' // e.g. a number where a string is expected, or a score given as a string
  | 'empty-id' // id is the empty string
  | 'empty-text' // text is empty after trimming whitespace
  | 'nan-score'; // a score that is NaN or ±Infinity

/**
 * A record that failed validation. Exactly one of `line` (JSONL, 1-based) and `row`
 * (Parquet/Arrow, 0-based) is set. `message` is one line, ready to print or to quarantine.
 */
export type BadRecord = {
  /** `ResolvedInput.displayPath`. */
  file: string;
  /** The configured field name, or `(line)` when the whole line is at fault. */
  field: string;
  reason: ProblemReason;
  message: string;
  /** The record's source when it could still be read (so quarantined records can be told apart by source). */
  source?: string;
} & ({ line: number; row?: undefined } | { row: number; line?: undefined });

/**
 * Up to `batchSize` valid records of one file, column by column, in input order, plus the
 * records of the same stretch of the file that failed validation (also in input order; their
 * position relative to valid rows is given by their line/row numbers).
 *
 * Invariant: `ids.length === sources.length === texts.length === rows.length === length`
 * and every `scores[name].length === length`.
 */
export interface RecordBatch {
  /** `ResolvedInput.displayPath` of the file the batch came from. */
  file: string;
  /** Number of valid records. */
  length: number;
  ids: string[];
  sources: string[];
  /** Each record's text; '' for a record a line shortcut took (see `shortcut`). */
  texts: string[];
  /**
   * What the reader's line shortcut (ReadOptions.shortcut) made of each record it took, in
   * place of its text; undefined for the records JSON.parse read. Absent when no record was
   * taken by a shortcut.
   */
  shortcut?: unknown[];
  /** One column per `FieldMap.quality` name, finite numbers. */
  scores: Record<string, Float64Array>;
  /** Position of each valid record: 1-based line for JSONL, 0-based row for Parquet/Arrow. */
  rows: Uint32Array;
  /** Whether `rows` holds lines (JSONL) or row indices (Parquet/Arrow). */
  rowKind: 'line' | 'row';
  problems: BadRecord[];
  /**
   * JSONL lines holding only whitespace in this stretch. They are skipped (not records, not
   * problems) but counted, so that lines = records + problems + blankLines.
   */
  blankLines: number;
  /**
   * Bytes of the file on disk consumed so far, for progress display: exact for JSONL
   * (compressed bytes read), estimated for Parquet (by rows) and Arrow (by batch bodies).
   * Never decreases; the file's last batch reports the file size.
   */
  bytesRead: number;
}

export interface ReadOptions {
  /** Maximum valid records per batch (default 8192). A batch also ends after this many problems. */
  batchSize?: number;
  /** Accept integer ids (JSON numbers, Parquet/Arrow ints) and turn them into decimal strings. Default false. */
  allowNumericIds?: boolean;
  /** JSONL lines longer than this are reported as `line-too-long` without being buffered (default 64 MiB). */
  maxLineBytes?: number;
  /** Read chunk size for JSONL files (default 1 MiB); tests shrink it to split characters. */
  chunkBytes?: number;
  /** Read only part of the file (a work unit, src/exec/units.ts); the whole file when unset. */
  part?: InputPart;
  /** JSONL only: a way to read plain lines without JSON.parse (LineShortcut). */
  shortcut?: LineShortcut;
}

/**
 * A JSONL line's record read from its bytes by a faster path than decoding and JSON.parse
 * (dedup's map: src/dedup/doc-scan.ts `JsonLineShortcut`). `take` sees every line before it is decoded and
 * returns null for any line it cannot read exactly as JSON.parse and the record checks would;
 * the reader then reads that line the general way. A record it returns passed every check of
 * `BatchBuilder.addRecord` (a present, non-empty, well-formed id and source, a text that is not
 * blank, finite scores).
 */
export interface LineShortcut {
  take(line: Uint8Array, start: number, end: number): ShortcutRecord | null;
}

export interface ShortcutRecord {
  id: string;
  source: string;
  /** In `FieldMap.quality` order. */
  scores: readonly number[];
  /** The text's length in UTF-16 units (batches close at BATCH_TEXT_UNITS). */
  textUnits: number;
  /** What the shortcut made of the text: the batch's `shortcut` entry. */
  made: unknown;
}

/**
 * A stretch of one input file that can be read on its own. JSONL without compression splits
 * at line boundaries: `bytes` [start, end) begins right after a newline, and `firstLine` is the
 * 1-based number of its first line, so messages and keep lists name the same lines as a read of
 * the whole file. Parquet splits between row groups: `rows` [start, end) covers whole groups.
 */
export type InputPart = { bytes: { start: number; end: number }; firstLine: number } | { rows: { start: number; end: number } };

export const DEFAULT_BATCH_SIZE = 8192;
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
