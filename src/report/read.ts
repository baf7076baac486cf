/**
 * Defensive readers over a parsed manifest. The report reads manifests written by `curate`,
 * `mix` and `dedup` (and by older or newer tool versions), so every section is optional:
 * a reader returns `undefined` for a missing or mistyped field and the report leaves out
 * what it cannot show, instead of failing on the first unexpected shape.
 */
import { dict } from '../dict.js';

export type JsonRecord = Record<string, unknown>;

export function asRecord(value: unknown): JsonRecord | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonRecord) : undefined;
}

export function asArray(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

export function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `obj.a.b.c` without throwing on a missing link. */
export function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    const record = asRecord(current);
    if (!record || !Object.hasOwn(record, key)) return undefined;
    current = record[key];
  }
  return current;
}

/** `{name: number}` keeping only finite numbers, in the manifest's key order. */
export function numberMap(value: unknown): Record<string, number> | undefined {
  const record = asRecord(value);
  if (!record) return undefined;
  const out: Record<string, number> = dict();
  let any = false;
  for (const [key, v] of Object.entries(record)) {
    const n = asNumber(v);
    if (n !== undefined) {
      out[key] = n;
      any = true;
    }
  }
  return any ? out : undefined;
}

/** An array of numbers (non-finite entries become null so positions are kept). */
export function numberList(value: unknown): Array<number | null> | undefined {
  const list = asArray(value);
  return list?.map((v) => asNumber(v) ?? null);
}
