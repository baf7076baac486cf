/**
 * Reading a dropped file in the browser (src/explore/read.ts) gives what the Node readers give
 * for the same file: the same valid records in the same order, and the same located problems.
 * Files: the fixture corpus (zstd JSONL, gzip JSONL, plain JSONL, Parquet) and a JSONL with
 * one broken record of each kind.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRecords, resolveInputs } from '../../src/io/index.js';
import type { FieldMap } from '../../src/io/types.js';
import { fieldChoices, openDroppedFile, readDroppedFile } from '../../src/explore/read.js';

const corpusDir = new URL('../../fixtures/corpus/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'tokenmix-explore-read-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const fields: FieldMap = { id: 'id', source: 'source', text: 'text', quality: ['quality'] };

async function nodeRead(dir: string, name: string, map: FieldMap) {
  const [input] = resolveInputs([{ path: name }], dir);
  const records: { id: string; source: string; text: string; scores: Record<string, number> }[] = [];
  const problems: unknown[] = [];
  for await (const batch of readRecords(input, map)) {
    for (let i = 0; i < batch.length; i++) {
      records.push({ id: batch.ids[i], source: batch.sources[i], text: batch.texts[i], scores: Object.fromEntries((map.quality ?? []).map((q) => [q, batch.scores[q][i]])) });
    }
    problems.push(...batch.problems);
  }
  return { records, problems };
}

async function browserRead(dir: string, name: string, map: FieldMap) {
  const file = await openDroppedFile(name, new Uint8Array(readFileSync(join(dir, name))));
  return { file, outcome: await readDroppedFile(file, map) };
}

describe('dropped files read like the Node readers', () => {
  it.each(['web.jsonl.zst', 'math.jsonl.gz', 'web-extra.jsonl', 'code.parquet'])('%s', async (name) => {
    const expected = await nodeRead(corpusDir, name, fields);
    const { file, outcome } = await browserRead(corpusDir, name, fields);
    expect(file.format).toBe(name.endsWith('.parquet') ? 'parquet' : 'jsonl');
    expect(outcome.records.length).toBeGreaterThan(0);
    expect(outcome.records).toEqual(expected.records);
    expect(outcome.problems).toEqual(expected.problems);
    const choices = await fieldChoices(file);
    expect(choices.fields).toEqual(expect.arrayContaining(['id', 'source', 'text', 'quality']));
    expect(choices.numeric).toContain('quality');
    expect(choices.numeric).not.toContain('text');
  });

  it('a JSONL with broken records: same records, same problems at the same lines', async () => {
    const lines = [
      '{"id": "a", "source": "web", "text": "kept one", "quality": 0.5}',
      '',
      '{"id": "b", "source": "web", "quality": 0.5}',
      '{"id": 7, "source": "web", "text": "numeric id", "quality": 0.5}',
      '["not", "an", "object"]',
      '{"id": "g", "source": "web", "text": broken json}',
      '{"id": "c", "source": "web", "text": "   ", "quality": 0.5}',
      '{"id": "d", "source": "web", "text": "string score", "quality": "high"}',
      '{"id": "e", "meta": {"src": "code"}, "text": "nested source", "quality": 1}',
      '{"id": "f", "source": "web", "text": "kept two", "quality": 0.25}',
    ];
    const invalidUtf8 = new Uint8Array([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d, 0x0a]); // {"id":"\xff"}
    const text = new TextEncoder().encode(`${lines.join('\n')}\n`);
    writeFileSync(join(work, 'broken.jsonl'), Buffer.concat([text, invalidUtf8, new TextEncoder().encode('{"id": "z", "source": "web", "text": "last, no newline", "quality": 0}')]));
    const map = { ...fields, source: 'meta.src' };
    const expected = await nodeRead(work, 'broken.jsonl', map);
    const { outcome } = await browserRead(work, 'broken.jsonl', map);
    expect(outcome.records).toEqual(expected.records);
    expect(outcome.records.map((r) => r.id)).toEqual(['e']);
    expect(outcome.problems).toEqual(expected.problems);
    expect(outcome.blankLines).toBe(1);
    const withSource = await browserRead(work, 'broken.jsonl', fields);
    expect(withSource.outcome.records.map((r) => r.id)).toEqual(['a', 'f', 'z']);
  });

  it('refuses what it cannot read, saying what it accepts', async () => {
    await expect(openDroppedFile('notes.txt', new TextEncoder().encode('hello'))).rejects.toThrow(/JSONL .* or Parquet/);
  });
});
