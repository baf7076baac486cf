/** Content hashes of input files for the manifest (SPEC §6), streamed: any file size works. */
import { createHash } from 'node:crypto';
import { TokenmixError } from '../errors.js';
import { fileChunks } from './file-chunks.js';

/** SHA-256 of the file's bytes as lowercase hex. */
export async function contentHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of fileChunks(path)) hash.update(chunk);
  } catch (error) {
    const cause = error instanceof Error ? error.message : String(error);
    throw new TokenmixError(`could not hash ${path}: ${cause}`, { where: path, cause: error });
  }
  return hash.digest('hex');
}
