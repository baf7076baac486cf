/**
 * Issue 11 items 5 and 6 through the CLI: sizes that cannot finish are refused with the limit
 * and the way out; paths of the wrong kind, damaged markers and config mistakes give one
 * `tokenmix:` line naming the config key (never a CLI flag the config does not have, never a
 * stack trace); quarantine and zero weights are counted and recorded, not silently absorbed;
 * a failed `mix` leaves no manifest that `report` would render as complete.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, expectCleanFailure, expectSuccess, tempDir } from './cli.js';

const temp = tempDir();
afterAll(() => temp.cleanup());
let counter = 0;

const record = (id: string, source: string, extra: object = {}) =>
  JSON.stringify({ id, source, q: 0.5, text: `a document about ${id} with several distinct words ${id.length}`, ...extra });
const GOOD = ['a1', 'a2', 'a3', 'a4'].map((id) => record(id, 'web')).join('\n') + '\n';

/** A fresh directory with good.jsonl and a config holding `config` (inputs default to good.jsonl). */
function setup(config: object, files: Record<string, string> = {}): { dir: string; config: string; out: string } {
  const dir = join(temp.dir, `case-${counter++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'good.jsonl'), GOOD);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'evals.txt'), 'a document about things\n');
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify({ inputs: ['good.jsonl'], ...config }));
  return { dir, config: path, out: join(dir, 'out') };
}
const MIX = { evals: { general: 'evals.txt' }, budget_tokens: 1000 };
const run = (command: string, config: string, out: string) => cli([command, '--config', config, '--out', out, '--backend', 'cpu']);

describe('item 5: work that cannot finish is refused with the limit', () => {
  it('a budget above materialize.max_tokens (1e15 with materialize) names the override key', async () => {
    const { config, out } = setup({ ...MIX, budget_tokens: 1e15, materialize: { format: 'jsonl' } });
    const line = expectCleanFailure(await run('mix', config, out));
    expect(line).toContain('"materialize.max_tokens"');
    expect(line).toContain('1000000000000');
  });

  it('materialize.max_tokens lets a large budget through (the explicit override)', async () => {
    // Only the config is checked: the run itself would write 2e12 tokens.
    const { parseMixtureConfig } = await import('../../src/pipeline/mix-config.js');
    const config = parseMixtureConfig({ budget_tokens: 2e12, materialize: { format: 'jsonl', max_tokens: 1e13 } }, 0);
    expect(config.materialize).toMatchObject({ format: 'jsonl' });
    expect(() => parseMixtureConfig({ budget_tokens: 2e12, materialize: { format: 'jsonl' } }, 0)).toThrow('"materialize.max_tokens"');
  });

  it('budget_tokens 1e30 without materialize is refused as inexact', async () => {
    const { config, out } = setup({ ...MIX, budget_tokens: 1e30 });
    expect(expectCleanFailure(await run('mix', config, out))).toContain('"budget_tokens"');
  });

  it('sweep.candidates 1e8', async () => {
    const { config, out } = setup({ ...MIX, sweep: { candidates: 1e8 } });
    const line = expectCleanFailure(await run('mix', config, out));
    expect(line).toContain('"sweep.candidates"');
    expect(line).toContain('1000000');
  });

  it('fit --restarts 1e8', async () => {
    const dir = join(temp.dir, 'fit');
    mkdirSync(dir, { recursive: true });
    const csv = join(dir, 'runs.csv');
    writeFileSync(csv, 'run,w:a,w:b,loss:x\n' + Array.from({ length: 6 }, (_, i) => `r${i},${(i + 1) / 7},${1 - (i + 1) / 7},${3 - i / 10}`).join('\n') + '\n');
    const line = expectCleanFailure(await cli(['fit', '--experiments', csv, '--out', join(dir, 'out'), '--restarts', '100000000']));
    expect(line).toContain('--restarts');
    expect(line).toContain('1000');
  });
});

describe('item 6: paths of the wrong kind and damaged markers', () => {
  it('dedup --out FILE', async () => {
    const { dir } = setup({});
    writeFileSync(join(dir, 'a-file'), 'x');
    const line = expectCleanFailure(await cli(['dedup', '--input', join(dir, 'good.jsonl'), '--out', join(dir, 'a-file'), '--backend', 'cpu']));
    expect(line).toContain('a-file');
  });

  it('report FILE and report DIR without a manifest', async () => {
    const { dir } = setup({});
    expect(expectCleanFailure(await cli(['report', join(dir, 'good.jsonl')]))).toContain('is a file');
    expect(expectCleanFailure(await cli(['report', dir]))).toContain('no manifest.json');
  });

  it('OUT/manifest.json is a directory', async () => {
    const { config, out } = setup({});
    mkdirSync(join(out, 'manifest.json'), { recursive: true });
    expect(expectCleanFailure(await run('curate', config, out))).toContain('manifest.json');
  });

  it('an empty shard marker', async () => {
    const { config, out } = setup({});
    expectSuccess(await run('curate', config, out));
    const shards = join(out, '.tokenmix', 'shards');
    const marker = readdirSync(shards).find((name) => name.endsWith('.done.json'))!;
    const before = readFileSync(join(out, 'manifest.json'), 'utf8');
    writeFileSync(join(shards, marker), '');
    // Markers appear whole (renamed into place): an empty one is an unfinished unit, redone.
    expectSuccess(await run('curate', config, out));
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).toBe(before);
  });
});

describe('item 6: config mistakes name config keys', () => {
  it('dedup.near.bands without rows is an error, not ignored', async () => {
    const { config, out } = setup({ dedup: { near: { bands: 4 } } });
    const line = expectCleanFailure(await run('curate', config, out));
    expect(line).toContain('"dedup.near.rows"');
    expect(line).not.toContain('--');
  });

  it('bands × rows above num_hashes and a zero threshold name the config keys', async () => {
    const big = setup({ dedup: { near: { bands: 64, rows: 4, num_hashes: 128 } } });
    expect(expectCleanFailure(await run('curate', big.config, big.out))).toContain('"dedup.near.num_hashes"');
    const zero = setup({ dedup: { near: { threshold: 0 } } });
    const line = expectCleanFailure(await run('curate', zero.config, zero.out));
    expect(line).toContain('"dedup.near.threshold"');
    expect(line).not.toContain('--threshold');
  });

  it('an integer id does not suggest a setting the config rejects', async () => {
    const { config, out } = setup({ inputs: ['good.jsonl', 'ints.jsonl'] }, { 'ints.jsonl': `${JSON.stringify({ id: 7, source: 'web', text: 'seven' })}\n` });
    const line = expectCleanFailure(await run('curate', config, out));
    expect(line).toContain('ints.jsonl:1');
    expect(line).not.toContain('allowNumericIds');
  });

  it('doctor --adapter bogus', async () => {
    expect(expectCleanFailure(await cli(['doctor', '--adapter', 'bogus', '--json']))).toContain('--adapter');
  });
});

describe('item 6: counted and recorded, never silently absorbed', () => {
  it('quarantine counts a source whose every record is quarantined, even when a threshold names it', async () => {
    const bad = `${record('c1', 'code', { text: '' })}\n${record('c2', 'code', { text: null })}\n`;
    const { config, out } = setup(
      { inputs: ['good.jsonl', 'bad.jsonl'], on_error: 'quarantine', fields: { quality: 'q' }, filters: { quality: { field: 'q', thresholds: { code: 0.1, web: 0.1 } } } },
      { 'bad.jsonl': bad },
    );
    expectSuccess(await run('curate', config, out));
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { totals: { input: number; kept: number; quarantined: number } };
    expect(manifest.totals).toMatchObject({ input: 6, kept: 4, quarantined: 2 });
  });

  it('all-zero schedule weights warn and the manifest records it', async () => {
    const { config, out } = setup({ ...MIX, schedule: [{ fraction: 1, weights: { web: 0 } }] });
    const result = await run('mix', config, out);
    expectSuccess(result);
    expect(result.out).toContain('made uniform');
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { diagnostics: { warnings: string[] } };
    expect(manifest.diagnostics.warnings.some((w) => w.includes('schedule stage 0') && w.includes('made uniform'))).toBe(true);
  });

  it('report warns when a manifest holds curation only though its config is a mix (a mix that did not finish)', async () => {
    // curate with a mix config writes exactly what a mix killed after curation leaves.
    const { config, out } = setup(MIX);
    expectSuccess(await run('curate', config, out));
    const result = await cli(['report', out]);
    expectSuccess(result);
    expect(result.err.join('\n')).toContain('describes curation only');
    const mixed = join(out, '..', 'mixed');
    expectSuccess(await run('mix', config, mixed));
    const complete = await cli(['report', mixed]);
    expectSuccess(complete);
    expect(complete.err.join('\n')).not.toContain('curation only');
  });

  it('a mix whose mixture config is wrong leaves no manifest behind', async () => {
    // An eval weight for no eval.
    const { config, out } = setup({ ...MIX, eval_weights: { nothing: 1 } });
    expectCleanFailure(await run('mix', config, out));
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    expect(expectCleanFailure(await cli(['report', out]))).toContain('no manifest.json');
  });
});
