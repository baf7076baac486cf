/**
 * Objects keyed by user strings (sources, ids, eval names, reasons, CSV columns). An ordinary
 * `{}` turns `obj["__proto__"] = x` into a prototype change (the key vanishes) and answers
 * `obj["constructor"]` with a function; a null-prototype object has neither problem and still
 * serializes with `JSON.stringify` like any object.
 */

/** An empty object without a prototype. */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** A null-prototype copy of `entries` (later keys win, as with `Object.fromEntries`). */
export function dictFrom<T>(entries: Iterable<readonly [string, T]> | Record<string, T>): Record<string, T> {
  const out = dict<T>();
  const list = Symbol.iterator in entries ? (entries as Iterable<readonly [string, T]>) : Object.entries(entries);
  for (const [key, value] of list) out[key] = value;
  return out;
}

/** `obj[key]` if `obj` has it as its own key, else undefined (never an inherited member). */
export function own<T>(obj: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}
