/**
 * Field lookup by configured name (SPEC §1: "field names are configurable"). A name is looked
 * up literally first, so a key that itself contains dots still works; otherwise a dotted name
 * walks nested objects.
 */

/** Marks a field that is absent (as opposed to present with the value `null`). */
export const MISSING: unique symbol = Symbol('tokenmix.missing');
/** Marks a column value whose bytes are not valid UTF-8 (set by the Parquet/Arrow decoders). */
export const INVALID_UTF8: unique symbol = Symbol('tokenmix.invalid-utf8');

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A string column's bytes, decoded strictly: invalid UTF-8 becomes `INVALID_UTF8` (a located problem). */
export function strictString(bytes: Uint8Array | undefined | null): unknown {
  if (bytes === undefined || bytes === null) return bytes;
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return INVALID_UTF8;
  }
}

export interface FieldPath {
  /** The name as configured, used in messages. */
  name: string;
  /** `name` split on dots; length 1 when the name has no dot. */
  segments: string[];
}

export function fieldPath(name: string): FieldPath {
  return { name, segments: name.split('.') };
}

/** Value of `path` in a parsed JSON object, or `MISSING`. */
export function getField(record: Record<string, unknown>, path: FieldPath): unknown {
  if (Object.hasOwn(record, path.name)) return record[path.name];
  if (path.segments.length === 1) return MISSING;
  return walk(record, path.segments, 0);
}

/** Walks `segments[from..]` through nested plain objects; `MISSING` when any step is absent. */
export function walk(value: unknown, segments: readonly string[], from: number): unknown {
  let current = value;
  for (let i = from; i < segments.length; i++) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return MISSING;
    const object = current as Record<string, unknown>;
    if (!Object.hasOwn(object, segments[i])) return MISSING;
    current = object[segments[i]];
  }
  return current;
}
