/**
 * Content fingerprints (src/work/fingerprint.ts): what the sampled fingerprint sees and what
 * only the full SHA-256 sees. Expected hashes are computed here from the bytes themselves.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileAndRangeSha256, inputIdentity, looksChanged, rangeSha256, sampleFingerprint, unitInputIdentity } from '../../src/work/fingerprint.js';

const dir = mkdtempSync(join(tmpdir(), 'tokenmix-fingerprint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic bytes (a simple LCG), so that every block differs. */
function bytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

/** Rewrite one byte in place and put the old mtime back (an edit resume must still notice). */
function editInPlace(path: string, offset: number): void {
  const { atime, mtime } = statSync(path);
  const data = readFileSync(path);
  data[offset] ^= 0x20;
  writeFileSync(path, data);
  utimesSync(path, atime, mtime);
}

describe('content fingerprints', () => {
  it('the full fingerprint is the SHA-256 of every byte, with the size', async () => {
    const path = join(dir, 'a.bin');
    const data = bytes(700_000, 1);
    writeFileSync(path, data);
    const identity = await inputIdentity(path);
    expect(identity.bytes).toBe(700_000);
    expect(identity.sha256).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('a small file is sampled whole: any same-size edit changes the sample', async () => {
    const path = join(dir, 'small.bin');
    writeFileSync(path, bytes(200_000, 2));
    const recorded = await inputIdentity(path);
    for (const offset of [0, 77_777, 199_999]) {
      editInPlace(path, offset);
      expect(await looksChanged(path, recorded)).toBe(true);
      editInPlace(path, offset);
      expect(await looksChanged(path, recorded)).toBe(false);
    }
  });

  it('a large file: edits in the sampled blocks (first, last) change the sample; between them only the full hash sees it', async () => {
    const path = join(dir, 'large.bin');
    const size = 4 * 1024 * 1024;
    writeFileSync(path, bytes(size, 3));
    const recorded = await inputIdentity(path);
    editInPlace(path, 10);
    expect(await looksChanged(path, recorded)).toBe(true);
    editInPlace(path, 10);
    editInPlace(path, size - 1);
    expect(await looksChanged(path, recorded)).toBe(true);
    editInPlace(path, size - 1);
    // 8 blocks of 32 KiB, evenly spaced: byte 100 000 lies between the first two.
    editInPlace(path, 100_000);
    expect(await looksChanged(path, recorded)).toBe(false);
    expect((await inputIdentity(path)).sha256).not.toBe(recorded.sha256);
  });

  it('a size change is seen without reading, and the sample covers the size', async () => {
    const path = join(dir, 'grow.bin');
    writeFileSync(path, bytes(1000, 4));
    const recorded = await inputIdentity(path);
    writeFileSync(path, Buffer.concat([bytes(1000, 4), Buffer.from('x')]));
    expect(await looksChanged(path, recorded)).toBe(true);
    expect((await sampleFingerprint(path)).bytes).toBe(1001);
    expect(await looksChanged(path, undefined)).toBe(true);
  });

  it('byte ranges of a split file: each hashed alone, and all with the whole file in one read', async () => {
    const path = join(dir, 'split.bin');
    const data = bytes(3_000_000, 5);
    writeFileSync(path, data);
    const ranges: [number, number][] = [[0, 1_048_577], [1_048_577, 1_048_577], [1_048_577, 2_500_000], [2_500_000, 3_000_000]];
    const expected = ranges.map(([a, b]) => createHash('sha256').update(data.subarray(a, b)).digest('hex'));
    expect(await Promise.all(ranges.map(([a, b]) => rangeSha256(path, a, b)))).toEqual(expected);
    expect(await fileAndRangeSha256(path, ranges)).toEqual({ sha256: createHash('sha256').update(data).digest('hex'), ranges: expected });
  });

  it('a work unit records the hash of its own bytes only (the whole file for whole-file units and the first row-group part)', async () => {
    const path = join(dir, 'units.bin');
    const data = bytes(900_000, 6);
    writeFileSync(path, data);
    const whole = createHash('sha256').update(data).digest('hex');
    const sample = await sampleFingerprint(path);
    const slice = await unitInputIdentity(path, { kind: 'bytes', start: 300_000, end: 600_000 }, 1);
    expect(slice).toEqual({ ...sample, sha256: createHash('sha256').update(data.subarray(300_000, 600_000)).digest('hex') });
    expect((await unitInputIdentity(path, undefined, 0)).sha256).toBe(whole);
    expect((await unitInputIdentity(path, { kind: 'rows', start: 0, end: 10 }, 0)).sha256).toBe(whole);
    expect((await unitInputIdentity(path, { kind: 'rows', start: 10, end: 20 }, 1)).sha256).toBe('');
    // An edit outside a unit's range leaves that unit's hash as it was.
    editInPlace(path, 700_000);
    expect((await unitInputIdentity(path, { kind: 'bytes', start: 300_000, end: 600_000 }, 1)).sha256).toBe(slice.sha256);
  });
});
