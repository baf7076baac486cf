/** An in-place edit a size-and-mtime check cannot see, for the tests of stale work. */
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';

/** Flip the case of the first letter of a "text" value at or after `from`: same size, still valid JSON, mtime put back. */
export function editInPlace(path: string, from: number): void {
  const { atime, mtime } = statSync(path);
  const data = readFileSync(path);
  const key = data.indexOf('"text":', from);
  expect(key).toBeGreaterThan(from);
  let at = data.indexOf('"', key + '"text":'.length) + 1;
  while (!/[a-zA-Z]/.test(String.fromCharCode(data[at]))) at++;
  data[at] = /[a-z]/.test(String.fromCharCode(data[at])) ? data[at] - 32 : data[at] + 32;
  writeFileSync(path, data);
  utimesSync(path, atime, mtime);
  expect(Math.abs(statSync(path).mtimeMs - mtime.getTime())).toBeLessThan(1);
}
