/**
 * Issue 11 item 2 through the CLI (`main()`, as `tokenmix` runs it): a resumed run never
 * reuses stale work. An input edited in place (same size, same mtime) and an intermediate
 * truncated, damaged or missing behind an intact marker are noticed, named on stderr, and the
 * affected shard is redone: the outputs equal those of a clean run over the current inputs.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { writeKillCorpus } from '../pipeline/kill-corpus.js';
import { CPU, readManifest, snapshot, tempDir } from '../pipeline/helpers.js';
import { curate as curateApi } from '../../src/pipeline/curate.js';
import { snapshot as dedupSnapshot } from '../dedup/helpers.js';
import { editInPlace } from '../helpers/edit-in-place.js';

const temp = tempDir('tokenmix-stale-');
afterAll(() => temp.cleanup());
let config: string;
let runs = 0;
const outDir = () => join(temp.dir, `out-${runs++}`);

beforeAll(async () => {
  // 8 shards of 1200 records: part-0.jsonl is ~390 KB, more than the sampled 256 KiB.
  config = await writeKillCorpus(temp.dir, 1200);
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIo = { out: (t) => stdout.push(t), err: (t) => stderr.push(t), interactive: false };
  const code = await main([...args, '--backend', 'cpu', '--no-report'], io);
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

const curate = (out: string, ...extra: string[]) => cli(['curate', '--config', config, '--out', out, ...extra]);


const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('curate resumes only from current work', () => {
  it('an input edited in place with the same size and mtime: its shard is redone', async () => {
    const out = outDir();
    expect((await curate(out)).code).toBe(0);
    const before = snapshot(out);
    const input = join(temp.dir, 'part-6.jsonl');
    const original = readFileSync(input);
    try {
      editInPlace(input, 1000); // inside the first sampled block: seen when the shard is considered for reuse
      const rerun = await curate(out);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(rerun.stderr).toMatch(/input part-6\.jsonl changed since shard 6 was made; redoing it/);
      expect(readManifest(out).inputs.find((i) => i.path === 'part-6.jsonl')!.sha256).toBe(sha256(input));
      const clean = outDir();
      expect((await curate(clean)).code).toBe(0);
      expect(snapshot(out)).toEqual(snapshot(clean));
      expect(snapshot(out)).not.toEqual(before);
    } finally {
      writeFileSync(input, original);
    }
  });

  it('an edit the sample misses is caught by the full hash before the reduce, and the shard redone', async () => {
    const out = outDir();
    expect((await curate(out)).code).toBe(0);
    const input = join(temp.dir, 'part-0.jsonl');
    const original = readFileSync(input);
    expect(original.length).toBeGreaterThan(300_000);
    try {
      // Blocks are sampled at 0 and at (size − 32 KiB)/7: the bytes in between are not.
      const gapStart = 32 * 1024 + 100;
      const gapEnd = Math.floor((original.length - 32 * 1024) / 7) - 400;
      expect(gapEnd).toBeGreaterThan(gapStart + 1000);
      editInPlace(input, gapStart);
      const rerun = await curate(out);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(rerun.stderr).toMatch(/8 of 8 work units already complete/);
      expect(rerun.stderr).toMatch(/input part-0\.jsonl changed since shard 0 was made \(its SHA-256 differs\); redoing shard 0/);
      const clean = outDir();
      expect((await curate(clean)).code).toBe(0);
      expect(snapshot(out)).toEqual(snapshot(clean));
    } finally {
      writeFileSync(input, original);
    }
  });

  it.each([
    ['truncated', (path: string) => truncateSync(path, Math.floor(statSync(path).size / 2)), /intermediate .*00003\.records\.jsonl of shard 3 has \d+ bytes, its marker says \d+; redoing shard 3/],
    ['damaged', (path: string) => {
      const data = readFileSync(path);
      data[data.length >> 1] ^= 1;
      writeFileSync(path, data);
    }, /intermediate .*00003\.records\.jsonl of shard 3 does not match its marker's SHA-256 \(damaged\); redoing shard 3/],
    ['missing', (path: string) => unlinkSync(path), /intermediate .*00003\.records\.jsonl of shard 3 is missing; redoing shard 3/],
  ])('an intermediate %s behind an intact marker: the shard is redone', async (_name, damage, message) => {
    const reference = outDir();
    expect((await curate(reference)).code).toBe(0);
    const out = outDir();
    expect((await curate(out)).code).toBe(0);
    damage(join(out, '.tokenmix', 'shards', '00003.records.jsonl'));
    const rerun = await curate(out);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(message);
    expect(snapshot(out)).toEqual(snapshot(reference));
  });

  it('split inputs: an edit inside one byte-range unit is caught by that unit\'s range hash, and the input redone', async () => {
    const logs: string[] = [];
    const run = (outDir: string) => curateApi({ configPath: config, outDir, backend: CPU, workers: 1, unitBytes: 100_000, log: (t) => logs.push(t) });
    const out = outDir();
    expect((await run(out)).status).toBe('complete');
    const shards = readdirSync(join(out, '.tokenmix', 'shards'));
    expect(shards.filter((f) => f.startsWith('00000.part') && f.endsWith('.done.json')).length).toBeGreaterThan(2);
    const input = join(temp.dir, 'part-0.jsonl');
    const original = readFileSync(input);
    try {
      editInPlace(input, 32 * 1024 + 100); // between sampled blocks, inside part 1
      logs.length = 0;
      expect((await run(out)).status).toBe('complete');
      expect(logs.join('\n')).toMatch(/input part-0\.jsonl changed since part 1 of \d+ of shard 0 was made \(its SHA-256 differs\); redoing shard 0/);
      const clean = outDir();
      expect((await run(clean)).status).toBe('complete');
      expect(snapshot(out)).toEqual(snapshot(clean));
      expect(readManifest(out).inputs.find((i) => i.path === 'part-0.jsonl')!.sha256).toBe(sha256(input));
    } finally {
      writeFileSync(input, original);
    }
  });

  it('an empty or torn marker means an incomplete shard, never a stack trace', async () => {
    const reference = outDir();
    expect((await curate(reference)).code).toBe(0);
    const out = outDir();
    expect((await curate(out)).code).toBe(0);
    writeFileSync(join(out, '.tokenmix', 'shards', '00001.done.json'), '');
    writeFileSync(join(out, '.tokenmix', 'shards', '00002.done.json'), '{"shard": 2, "fi');
    const rerun = await curate(out);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(/6 of 8 work units already complete/);
    expect(snapshot(out)).toEqual(snapshot(reference));
  });

  it('changing only mixture keys reuses every curated shard', async () => {
    const out = outDir();
    expect((await curate(out)).code).toBe(0);
    const original = readFileSync(config, 'utf8');
    try {
      writeFileSync(config, JSON.stringify({ ...JSON.parse(original), budget_tokens: 12345, epoch_cap: 3 }));
      const rerun = await curate(out);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(rerun.stderr).toMatch(/8 of 8 work units already complete/);
    } finally {
      writeFileSync(config, original);
    }
  });
});

describe('dedup resumes only from current work', () => {
  const dedup = (out: string, ...extra: string[]) =>
    cli(['dedup', '--input', join(temp.dir, 'part-*.jsonl'), '--input', join(temp.dir, 'part-*.parquet'), '--out', out, '--on-error', 'quarantine', ...extra]);

  it('a signature intermediate truncated between the ranks: the reducing rank redoes that shard', async () => {
    const reference = outDir();
    expect((await dedup(reference)).code).toBe(0);
    const out = outDir();
    const first = await dedup(out, '--rank', '0', '--world-size', '2');
    expect(first.code, first.stderr).toBe(0);
    const shards = join(out, '.tokenmix-dedup', 'shards');
    // Rank 0's share follows the balanced assignment of units: damage one of the shards it did.
    const done = readdirSync(shards).find((name) => /^\d{5}\.done\.json$/.test(name))!;
    const shard = done.slice(0, 5);
    truncateSync(join(shards, `${shard}.shingles.bin`), 1000);
    const second = await dedup(out, '--rank', '1', '--world-size', '2');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(new RegExp(`intermediate .*${shard}\\.shingles\\.bin of shard ${Number(shard)} has 1000 bytes, its marker says \\d+; redoing shard ${Number(shard)}`));
    expect(dedupSnapshot(out)).toEqual(dedupSnapshot(reference));
  });

  it('an input edited in place between runs (--keep-work): its shard is redone', async () => {
    const out = outDir();
    expect((await dedup(out, '--keep-work')).code).toBe(0);
    const input = join(temp.dir, 'part-6.jsonl');
    const original = readFileSync(input);
    try {
      editInPlace(input, 200);
      const rerun = await dedup(out, '--keep-work');
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(rerun.stderr).toMatch(/input \S*part-6\.jsonl changed since shard \d was made; redoing it/);
      const clean = outDir();
      expect((await dedup(clean)).code).toBe(0);
      expect(dedupSnapshot(out)).toEqual(dedupSnapshot(clean));
    } finally {
      writeFileSync(input, original);
    }
  });
});
