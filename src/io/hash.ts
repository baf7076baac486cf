/** Content hashes of input files for the manifest (SPEC §6), streamed: any file size works. */
import { createHash } from 'node:crypto';
import { TokenmixError } from '../errors.js';
import { fileChunks } from './file-chunks.js';

/** SHA-256 of the file's bytes as lowercase hex. */
export async function contentHash(path: string): Promise<string> {
  try {
    return await sha256Hex(path);
  } catch (error) {
    const cause = error instanceof Error ? error.message : String(error);
    throw new TokenmixError(`could not hash ${path}: ${cause}`, { where: path, cause: error });
  }
}

/**
 * SHA-256, as lowercase hex, of a file's bytes or of bytes [start, end) of it, streamed; read
 * errors are thrown as Node raises them (callers say what could not be read, and why it matters).
 */
export async function sha256Hex(path: string, range?: { start: number; end: number }): Promise<string> {
  const hash = createHash('sha256');
  if (range === undefined || range.end > range.start) for await (const chunk of fileChunks(path, range)) hash.update(chunk);
  return hash.digest('hex');
}
