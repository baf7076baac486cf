/**
 * Byte layouts of the training-ready token shards (docs/training-shards.md gives them in full):
 *
 * - `megatron`: Megatron-LM's indexed dataset (`megatron/core/datasets/indexed_dataset.py`,
 *   the MMIDIDX index, version 1). `.bin` holds the sequences' token ids back to back in the
 *   index's dtype; `.idx` holds the header, then int32 sequence lengths, int64 byte pointers
 *   into `.bin`, and int64 document indices (0, then the sequence count after each document).
 *   One sequence per planned document, so the document indices are 0, 1, …, n.
 * - `tokens`: nanoGPT's flat `.bin` (token ids, no header) and a `.docs` file of uint64 token
 *   offsets where each document starts, plus the total (n + 1 values).
 *
 * Every document ends with the end-of-document token in both formats. All integers are
 * little-endian, whatever the host.
 */
import { invariant, TokenmixError } from '../errors.js';

export type TokenDtype = 'uint16' | 'int32';

/** Megatron's numeric dtype codes (DType enum in indexed_dataset.py). */
const MEGATRON_DTYPE_CODE: Record<TokenDtype, number> = { uint16: 8, int32: 4 };
const MEGATRON_MAGIC = Buffer.from('MMIDIDX\x00\x00', 'latin1');
const MEGATRON_VERSION = 1n;

export function dtypeBytes(dtype: TokenDtype): number {
  return dtype === 'uint16' ? 2 : 4;
}

/** uint16 when every id (the end-of-document token included) fits in it, else int32. */
export function tokenDtype(maxTokenId: number): TokenDtype {
  if (!Number.isInteger(maxTokenId) || maxTokenId < 0 || maxTokenId > 0x7fffffff) {
    throw new TokenmixError(`token shards: token id ${maxTokenId} does not fit in int32`);
  }
  return maxTokenId <= 0xffff ? 'uint16' : 'int32';
}

/** The documents' ids, each followed by `eodToken`, packed in `dtype` (little-endian). */
export function packTokens(documents: Uint32Array[], eodToken: number, dtype: TokenDtype): Buffer {
  const count = documents.reduce((sum, ids) => sum + ids.length + 1, 0);
  const size = dtypeBytes(dtype);
  const out = Buffer.alloc(count * size);
  let at = 0;
  const put = dtype === 'uint16' ? (id: number) => out.writeUInt16LE(id, at) : (id: number) => out.writeInt32LE(id, at);
  for (const ids of documents) {
    for (const id of ids) {
      put(id);
      at += size;
    }
    put(eodToken);
    at += size;
  }
  invariant(at === out.length, 'packTokens: size mismatch');
  return out;
}

/** A Megatron `.idx` for sequences of the given lengths (tokens, EOD included), one per document. */
export function megatronIndex(sequenceLengths: number[], dtype: TokenDtype): Buffer {
  const n = sequenceLengths.length;
  const header = 9 + 8 + 1 + 8 + 8;
  const out = Buffer.alloc(header + n * 4 + n * 8 + (n + 1) * 8);
  let at = MEGATRON_MAGIC.copy(out, 0);
  at = out.writeBigUInt64LE(MEGATRON_VERSION, at);
  at = out.writeUInt8(MEGATRON_DTYPE_CODE[dtype], at);
  at = out.writeBigUInt64LE(BigInt(n), at);
  at = out.writeBigUInt64LE(BigInt(n + 1), at);
  for (const length of sequenceLengths) {
    if (length > 0x7fffffff) throw new TokenmixError(`token shards: a document of ${length} tokens does not fit Megatron's int32 sequence lengths`);
    at = out.writeInt32LE(length, at);
  }
  let pointer = 0n;
  for (const length of sequenceLengths) {
    at = out.writeBigInt64LE(pointer, at);
    pointer += BigInt(length * dtypeBytes(dtype));
  }
  for (let d = 0; d <= n; d++) at = out.writeBigInt64LE(BigInt(d), at);
  invariant(at === out.length, 'megatronIndex: size mismatch');
  return out;
}

/** The `tokens` format's `.docs`: uint64 token offset of each document's start, then the total. */
export function documentOffsets(sequenceLengths: number[]): Buffer {
  const out = Buffer.alloc((sequenceLengths.length + 1) * 8);
  let offset = 0n;
  let at = out.writeBigUInt64LE(0n, 0);
  for (const length of sequenceLengths) {
    offset += BigInt(length);
    at = out.writeBigUInt64LE(offset, at);
  }
  return out;
}
