/** Parquet mixed shards store integer columns as integers (issue 13: plan_index was DOUBLE). */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

const corpus = new URL('../../fixtures/corpus/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'tokenmix-materialize-parquet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('materialize parquet', () => {
  it('writes plan_index as INT64 holding the plan order', async () => {
    const config = JSON.parse(readFileSync(join(corpus, 'mix.json'), 'utf8'));
    config.inputs = config.inputs.map((input: { path: string }) => ({ ...input, path: join(corpus, input.path) }));
    config.evals = Object.fromEntries(Object.entries(config.evals as Record<string, string>).map(([k, v]) => [k, join(corpus, v)]));
    delete config.sweep;
    delete config.optimize;
    config.budget_tokens = 20000;
    config.materialize = { format: 'parquet', docs_per_shard: 100 };
    writeFileSync(join(dir, 'mix.json'), JSON.stringify(config));
    const io: CliIo = { out: () => {}, err: () => {}, interactive: false };
    expect(await main(['mix', '--config', join(dir, 'mix.json'), '--out', join(dir, 'out'), '--backend', 'cpu', '--no-report'], io)).toBe(0);

    const shard = join(dir, 'out', 'mixed', readdirSync(join(dir, 'out', 'mixed')).sort()[0]);
    const bytes = readFileSync(shard);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const column = parquetSchema(parquetMetadata(buffer)).children.find((c) => c.element.name === 'plan_index')!;
    expect(column.element.type).toBe('INT64');
    const rows = await parquetReadObjects({ file: buffer, columns: ['plan_index'] });
    expect(rows.map((r) => Number(r.plan_index))).toEqual(Array.from({ length: rows.length }, (_, i) => i));
  });
});
