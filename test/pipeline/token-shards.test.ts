/**
 * The byte layouts of token-shards.ts against bytes written out by hand from
 * docs/training-shards.md (Megatron's MMIDIDX index, the flat tokens format).
 */
import { describe, expect, it } from 'vitest';
import { documentOffsets, megatronIndex, packTokens, tokenDtype } from '../../src/pipeline/token-shards.js';

const hex = (b: Buffer) => b.toString('hex');
const u64 = (n: number) => Buffer.from(new BigUint64Array([BigInt(n)]).buffer).toString('hex');

describe('token shard layouts', () => {
  it('dtype: uint16 while every id fits, int32 above', () => {
    expect(tokenDtype(0)).toBe('uint16');
    expect(tokenDtype(65535)).toBe('uint16');
    expect(tokenDtype(65536)).toBe('int32');
    expect(tokenDtype(200018)).toBe('int32');
    expect(() => tokenDtype(2 ** 31)).toThrow(/does not fit in int32/);
  });

  it('packTokens: ids then the end-of-document id, little-endian', () => {
    const docs = [Uint32Array.from([1, 258]), Uint32Array.from([7])];
    expect(hex(packTokens(docs, 9, 'uint16'))).toBe('0100' + '0201' + '0900' + '0700' + '0900');
    expect(hex(packTokens(docs, 70000, 'int32'))).toBe('01000000' + '02010000' + '70110100' + '07000000' + '70110100');
  });

  it('megatronIndex: header, int32 lengths, int64 byte pointers, int64 document indices 0..n', () => {
    // Two documents of 3 and 2 tokens (EOD included), uint16 (code 8): pointers 0 and 6 bytes.
    const expected =
      Buffer.from('MMIDIDX\x00\x00', 'latin1').toString('hex') +
      u64(1) + // version
      '08' + // dtype code: uint16
      u64(2) + // sequences
      u64(3) + // document index entries (documents + 1)
      '03000000' + '02000000' + // lengths
      u64(0) + u64(6) + // pointers
      u64(0) + u64(1) + u64(2); // document indices
    expect(hex(megatronIndex([3, 2], 'uint16'))).toBe(expected);
    // int32 (code 4): pointers step by 4 bytes per token.
    const int32 = megatronIndex([3, 2], 'int32');
    expect(int32[17]).toBe(4);
    expect(int32.readBigInt64LE(34 + 8 + 8)).toBe(12n);
    expect(hex(megatronIndex([], 'uint16'))).toBe(Buffer.from('MMIDIDX\x00\x00', 'latin1').toString('hex') + u64(1) + '08' + u64(0) + u64(1) + u64(0));
  });

  it('documentOffsets: uint64 start of each document, then the total', () => {
    expect(hex(documentOffsets([3, 2, 5]))).toBe(u64(0) + u64(3) + u64(5) + u64(10));
    expect(hex(documentOffsets([]))).toBe(u64(0));
  });
});
