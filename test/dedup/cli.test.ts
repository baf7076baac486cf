import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { tempDir, writeJsonl } from './helpers.js';

const root = tempDir('dedup-cli');
afterAll(() => rmSync(root, { recursive: true, force: true }));

function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), interactive: false };
}

const text = (n: number) => Array.from({ length: 40 }, (_, i) => `w${(i * 31 + n) % 97}`).join(' ');
const input = writeJsonl(join(root, 'in.jsonl'), [
  { id: 'a', text: text(1) },
  { id: 'b', text: text(1) + ' tail' },
  { id: 'c', text: text(2) },
]);

describe('tokenmix dedup', () => {
  it('--help prints the usage and exits 0', async () => {
    const io = capture();
    expect(await main(['dedup', '--help'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/Usage: tokenmix dedup --input PATH\.\.\. --out DIR/);
    expect(io.stdout.join('\n')).toMatch(/--threshold T/);
  });

  it('is listed by tokenmix --help', async () => {
    const io = capture();
    await main(['--help'], io);
    expect(io.stdout.join('\n')).toMatch(/dedup\s+near-duplicate/);
  });

  it('runs at the defaults, prints b, r and the S-curve, writes clusters and manifest', async () => {
    const io = capture();
    const out = join(root, 'out');
    expect(await main(['dedup', '--input', input, '--out', out, '--backend', 'cpu'], io)).toBe(0);
    const printed = io.stdout.join('\n');
    expect(printed).toMatch(/b = 18 bands × r = 7 rows \(tuned for J = 0\.6/);
    expect(printed).toMatch(/0\.8→0\.9855/);
    expect(printed).toMatch(/cluster rule cover: cover removes 1, components 1 \(0 of them below J 0\.8/);
    expect(readFileSync(join(out, 'clusters.jsonl'), 'utf8')).toBe(
      // b's 37 shingles are a's 36 and one more: J = 36/37.
      '{"id":"a","cluster":0,"kept":true}\n{"id":"b","cluster":0,"kept":false,"of":"a","jaccard":0.972973}\n',
    );
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.lsh).toMatchObject({ bands: 18, rows: 7, threshold: 0.8, aimedAt: 0.6 });
    expect(manifest.sources.default).toMatchObject({ docs_in: 3, docs_out: 2 });
    expect(manifest.outputs.map((o: { path: string }) => o.path)).toEqual([
      'cluster_rules.jsonl', 'clusters.jsonl', 'drops/00000-in.jsonl', 'keep/00000-in.jsonl', 'quarantine.jsonl',
    ]);
  });

  const usageErrors = [
    { name: 'no --input', args: ['--out', 'x'], message: /needs --input/ },
    { name: 'no --out', args: ['--input', 'x'], message: /needs --out/ },
    { name: 'an unknown option', args: ['--input', 'x', '--out', 'y', '--bogus'], message: /Unknown option '--bogus'/ },
    { name: 'a non-numeric threshold', args: ['--input', 'x', '--out', 'y', '--threshold', 'high'], message: /--threshold must be a number/ },
    { name: 'a fractional band count', args: ['--input', 'x', '--out', 'y', '--bands', '2.5', '--rows', '3'], message: /--bands must be an integer/ },
    { name: 'an unknown cluster rule', args: ['--input', input, '--out', join(root, 'e'), '--cluster', 'chains', '--backend', 'cpu'], message: /--cluster must be one of cover, components/ },
    { name: 'an unknown keep rule', args: ['--input', input, '--out', join(root, 'e'), '--keep', 'last', '--backend', 'cpu'], message: /--keep must be one of first, best-quality/ },
  ];
  for (const e of usageErrors) {
    it(`exits 2 with one clear line for ${e.name}`, async () => {
      const io = capture();
      expect(await main(['dedup', ...e.args], io)).toBe(2);
      expect(io.stderr.join('\n')).toMatch(e.message);
      expect(io.stderr.join('\n')).not.toMatch(/\n\s+at /); // no stack trace
    });
  }

  it('--memory-mb bounds the run: a budget that fits runs, one too small stops before grouping with one line', async () => {
    const fits = capture();
    expect(await main(['dedup', '--input', input, '--out', join(root, 'fits'), '--backend', 'cpu', '--workers', '1', '--memory-mb', '300'], fits)).toBe(0);
    expect(readFileSync(join(root, 'fits', 'clusters.jsonl'), 'utf8')).toBe(readFileSync(join(root, 'out', 'clusters.jsonl'), 'utf8'));
    const small = capture();
    expect(await main(['dedup', '--input', input, '--out', join(root, 'small'), '--backend', 'cpu', '--workers', '1', '--memory-mb', '289'], small)).toBe(2);
    expect(small.stderr).toEqual([
      'tokenmix: --memory-mb 289 is too small for 3 documents on 1 worker: the threads and per-document arrays need 289 MiB before any grouping table; raise --memory-mb to at least 296 (a rerun reuses the signatures)',
    ]);
  });
});
