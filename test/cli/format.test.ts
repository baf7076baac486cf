/** Small stdout issues of issue 13: one number format, plurals, a fit table without a stray header. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatNumber, plural } from '../../src/cli/format.js';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

describe('formatNumber', () => {
  it.each([
    [200000, '200000'],
    [218934.7123, '218935'],
    [54194.5, '54194.5'],
    [4.099291234, '4.09929'],
    [0.46, '0.46'],
    [0, '0'],
    [1.234567e-9, '0.00000000123457'],
    [-3.5, '-3.5'],
    [3e15, '3000000000000000'],
  ])('%d → %s (never exponent notation)', (x, expected) => {
    expect(formatNumber(x)).toBe(expected);
  });
});

describe('plural', () => {
  it.each([[0, '0 sources'], [1, '1 source'], [2, '2 sources']])('%d', (n, expected) => expect(plural(n, 'source')).toBe(expected));
});

describe('tokenmix fit table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenmix-fit-format-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has as many header columns as value columns', async () => {
    const out: string[] = [];
    const io: CliIo = { out: (t) => out.push(t), err: () => {}, interactive: false };
    const csv = new URL('../../fixtures/fit/example.csv', import.meta.url).pathname;
    expect(await main(['fit', '--experiments', csv, '--out', dir], io)).toBe(0);
    const header = out.findIndex((line) => /^\s+domain\s/.test(line));
    expect(header).toBeGreaterThan(0);
    const columns = (line: string) => line.trim().split(/\s{2,}/).length;
    expect(columns(out[header + 1])).toBe(columns(out[header]));
    expect(out[0]).toMatch(/^fitted 3 domains on 24 runs over 4 sources$/);
  });
});

describe('stderr lines', () => {
  it('a progress line (starting with a carriage return) is written as it is; others end with one newline', async () => {
    const { line } = await import('../../src/cli/io.js');
    expect(line('\rcurate: 10 records, 50.0%   ')).toBe('\rcurate: 10 records, 50.0%   ');
    expect(line('tokenmix: note')).toBe('tokenmix: note\n');
    expect(line('done\n')).toBe('done\n');
  });
});
