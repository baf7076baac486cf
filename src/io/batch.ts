/**
 * Validates records (SPEC §7: bad input names file, line/row and field) and packs the valid
 * ones into columnar `RecordBatch`es. Every reader funnels its records through one
 * `BatchBuilder`, so the checks and their messages are identical across formats.
 */
import { INVALID_UTF8, MISSING } from './fields.js';
import type { BadRecord, FieldMap, ProblemReason, RecordBatch, ResolvedInput, ShortcutRecord } from './types.js';
import { dict } from '../dict.js';

/** Field name used in problems about the whole line rather than one field. */
export const WHOLE_LINE = '(line)';

export interface BatchContext {
  /** `ResolvedInput.displayPath`. */
  file: string;
  rowKind: 'line' | 'row';
  fields: FieldMap;
  /** The input's source, used when a record carries none. */
  inputSource: string | undefined;
  batchSize: number;
  allowNumericIds: boolean;
  /** A batch is also full once its texts hold this many UTF-16 units (default BATCH_TEXT_UNITS). */
  batchTextUnits?: number;
}

/**
 * Text a batch holds before it is taken, in UTF-16 units (2 Mi: 2–6 MB of UTF-8). A batch's texts
 * live until it is processed; 4096 documents of a few kB each outgrew V8's young generation, so
 * every text was copied to the old generation and its pages faulted in, then collected again
 * (licenses-npm × 12, 2 workers: 4.1 → 3.7 s and peak RSS 528 → 354 MiB with this bound).
 */
export const BATCH_TEXT_UNITS = 1 << 21;

/** Batch options every reader takes. */
export interface BatchOptions {
  batchSize: number;
  allowNumericIds: boolean;
}

export class BatchBuilder {
  /** A builder for the records of one resolved input file. */
  static forInput(input: ResolvedInput, fields: FieldMap, options: BatchOptions): BatchBuilder {
    return new BatchBuilder({
      file: input.displayPath,
      rowKind: input.format === 'jsonl' ? 'line' : 'row',
      fields,
      inputSource: input.source,
      batchSize: options.batchSize,
      allowNumericIds: options.allowNumericIds,
    });
  }

  private readonly qualityNames: string[];
  private ids: string[] = [];
  private sources: string[] = [];
  private texts: string[] = [];
  /** `RecordBatch.shortcut`, made on the first record a shortcut took. */
  private made: unknown[] | undefined;
  private rows: Uint32Array;
  private scores: Float64Array[];
  private problems: BadRecord[] = [];
  private blankLines = 0;
  private textUnits = 0;

  constructor(private readonly context: BatchContext) {
    this.qualityNames = context.fields.quality ?? [];
    this.rows = new Uint32Array(context.batchSize);
    this.scores = this.qualityNames.map(() => new Float64Array(context.batchSize));
  }

  /** True when the batch must be taken before adding another record. */
  get full(): boolean {
    return this.ids.length >= this.context.batchSize || this.problems.length >= this.context.batchSize
      || this.textUnits >= (this.context.batchTextUnits ?? BATCH_TEXT_UNITS);
  }

  /** Where a record is, as printed: `file:17` for lines, `file row 17` for rows. */
  location(position: number): string {
    const { file, rowKind } = this.context;
    return rowKind === 'line' ? `${file}:${position}` : `${file} row ${position}`;
  }

  addBlankLine(): void {
    this.blankLines++;
  }

  /** Records a problem; `detail` is the part of the message after the location. */
  addProblem(position: number, field: string, reason: ProblemReason, detail: string): void {
    const message = `tokenmix: ${this.location(position)}: ${detail}`;
    const where = this.context.rowKind === 'line' ? { line: position } : { row: position };
    this.problems.push({ file: this.context.file, field, reason, message, ...where });
  }

