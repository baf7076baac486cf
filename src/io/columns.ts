/**
 * Maps configured field names onto the columns of a columnar file (Parquet, Arrow). A name
 * matches a top-level column exactly, else its longest dotted prefix that is a column, the
 * rest walking into struct values (`meta.lang` → column `meta`, key `lang`).
 *
 * A column that the whole file lacks is a file-level error, not a problem per row: a
 * million identical row problems would only hide the one fix (rename the field in the config).
 */
import { TokenmixError } from '../errors.js';
import { walk } from './fields.js';
import type { FieldMap, ResolvedInput } from './types.js';

export interface ColumnRef {
  /** The configured field name. */
  name: string;
  /** Top-level column holding the field. */
  column: string;
  /** Keys to walk inside the column's (struct) values; empty for a plain column. */
  rest: string[];
}

export interface ColumnPlan {
  id: ColumnRef;
  text: ColumnRef;
  /** Undefined when records take the input's source. */
  source: ColumnRef | undefined;
  quality: ColumnRef[];
  all: ColumnRef[];
}

export function locateColumn(name: string, columns: readonly string[]): ColumnRef | undefined {
  if (columns.includes(name)) return { name, column: name, rest: [] };
  const segments = name.split('.');
  for (let k = segments.length - 1; k >= 1; k--) {
    const prefix = segments.slice(0, k).join('.');
    if (columns.includes(prefix)) return { name, column: prefix, rest: segments.slice(k) };
  }
  return undefined;
}

export function locateColumns(input: ResolvedInput, fields: FieldMap, columns: readonly string[]): ColumnPlan {
  const listed = columns.length > 0 ? columns.join(', ') : 'none';
  const require = (name: string, setting: string): ColumnRef => {
    const ref = locateColumn(name, columns);
    if (ref === undefined) {
      throw new TokenmixError(`${input.displayPath} has no column "${name}" (its columns: ${listed}); set ${setting} in the config`, { where: input.displayPath });
    }
    return ref;
  };
  const id = require(fields.id, 'fields.id');
  const text = require(fields.text, 'fields.text');
  let source: ColumnRef | undefined;
  if (fields.source !== undefined) {
    source = locateColumn(fields.source, columns);
    if (source === undefined && input.source === undefined) {
      throw new TokenmixError(`${input.displayPath} has no column "${fields.source}" (its columns: ${listed}) and the input sets no source; set fields.source, or add "source" to the input`, { where: input.displayPath });
    }
  }
  const quality = (fields.quality ?? []).map((name) => require(name, 'fields.quality'));
  const all = [id, text, ...(source ? [source] : []), ...quality];
  return { id, text, source, quality, all };
}

/** The field's value in row `i` of a decoded column: `null` for a null, `MISSING` for an absent struct key. */
export function valueAt(data: ArrayLike<unknown>, i: number, ref: ColumnRef): unknown {
  const value = data[i];
  if (value === undefined || value === null) return null;
  return ref.rest.length === 0 ? value : walk(value, ref.rest, 0);
}
