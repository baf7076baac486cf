/**
 * Column types of the Parquet data files (SPEC §6 "every original column"):
 *  - from a Parquet input: the file's own schema, nested groups, logical types and
 *    repetition included;
 *  - from an Arrow input: each column's Arrow type mapped to the nearest Parquet type
 *    (strings, booleans, integers, floats, binary); nested and other types (and unsigned
 *    64-bit integers, which INT64 cannot hold) become a JSON column;
 *  - from JSONL inputs: one schema for all of them, inferred from every written record:
 *    a top-level key whose values are all strings is STRING, all booleans BOOLEAN, all
 *    integral numbers INT64, all numbers DOUBLE; anything else (objects, arrays, mixed types)
 *    is a JSON column holding the value. Absent keys and nulls are both null.
 * Then the `tokenmix_*` extra columns. Rows are converted to what hyparquet-writer expects.
 */
import type { SchemaElement } from 'hyparquet';
import { DataType, Precision, type Schema } from 'apache-arrow';
import { TokenmixError } from '../errors.js';
import type { ExtraColumn } from './output-config.js';

export interface ParquetSchemaPlan {
  /** Equal keys ⇔ equal schemas (files of several inputs may then share a part). */
  key: string;
  schema: SchemaElement[];
  /** Top-level column name → converter of a value to what the writer expects. */
  convert: Map<string, (value: unknown) => unknown>;
}

const STRING: Omit<SchemaElement, 'name'> = { type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' };
const JSON_COLUMN: Omit<SchemaElement, 'name'> = { type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type: 'OPTIONAL' };
const INT64: Omit<SchemaElement, 'name'> = { type: 'INT64', repetition_type: 'OPTIONAL' };
const DOUBLE: Omit<SchemaElement, 'name'> = { type: 'DOUBLE', repetition_type: 'OPTIONAL' };

const EXTRA_ELEMENTS: Record<ExtraColumn, Omit<SchemaElement, 'name'>> = { source: STRING, tokens: INT64, quality: DOUBLE, cluster: INT64 };

const toBigInt = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : value);

/** Kinds of JSON value seen in one column. */
const SEEN = { string: 1, boolean: 2, integer: 4, number: 8, other: 16 } as const;

/** Gathers the columns of JSON records, in order of first appearance, with the kinds of their values. */
export class JsonSchemaInference {
  private readonly seen = new Map<string, number>();

  add(record: Record<string, unknown>): void {
    for (const [name, value] of Object.entries(record)) {
      const bits = this.seen.get(name) ?? 0;
      this.seen.set(name, bits | kindOf(value));
    }
  }

  plan(extras: readonly ExtraColumn[]): ParquetSchemaPlan {
    const columns: SchemaElement[] = [];
    const convert = new Map<string, (value: unknown) => unknown>();
    for (const [name, bits] of this.seen) {
      if (bits === 0 || bits === SEEN.string) columns.push({ name, ...STRING });
      else if (bits === SEEN.boolean) columns.push({ name, type: 'BOOLEAN', repetition_type: 'OPTIONAL' });
      else if (bits === SEEN.integer) {
        columns.push({ name, ...INT64 });
        convert.set(name, toBigInt);
      } else if ((bits & ~(SEEN.integer | SEEN.number)) === 0) columns.push({ name, ...DOUBLE });
      else columns.push({ name, ...JSON_COLUMN });
    }
    return finishPlan('jsonl', [{ name: 'root', num_children: columns.length }, ...columns], convert, extras, 'the JSONL inputs');
  }
}

function kindOf(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'string') return SEEN.string;
  if (typeof value === 'boolean') return SEEN.boolean;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? SEEN.integer : SEEN.number;
  return SEEN.other;
}

/** A Parquet input's schema, as written; values are read with the raw parsers below. */
export function parquetPlan(schema: readonly SchemaElement[], extras: readonly ExtraColumn[], where: string): ParquetSchemaPlan {
  const copy = schema.map((element) => {
    const out: SchemaElement = { name: element.name };
    for (const key of ['type', 'type_length', 'repetition_type', 'num_children', 'converted_type', 'scale', 'precision', 'field_id', 'logical_type'] as const) {
      if (element[key] !== undefined) (out as unknown as Record<string, unknown>)[key] = element[key];
    }
    return out;
  });
  return finishPlan(`parquet:${JSON.stringify(copy)}`, copy, new Map(), extras, where);
}

/**
 * hyparquet parsers that keep dates and timestamps as the stored integers, so that
 * hyparquet-writer writes back exactly the stored values (it passes integers through).
 */
export const RAW_PARSERS = {
  timestampFromMilliseconds: (value: bigint) => value,
  timestampFromMicroseconds: (value: bigint) => value,
  timestampFromNanoseconds: (value: bigint) => value,
  dateFromDays: (value: number) => value,
};

/** Arrow column types mapped onto Parquet types; what has no flat equivalent becomes JSON. */
export function arrowPlan(schema: Schema, extras: readonly ExtraColumn[], where: string): ParquetSchemaPlan {
  const columns: SchemaElement[] = [];
  const convert = new Map<string, (value: unknown) => unknown>();
  for (const field of schema.fields) {
    const type = field.type;
    const name = field.name;
    if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) columns.push({ name, ...STRING });
    else if (DataType.isBool(type)) columns.push({ name, type: 'BOOLEAN', repetition_type: 'OPTIONAL' });
    else if (DataType.isInt(type) && type.bitWidth <= 32 && (type.isSigned || type.bitWidth < 32)) columns.push({ name, type: 'INT32', repetition_type: 'OPTIONAL' });
    else if (DataType.isInt(type) && (type.isSigned || type.bitWidth < 64)) {
      columns.push({ name, ...INT64 });
      convert.set(name, (value) => (typeof value === 'number' ? BigInt(value) : value));
    } else if (DataType.isFloat(type)) columns.push(type.precision === Precision.DOUBLE ? { name, ...DOUBLE } : { name, type: 'FLOAT', repetition_type: 'OPTIONAL' });
    else if (DataType.isBinary(type) || DataType.isLargeBinary(type)) columns.push({ name, type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' });
    else columns.push({ name, ...JSON_COLUMN });
  }
  const root: SchemaElement = { name: 'root', num_children: columns.length };
  return finishPlan(`arrow:${JSON.stringify(columns)}`, [root, ...columns], convert, extras, where);
}

function finishPlan(
  key: string,
  schema: SchemaElement[],
  convert: Map<string, (value: unknown) => unknown>,
  extras: readonly ExtraColumn[],
  where: string,
): ParquetSchemaPlan {
  const names = new Set(schema.slice(1).map((element) => element.name));
  const added: SchemaElement[] = [];
  for (const extra of extras) {
    const name = `tokenmix_${extra}`;
    if (names.has(name)) throw new TokenmixError(`${where}: column "${name}" already exists; remove "${extra}" from output.extra_columns or rename that column`);
    added.push({ name, ...EXTRA_ELEMENTS[extra] });
    if (extra === 'tokens' || extra === 'cluster') convert.set(name, toBigInt);
  }
  const [root, ...rest] = schema;
  return { key: `${key}+${extras.join(',')}`, schema: [{ ...root, num_children: (root.num_children ?? 0) + added.length }, ...rest, ...added], convert };
}

/** A record's value as JSON text: 64-bit integers as numbers when exact, else as decimal strings; bytes as base64. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === undefined) return null;
    if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<unknown>);
    return v;
  });
}