  /**
   * Validates one record whose field values were already looked up (`MISSING` when absent,
   * `INVALID_UTF8` when the decoder rejected the bytes) and keeps it or records a problem.
   * Checks run in a fixed order (id, source, text, scores) and the first failure is reported.
   */
  addRecord(position: number, id: unknown, source: unknown, text: unknown, scores: readonly unknown[]): void {
    const idValue = this.checkId(position, id);
    if (idValue === undefined) return this.tagSource(source);
    const sourceValue = this.checkSource(position, source);
    if (sourceValue === undefined) return;
    if (!this.checkText(position, text)) return this.tagSource(sourceValue);
    const slot = this.ids.length;
    for (let q = 0; q < this.qualityNames.length; q++) {
      const score = this.checkScore(position, this.qualityNames[q], scores[q]);
      if (score === undefined) return this.tagSource(sourceValue);
      this.scores[q][slot] = score;
    }
    this.ids.push(idValue);
    this.sources.push(sourceValue);
    this.texts.push(text as string);
    this.textUnits += (text as string).length;
    this.rows[slot] = position;
  }

  /** Keeps a record a line shortcut read and checked (LineShortcut). */
  addShortcut(position: number, record: ShortcutRecord): void {
    const slot = this.ids.length;
    for (let q = 0; q < this.qualityNames.length; q++) this.scores[q][slot] = record.scores[q];
    (this.made ??= [])[slot] = record.made;
    this.ids.push(record.id);
    this.sources.push(record.source);
    this.texts.push('');
    this.textUnits += record.textUnits;
    this.rows[slot] = position;
  }

  /** The accumulated batch (and a fresh builder state), or undefined when nothing accumulated. */
  take(bytesRead: number): RecordBatch | undefined {
    const length = this.ids.length;
    if (length === 0 && this.problems.length === 0 && this.blankLines === 0) return undefined;
    const scores: Record<string, Float64Array> = dict();
    this.qualityNames.forEach((name, q) => {
      scores[name] = this.scores[q].slice(0, length);
    });
    const batch: RecordBatch = {
      file: this.context.file,
      length,
      ids: this.ids,
      sources: this.sources,
      texts: this.texts,
      scores,
      rows: this.rows.slice(0, length),
      rowKind: this.context.rowKind,
      problems: this.problems,
      blankLines: this.blankLines,
      bytesRead,
    };
    if (this.made !== undefined) {
      this.made.length = length;
      batch.shortcut = this.made;
      this.made = undefined;
    }
    this.ids = [];
    this.sources = [];
    this.texts = [];
    this.problems = [];
    this.blankLines = 0;
    this.textUnits = 0;
    return batch;
  }

