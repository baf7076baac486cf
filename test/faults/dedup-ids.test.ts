/**
 * Duplicate ids in `tokenmix dedup` follow curate's rule (issue 11 item 7): `--on-error fail`
 * stops with one line naming both places; `--on-error quarantine` keeps the first
 * occurrence, sets later ones aside in quarantine.jsonl, and the totals add up.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, expectCleanFailure, expectSuccess, tempDir } from './cli.js';

const temp = tempDir();
afterAll(() => temp.cleanup());

const doc = (id: string, text: string) => `${JSON.stringify({ id, source: 'web', text })}\n`;
const words = (seed: number) => Array.from({ length: 30 }, (_, i) => `w${(seed * 13 + i * 7) % 97}`).join(' ');
// b.jsonl line 2 repeats a.jsonl's "x1"; line 3 repeats b.jsonl's own "y1" (and is a near copy of a's x2).
writeFileSync(join(temp.dir, 'a.jsonl'), doc('x1', words(1)) + doc('x2', words(2)) + doc('x3', words(3)));
writeFileSync(join(temp.dir, 'b.jsonl'), doc('y1', words(4)) + doc('x1', words(5)) + doc('y1', words(2)));
const inputs = ['--input', join(temp.dir, 'a.jsonl'), '--input', join(temp.dir, 'b.jsonl')];

describe('duplicate ids in dedup', () => {
  it('fail (default): one line naming the repeat and the first occurrence', async () => {
    const line = expectCleanFailure(await cli(['dedup', ...inputs, '--out', join(temp.dir, 'fail'), '--backend', 'cpu']));
    expect(line).toContain('b.jsonl:2');
    expect(line).toContain('duplicate id "x1"');
    expect(line).toContain('a.jsonl:1');
    expect(line).toContain('--on-error quarantine');
  });

  it('quarantine: repeats set aside and counted, the first occurrences kept', async () => {
    const out = join(temp.dir, 'quarantine');
    expectSuccess(await cli(['dedup', ...inputs, '--out', out, '--backend', 'cpu', '--on-error', 'quarantine']));
    const quarantined = readFileSync(join(out, 'quarantine.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(quarantined.map((q) => [q.line, q.reason])).toEqual([[2, 'duplicate-id'], [3, 'duplicate-id']]);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { totals: { docs_in: number; docs_out: number; quarantined: number } };
    // 6 records: 2 quarantined, 4 enter dedup; b.jsonl:3 (a near copy of x2) is gone with its id.
    expect(manifest.totals).toMatchObject({ docs_in: 4, docs_out: 4, quarantined: 2 });
    const kept = ['a.jsonl', 'b.jsonl'].flatMap((f) => readFileSync(join(out, 'keep', `0000${f === 'a.jsonl' ? 0 : 1}-${f.replace('.jsonl', '')}.jsonl`), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id));
    expect(kept).toEqual(['x1', 'x2', 'x3', 'y1']);
  });
});
