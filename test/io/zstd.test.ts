/**
 * The checked zstd decoder (src/io/zstd.ts) against the reference `zstd` command: what zstd
 * writes decodes to the original bytes, whatever the chunking; damage that `zstd -t` detects
 * (checksum, truncation, trailing bytes, reserved bits) is refused with the byte offset.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hasZstdCli, zstdRawFrame } from '../../fixtures/io/generate.js';
import { createZstdDecoder, ZstdDataError, zstdDecompressChecked } from '../../src/io/zstd.js';

const text = Buffer.from(Array.from({ length: 3000 }, (_, i) => `{"id":"d${i}","text":"word ${i % 97} and ${(i * 7919) % 1009}"}\n`).join(''));
const zstd = (args: string[], input: Uint8Array) => new Uint8Array(execFileSync('zstd', ['-q', '-c', ...args], { input, maxBuffer: 1 << 28 }));

async function decodeInChunks(bytes: Uint8Array, chunk: number): Promise<Buffer> {
  const decoder = await createZstdDecoder();
  const parts: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += chunk) parts.push(...decoder.push(bytes.subarray(at, at + chunk)));
  parts.push(...decoder.end());
  return Buffer.concat(parts);
}

async function failure(bytes: Uint8Array): Promise<ZstdDataError> {
  const error = await zstdDecompressChecked(bytes).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ZstdDataError);
  return error as ZstdDataError;
}

describe.skipIf(!hasZstdCli())('zstd written by the zstd command', () => {
  const checked = zstd(['-3'], text);

  it.each([1, 7, 4096, 1 << 20])('decodes to the original bytes in chunks of %i', async (chunk) => {
    expect((await decodeInChunks(checked, chunk)).equals(text)).toBe(true);
  });

  it('decodes concatenated frames, skippable frames and frames without checksum', async () => {
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
    const noCheck = zstd(['--no-check', '-19'], text);
    const joined = Buffer.concat([checked, skippable, noCheck, zstdRawFrame(text)]);
    expect((await decodeInChunks(joined, 999)).equals(Buffer.concat([text, text, text]))).toBe(true);
  });

  it('every single flipped byte is refused or decodes to the original (never to other bytes)', async () => {
    let refused = 0;
    for (let k = 0; k < 60; k++) {
      const damaged = Buffer.from(checked);
      const at = 4 + Math.floor(((k * 7919) % 1000) / 1000 * (damaged.length - 4));
      damaged[at] ^= 1 << (k % 8);
      const result = await zstdDecompressChecked(damaged).then((bytes) => Buffer.from(bytes), (e: unknown) => e);
      if (result instanceof ZstdDataError) refused++;
      else expect(Buffer.isBuffer(result) && result.equals(text)).toBe(true);
    }
    expect(refused).toBeGreaterThan(50);
  });

  it('refuses a truncated file, naming where it ended', async () => {
    const cut = checked.subarray(0, checked.length - 10);
    const error = await failure(cut);
    expect(error.message).toContain('ends inside the frame starting at byte 0');
    expect(error.offset).toBe(cut.length);
  });

  it('refuses trailing garbage after the last frame, at its offset', async () => {
    const error = await failure(Buffer.concat([checked, Buffer.from('garbage')]));
    expect(error.message).toContain('trailing garbage');
    expect(error.offset).toBe(checked.length);
  });

  it('refuses an empty input and a reserved header bit', async () => {
    expect((await failure(new Uint8Array(0))).message).toContain('no zstd frame');
    const reserved = Buffer.from(checked);
    reserved[4] |= 0x08;
    expect((await failure(reserved)).message).toContain('reserved bit');
  });
});

describe('frames this file writes by hand (no zstd command needed)', () => {
  it('a raw frame whose declared content size is wrong is refused', async () => {
    // Frame header: single segment, 1-byte content size = 5, but the raw block holds 3 bytes.
    const frame = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, 5, (3 << 3) | 1, 0, 0, 0x61, 0x62, 0x63]);
    const error = await failure(frame);
    expect(error.message).toContain('declares 5 bytes but decodes to 3');
    expect(error.offset).toBe(0);
  });

  it('a window larger than the limit is refused before anything is allocated', async () => {
    // Window descriptor exponent 31 (2 GiB).
    const frame = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (31 - 10) << 3, 1, 0, 0]);
    expect((await failure(frame)).message).toContain('2048 MiB window');
  });

  it('output comes lazily in pieces of at most one block (64 RLE blocks: 8 MiB from 262 bytes)', async () => {
    const blockBytes = 128 * 1024;
    const header = [0x28, 0xb5, 0x2f, 0xfd, 0x00, (17 - 10) << 3]; // window 128 KiB, no checksum
    const blocks = Array.from({ length: 64 }, (_, b) => {
      const h = (blockBytes << 3) | (1 /* RLE */ << 1) | (b === 63 ? 1 : 0);
      return [h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0x61];
    }).flat();
    const decoder = await createZstdDecoder();
    let total = 0;
    let largest = 0;
    for (const part of decoder.push(Uint8Array.from([...header, ...blocks]))) {
      total += part.length;
      largest = Math.max(largest, part.length);
    }
    for (const part of decoder.end()) total += part.length;
    expect(total).toBe(64 * blockBytes);
    expect(largest).toBeLessThanOrEqual(blockBytes);
  });

  it('a checksummed raw frame detects a flipped data byte', async () => {
    const good = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x24, 3, (3 << 3) | 1, 0, 0, 0x61, 0x62, 0x63]);
    // XXH64("abc", seed 0) = 0x44bc2cf5ad770999: its low 32 bits, little-endian.
    const checksum = [0x99, 0x09, 0x77, 0xad];
    expect(Buffer.from(await zstdDecompressChecked(Uint8Array.from([...good, ...checksum]))).toString()).toBe('abc');
    const flipped = Uint8Array.from([...good, ...checksum]);
    flipped[10] ^= 0x20;
    const error = await failure(flipped);
    expect(error.message).toContain('failed its checksum');
    expect(error.offset).toBe(12);
  });
});