  private checkId(position: number, value: unknown): string | undefined {
    const name = this.context.fields.id;
    if (typeof value === 'string') {
      if (value.length === 0) return this.fail(position, name, 'empty-id', `field "${name}" is empty`);
      if (!isWellFormed(value)) return this.fail(position, name, 'invalid-utf8', unpairedSurrogate(name));
      return value;
    }
    if (value === MISSING || value === null || value === undefined) {
      return this.fail(position, name, 'missing-field', `${missing(name, value)} (set fields.id in the config if the id is under another name)`);
    }
    if (value === INVALID_UTF8) return this.fail(position, name, 'invalid-utf8', `field "${name}" is not valid UTF-8`);
    const isInteger = typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value));
    if (isInteger && this.context.allowNumericIds) return String(value);
    const hint = isInteger ? ' (ids must be strings: convert the integer ids, e.g. jq -c \'.id |= tostring\' for JSON Lines)' : '';
    return this.fail(position, name, 'wrong-type', `field "${name}" is ${describe(value)}, expected a string${hint}`);
  }

  private checkSource(position: number, value: unknown): string | undefined {
    const name = this.context.fields.source;
    if (name !== undefined) {
      if (typeof value === 'string' && value.length > 0) {
        if (!isWellFormed(value)) return this.fail(position, name, 'invalid-utf8', unpairedSurrogate(name));
        return value;
      }
      if (value === INVALID_UTF8) return this.fail(position, name, 'invalid-utf8', `field "${name}" is not valid UTF-8`);
      const absent = value === MISSING || value === null || value === undefined || value === '';
      if (!absent) return this.fail(position, name, 'wrong-type', `field "${name}" is ${describe(value)}, expected a string`);
    }
    if (this.context.inputSource !== undefined) return this.context.inputSource;
    const field = name ?? 'source';
    const why = name === undefined ? 'fields.source is not configured' : `${missing(name, value)}`;
    return this.fail(position, field, 'missing-field',
      `record has no source: ${why} and the input sets none (add "source" to the input, or capture it with {source} in its path)`);
  }

  private checkText(position: number, value: unknown): boolean {
    const name = this.context.fields.text;
    if (typeof value === 'string') {
      // Cheap common case first: text that starts with a non-space character is not blank.
      const first = value.charCodeAt(0);
      const blank = value.length === 0 || (isSpaceCode(first) && value.trim().length === 0);
      if (blank) return this.fail(position, name, 'empty-text', `field "${name}" is empty or only whitespace`) !== undefined;
      if (!isWellFormed(value)) return this.fail(position, name, 'invalid-utf8', unpairedSurrogate(name)) !== undefined;
      return true;
    }
    if (value === MISSING || value === null || value === undefined) {
      this.fail(position, name, 'missing-field', `${missing(name, value)} (set fields.text in the config if the text is under another name)`);
      return false;
    }
    if (value === INVALID_UTF8) {
      this.fail(position, name, 'invalid-utf8', `field "${name}" is not valid UTF-8`);
      return false;
    }
    this.fail(position, name, 'wrong-type', `field "${name}" is ${describe(value)}, expected a string`);
    return false;
  }

  private checkScore(position: number, name: string, value: unknown): number | undefined {
    if (typeof value === 'number') {
      if (Number.isFinite(value)) return value;
      return this.fail(position, name, 'nan-score', `field "${name}" is ${value}, expected a finite number`);
    }
    if (typeof value === 'bigint') return Number(value);
    if (value === MISSING || value === null || value === undefined) {
      return this.fail(position, name, 'missing-field', `${missing(name, value)} (every record needs the quality scores listed in fields.quality)`);
    }
    const hint = typeof value === 'string' ? ' (numbers given as strings are not converted)' : '';
    return this.fail(position, name, 'wrong-type', `field "${name}" is ${describe(value)}, expected a number${hint}`);
  }

  /** Notes on the problem just recorded which source the record has, when it has a valid one. */
  private tagSource(source: unknown): void {
    const value = typeof source === 'string' && source.length > 0 && isWellFormed(source) ? source : this.context.inputSource;
    if (value !== undefined) this.problems[this.problems.length - 1].source = value;
  }

  /** Records the problem and returns undefined, so checks can `return this.fail(...)`. */
  private fail(position: number, field: string, reason: ProblemReason, detail: string): undefined {
    this.addProblem(position, field, reason, detail);
    return undefined;
  }
}

function missing(name: string, value: unknown): string {
  return value === null ? `field "${name}" is null` : `field "${name}" is missing`;
}

function unpairedSurrogate(name: string): string {
  return `field "${name}" contains an unpaired UTF-16 surrogate (a lone \\uD800-\\uDFFF escape), which is not valid Unicode`;
}

/** A short, single-line description of a value for messages: `a number (17)`, `an array`. */
export function describe(value: unknown): string {
  if (value === INVALID_UTF8) return 'not valid UTF-8';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
    case 'number':
    case 'bigint':
      return `a number (${String(value)})`;
    case 'boolean':
      return `a boolean (${String(value)})`;
    case 'object':
      return value instanceof Uint8Array ? 'binary bytes' : 'an object';
    default:
      return `a ${typeof value}`;
  }
}

/** Whitespace as `String.prototype.trim` sees it, for the first character only. */
function isSpaceCode(code: number): boolean {
  return code <= 32 || code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff;
}

// `String.prototype.isWellFormed` (ES2024, Node >= 20) is not in the ES2023 lib typings.
function isWellFormed(value: string): boolean {
  return (value as unknown as { isWellFormed(): boolean }).isWellFormed();
}
