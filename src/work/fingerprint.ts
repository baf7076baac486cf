/**
 * Content fingerprints of input files, so that resume never reuses work made from other bytes
 * (an input edited in place keeps its size and can keep its mtime).
 *
 * Two levels, chosen for cost at TB scale:
 * - `sample`: SHA-256 of the size and of 8 blocks of 32 KiB spread evenly over the file
 *   (first and last included; the whole file when it is at most 256 KiB). At most 256 KiB read
 *   per file whatever its size: checked for every completed shard each time a rank resumes.
 * - `sha256`: SHA-256 of every byte, computed while the map reads the shard and checked once
 *   by the reduce, which needs it anyway for the manifest's `inputs[].sha256`. An edit the
 *   sample misses is caught there, before any output is written.
 * SHA-256 runs at ~1.5–2 GB/s a core with SHA-NI (bench/README.md "Content fingerprints").
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { TokenmixError } from '../errors.js';
import { fileChunks } from '../io/file-chunks.js';
import { sha256Hex } from '../io/hash.js';

export interface InputIdentity {
  bytes: number;
  sample_sha256: string;
  sha256: string;
  /** The file's statKey before the unit's read, when it was the same after it (recordedStat). */
  stat?: string;
}

/**
 * A file's identity as stat gives it: device, inode, size, and modification and change times
 * in nanoseconds. Any write to the file changes its ctime, which a user cannot set back.
 */
export async function statKey(path: string): Promise<string | null> {
  return (await keyedStat(path))?.key ?? null;
}

/** A file changed this recently (ms) may change again within the same clock tick: its stat proves nothing. */
const RACY_MS = 1000;

/**
 * The statKey of a file about to be read, or null when it changed within the last second: a
 * write in the same tick as this stat could leave the key unchanged (git's "racy clean" case).
 */
export async function stableStatKey(path: string): Promise<string | null> {
  const found = await keyedStat(path);
  return found && Number(found.ctimeNs / 1000000n) <= Date.now() - RACY_MS ? found.key : null;
}

async function keyedStat(path: string): Promise<{ key: string; ctimeNs: bigint } | null> {
  try {
    const s = await stat(path, { bigint: true });
    return { key: `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`, ctimeNs: s.ctimeNs };
  } catch {
    return null;
  }
}

const SAMPLE_BLOCKS = 8;
const SAMPLE_BLOCK_BYTES = 32 * 1024;

function cannotRead(path: string, error: unknown): TokenmixError {
  const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new TokenmixError(`cannot read ${path} (${code}): it was removed or changed while tokenmix used it`, { where: path, cause: error });
}

