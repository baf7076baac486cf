/** Parquet mixed shards store integer columns as integers (issue 13: plan_index was DOUBLE). */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { fixtureMixConfig } from '../helpers/fixture-config.js';

const dir = mkdtempSync(join(tmpdir(), 'tokenmix-materialize-parquet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('materialize parquet', () => {
  it('writes plan_index as INT64 holding the plan order', async () => {
    const config = fixtureMixConfig(dir, 'mix', (c) => {
      delete c.sweep;
      delete c.optimize;
      c.budget_tokens = 20000;
      c.materialize = { format: 'parquet', docs_per_shard: 100 };
    });
    const io: CliIo = { out: () => {}, err: () => {}, interactive: false };
    expect(await main(['mix', '--config', config, '--out', join(dir, 'out'), '--backend', 'cpu', '--no-report'], io)).toBe(0);

    const shard = join(dir, 'out', 'mixed', readdirSync(join(dir, 'out', 'mixed')).sort()[0]);
    const bytes = readFileSync(shard);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const column = parquetSchema(parquetMetadata(buffer)).children.find((c) => c.element.name === 'plan_index')!;
    expect(column.element.type).toBe('INT64');
    const rows = await parquetReadObjects({ file: buffer, columns: ['plan_index'] });
    expect(rows.map((r) => Number(r.plan_index))).toEqual(Array.from({ length: rows.length }, (_, i) => i));
  });
});
