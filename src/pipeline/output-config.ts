/**
 * The `output` config key (SPEC §6 "the curated data itself"): which format the curated
 * records are written in under DIR/data/, how files are cut, which columns tokenmix adds, and
 * whether dropped records are written too. No `output` key (and no `--output-format`) means
 * no data files, only keep and drop lists.
 */
import { TokenmixError } from '../errors.js';

/** `input`: each input file's own format (JSONL keeps its compression; Parquet and Arrow become Parquet). */
export const DATA_FORMATS = ['input', 'jsonl', 'jsonl.gz', 'jsonl.zst', 'parquet'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

/** Columns tokenmix can add to every written record, each named `tokenmix_<name>`. */
export const EXTRA_COLUMNS = ['source', 'tokens', 'quality', 'cluster'] as const;
export type ExtraColumn = (typeof EXTRA_COLUMNS)[number];

export interface OutputConfig {
  format: DataFormat;
  /** Target size of a file in record bytes before compression; null: one file per input shard. */
  shard_bytes: number | null;
  extra_columns: ExtraColumn[];
  /** Also write dropped records, under data/dropped/<stage>/<reason>/. */
  dropped: boolean;
}

const KEYS = ['format', 'shard_bytes', 'extra_columns', 'dropped'];

function bad(key: string, expected: string, got: unknown): never {
  throw new TokenmixError(`config: "output.${key}" must be ${expected} (got ${JSON.stringify(got)})`);
}

export function checkDataFormat(value: unknown, where: string): DataFormat {
  if (typeof value !== 'string' || !(DATA_FORMATS as readonly string[]).includes(value)) {
    throw new TokenmixError(`${where} must be one of ${DATA_FORMATS.join(', ')} (got ${JSON.stringify(value)})`);
  }
  return value as DataFormat;
}

export function parseOutput(value: unknown): OutputConfig | null {
  if (value === undefined || value === null || value === false) return null;
  if (typeof value !== 'object' || Array.isArray(value)) bad('', 'an object', value);
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KEYS.includes(key)) throw new TokenmixError(`config: unknown key "output.${key}" (allowed: ${KEYS.join(', ')})`);
  }
  const format = o.format === undefined ? 'input' : checkDataFormat(o.format, 'config: "output.format"');
  let shardBytes: number | null = null;
  if (o.shard_bytes !== undefined && o.shard_bytes !== null) {
    if (typeof o.shard_bytes !== 'number' || !Number.isSafeInteger(o.shard_bytes) || o.shard_bytes < 1) bad('shard_bytes', 'a positive integer', o.shard_bytes);
    shardBytes = o.shard_bytes;
  }
  const extra = o.extra_columns ?? [];
  if (!Array.isArray(extra)) bad('extra_columns', `a list of ${EXTRA_COLUMNS.join(', ')}`, extra);
  for (const name of extra) {
    if (!(EXTRA_COLUMNS as readonly unknown[]).includes(name)) bad('extra_columns', `a list of ${EXTRA_COLUMNS.join(', ')}`, name);
  }
  if (o.dropped !== undefined && typeof o.dropped !== 'boolean') bad('dropped', 'true or false', o.dropped);
  // Canonical order, so that the manifest's config does not depend on how the list was written.
  const extraColumns = EXTRA_COLUMNS.filter((name) => (extra as unknown[]).includes(name));
  return { format, shard_bytes: shardBytes, extra_columns: extraColumns, dropped: o.dropped === true };
}

/** `--output-format` overrides the config's format (and turns data output on when the config has none). */
export function withOutputFormat(output: OutputConfig | null, format: string | undefined): OutputConfig | null {
  if (format === undefined) return output;
  const base = output ?? { shard_bytes: null, extra_columns: [], dropped: false };
  // Same key order as parseOutput: the manifest's config is the same however the format was set.
  return { format: checkDataFormat(format, '--output-format'), shard_bytes: base.shard_bytes, extra_columns: base.extra_columns, dropped: base.dropped };
}