/** The sampled fingerprint of `path` (see the file comment) and its size. */
export async function sampleFingerprint(path: string): Promise<{ bytes: number; sample_sha256: string }> {
  try {
    const handle = await open(path, 'r');
    try {
      const bytes = (await handle.stat()).size;
      const hash = createHash('sha256').update(`${bytes}\n`);
      const block = Buffer.alloc(SAMPLE_BLOCK_BYTES);
      const span = SAMPLE_BLOCKS * SAMPLE_BLOCK_BYTES;
      const offsets = bytes <= span
        ? Array.from({ length: Math.ceil(bytes / SAMPLE_BLOCK_BYTES) }, (_, k) => k * SAMPLE_BLOCK_BYTES)
        : Array.from({ length: SAMPLE_BLOCKS }, (_, k) => Math.floor((k * (bytes - SAMPLE_BLOCK_BYTES)) / (SAMPLE_BLOCKS - 1)));
      for (const offset of offsets) {
        const { bytesRead } = await handle.read(block, 0, Math.min(SAMPLE_BLOCK_BYTES, bytes - offset), offset);
        hash.update(block.subarray(0, bytesRead));
      }
      return { bytes, sample_sha256: hash.digest('hex') };
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw cannotRead(path, error);
  }
}

/** SHA-256 of every byte of `path`. */
export async function fileSha256(path: string): Promise<string> {
  return sha256Hex(path).catch((error: unknown) => {
    throw cannotRead(path, error);
  });
}

/**
 * SHA-256 of bytes [start, end) of `path`: what a work unit that reads part of a file records,
 * so that its marker can be checked without hashing the rest of the file.
 */
export async function rangeSha256(path: string, start: number, end: number): Promise<string> {
  return sha256Hex(path, { start, end }).catch((error: unknown) => {
    throw cannotRead(path, error);
  });
}

/**
 * In one sequential read: the SHA-256 of the whole file and of each byte range (ranges sorted,
 * not overlapping), so the reduce checks every unit of a split file while computing the hash
 * the manifest needs anyway.
 */
export async function fileAndRangeSha256(path: string, ranges: [number, number][]): Promise<{ sha256: string; ranges: string[] }> {
  const whole = createHash('sha256');
  const parts = ranges.map(() => createHash('sha256'));
  let offset = 0;
  try {
    for await (const chunk of fileChunks(path)) {
      whole.update(chunk);
      const chunkEnd = offset + chunk.length;
      for (const [k, [start, end]] of ranges.entries()) {
        const from = Math.max(start, offset);
        const to = Math.min(end, chunkEnd);
        if (from < to) parts[k].update(chunk.subarray(from - offset, to - offset));
      }
      offset = chunkEnd;
    }
  } catch (error) {
    throw cannotRead(path, error);
  }
  return { sha256: whole.digest('hex'), ranges: parts.map((h) => h.digest('hex')) };
}

/** Both fingerprints of `path`. */
export async function inputIdentity(path: string): Promise<InputIdentity> {
  const [sample, sha256] = await Promise.all([sampleFingerprint(path), fileSha256(path)]);
  return { ...sample, sha256 };
}

/** Whether `path` no longer looks like the file `recorded` describes (size or sample differ). */
export async function looksChanged(path: string, recorded: InputIdentity | undefined): Promise<boolean> {
  if (!recorded) return true;
  const { size } = await stat(path);
  if (size !== recorded.bytes) return true;
  return (await sampleFingerprint(path)).sample_sha256 !== recorded.sample_sha256;
}

/**
 * Size and SHA-256 of an intermediate file, or null when it is missing; with `withStat`, also
 * its statKey after hashing (what a reduce in the same session compares instead of hashing).
 */
export async function describeIntermediate(path: string, withStat = false): Promise<{ bytes: number; sha256: string; stat?: string } | null> {
  try {
    const { size } = await stat(path);
    const sha256 = await fileSha256(path);
    const key = withStat ? await statKey(path) : null;
    return { bytes: size, sha256, ...(key !== null ? { stat: key } : {}) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (error instanceof TokenmixError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * What a work unit's marker records of its input: the whole file's size and sample (the cheap
 * resume check) and the SHA-256 of the unit's own bytes: its byte range, or the whole file for
 * a whole-file unit and for the first row-group part of a Parquet file (its other parts record
 * none: the first part's hash covers the file). No unit hashes more than it must.
 */
export async function unitInputIdentity(path: string, range: { kind: 'bytes' | 'rows'; start: number; end: number } | undefined, part: number): Promise<InputIdentity> {
  const sample = sampleFingerprint(path);
  const sha256 =
    range?.kind === 'bytes' ? rangeSha256(path, range.start, range.end) : range?.kind === 'rows' && part > 0 ? Promise.resolve('') : fileSha256(path);
  const [s, h] = await Promise.all([sample, sha256]);
  return { ...s, sha256: h };
}

/**
 * `identity` with the input's statKey `before` the unit was read, if the file has the same key
 * now that it is read (a file written meanwhile gets none, and its reduce hashes it).
 */
export async function recordedStat(path: string, identity: InputIdentity, before: string | null): Promise<InputIdentity> {
  return before !== null && before === (await statKey(path)) ? { ...identity, stat: before } : identity;
}
