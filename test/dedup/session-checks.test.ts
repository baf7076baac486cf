/**
 * The reduce's checks within one run (work/markers.ts inputStaleReason): a process does not hash
 * again what its own map hashed while the files' stat keys are unchanged, and that shortcut
 * never hides a write. An input edited in place between a unit's map and the reduce (same size,
 * mtime put back), and an intermediate damaged behind its marker, are still caught in the same
 * run, and the outputs equal a clean run's over the current files.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedup } from '../../src/dedup/index.js';
import { writeStreamCorpus } from '../../fixtures/dedup/stream-corpus.js';
import { cpu, snapshot, tempDir } from './helpers.js';
import { inputStaleReason } from '../../src/work/markers.js';
import type { FileHashing } from '../../src/work/file-hashing.js';
import { fileAndRangeSha256, describeIntermediate } from '../../src/work/fingerprint.js';
import { markerFiles, type SignatureMarker } from '../../src/dedup/signature-phase.js';
import type { WorkUnit } from '../../src/exec/units.js';
import type { ResolvedInput } from '../../src/io/types.js';
import { editInPlace } from '../helpers/edit-in-place.js';

const dir = tempDir('session');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const input = join(dir, 'corpus.jsonl');
let original: Buffer;

beforeAll(async () => {
  await writeStreamCorpus(input, 3000, 7);
  original = readFileSync(input);
  // A file changed within the last second is never trusted by its stat (racy): age it.
  await new Promise((resolve) => setTimeout(resolve, 1100));
});

const UNIT_BYTES = 200_000;
let outs = 0;

async function run(onShardDone?: (shard: number) => void, keepWork = false, workers = 1) {
  const outDir = join(dir, `out-${outs++}`);
  const logs: string[] = [];
  const result = await dedup({ inputs: [{ path: input }], outDir, workers, unitBytes: UNIT_BYTES, keepWork }, cpu, { log: (m) => logs.push(m), onShardDone });
  expect(result.status).toBe('complete');
  return { outDir, log: logs.join('\n') };
}


describe('checks in the session that mapped the units', () => {
  it('markers of an input unchanged for a second record its stat key and the session', async () => {
    const { outDir } = await run(undefined, true);
    const shards = join(outDir, '.tokenmix-dedup', 'shards');
    const markers = readdirSync(shards).filter((f) => f.endsWith('.done.json')).map((f) => JSON.parse(readFileSync(join(shards, f), 'utf8')));
    expect(markers.length).toBeGreaterThan(2);
    const { dev, ino, size } = statSync(input, { bigint: true });
    for (const m of markers) {
      expect(m.session).toMatch(/^[0-9a-f]{24}$/);
      expect(m.input.stat.startsWith(`${dev}:${ino}:${size}:`)).toBe(true);
      for (const file of Object.values(m.intermediates) as { stat?: string }[]) expect(file.stat).toMatch(/^\d+:\d+:\d+:\d+:\d+$/);
    }
    expect(new Set(markers.map((m) => m.session)).size).toBe(1);
  });

  it('in its session, the reduce hashes only the whole input: unchanged ranges and intermediates are not read again', async () => {
    const { outDir } = await run(undefined, true);
    const workDir = join(outDir, '.tokenmix-dedup');
    const shards = join(workDir, 'shards');
    const markers = readdirSync(shards).filter((f) => f.endsWith('.done.json')).sort()
      .map((f) => JSON.parse(readFileSync(join(shards, f), 'utf8')) as SignatureMarker);
    const units: WorkUnit[] = markers.map((m, index) => ({ index, input: 0, part: m.part, parts: m.parts, bytes: 0, ...(m.range ? { range: m.range } : {}) }) as WorkUnit);
    const checks = markers.map((m) => {
      const files = markerFiles(workDir, m) as Record<string, string>;
      return Object.entries(m.intermediates).map(([kind, f]) => ({ path: files[kind], ...f }));
    });
    const resolved = { path: input, displayPath: 'corpus.jsonl', format: 'jsonl', compression: 'none' } as ResolvedInput;
    const calls = { ranges: [] as number[], described: 0 };
    const spy: FileHashing = {
      concurrent: false,
      fileAndRangeSha256: (path, ranges) => (calls.ranges.push(ranges.length), fileAndRangeSha256(path, ranges)),
      describeIntermediate: (path) => (calls.described++, describeIntermediate(path)),
    };
    const whole = (await fileAndRangeSha256(input, [])).sha256;
    // The session that made the markers: one read of the input for its hash, nothing else.
    const same = await inputStaleReason(resolved, units, markers, checks, spy, { id: markers[0].session! });
    expect(same).toEqual({ bytes: original.length, sha256: whole, stale: null });
    expect(calls).toEqual({ ranges: [0], described: 0 });
    // Another session (a resumed run): every range and every intermediate is hashed.
    calls.ranges.length = 0;
    const other = await inputStaleReason(resolved, units, markers, checks, spy, { id: 'another-session' });
    expect(other).toEqual(same);
    expect(calls).toEqual({ ranges: [markers.length], described: checks.flat().length });
  });

  it('an input edited in place after its first unit was mapped is caught by that unit\'s range hash in the same run', async () => {
    const clean = await run();
    let edited = false;
    try {
      const { outDir, log } = await run(() => {
        if (edited) return;
        edited = true;
        editInPlace(input, 1000); // inside the first unit, already mapped
      });
      expect(edited).toBe(true);
      expect(log).toMatch(/corpus\.jsonl changed since part 1 of \d+ of shard 0 was made \(its SHA-256 differs\); redoing shard 0/);
      const reference = await run();
      expect(snapshot(outDir)).toEqual(snapshot(reference.outDir));
      expect(snapshot(outDir)).not.toEqual(snapshot(clean.outDir));
    } finally {
      writeFileSync(input, original);
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
  });

  it('with workers, the input hashed whole during the map: the manifest has its SHA-256, and an edit made after that hash is caught', async () => {
    const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
    const manifestSha = (out: string) => JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).inputs[0].sha256;
    const plain = await run(undefined, false, 2);
    expect(manifestSha(plain.outDir)).toBe(sha256(original));
    let edited = false;
    try {
      const { outDir, log } = await run(() => {
        if (edited) return;
        edited = true;
        editInPlace(input, 1000); // inside the first unit; after the whole-file hash was queued
      }, false, 2);
      expect(edited).toBe(true);
      expect(log).toMatch(/corpus\.jsonl changed since part 1 of \d+ of shard 0 was made \(its SHA-256 differs\); redoing shard 0/);
      expect(manifestSha(outDir)).toBe(sha256(readFileSync(input)));
      const reference = await run(undefined, false, 2);
      expect(snapshot(outDir)).toEqual(snapshot(reference.outDir));
    } finally {
      writeFileSync(input, original);
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
  });

  it('an intermediate damaged behind its marker in the same run is caught and its unit redone', async () => {
    const clean = await run();
    let done = 0;
    const { outDir, log } = await run(() => {
      if (++done !== 2) return;
      // The first unit's shingle sets, after its marker recorded their hash and stat key.
      const shards = join(dir, `out-${outs - 1}`, '.tokenmix-dedup', 'shards');
      const file = join(shards, readdirSync(shards).find((f) => f.startsWith('00000.part0000of') && f.endsWith('.shingles.bin'))!);
      const data = readFileSync(file);
      data[data.length >> 1] ^= 0xff;
      writeFileSync(file, data);
    });
    expect(done).toBeGreaterThan(2);
    expect(log).toMatch(/shingles\.bin of part 1 of \d+ of shard 0 does not match its marker's SHA-256 \(damaged\); redoing shard 0/);
    expect(snapshot(outDir)).toEqual(snapshot(clean.outDir));
  });
});
