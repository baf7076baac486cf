/**
 * Evaluation sets (config `evals: { name: path }`, paths relative to the config file). A
 * `.jsonl` file holds one example per line in its `text` field; any other file is one text
 * (eval-texts.ts).
 * They feed contamination detection (SPEC §2) and the eval token distributions p_j (§4).
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { TokenmixError } from '../errors.js';
import { evalTextsOf } from './eval-texts.js';

export interface EvalSet {
  name: string;
  /** As written in the config. */
  path: string;
  sha256: string;
  texts: string[];
}

export async function readEvalSets(evals: Record<string, string>, baseDir: string): Promise<EvalSet[]> {
  const sets: EvalSet[] = [];
  for (const name of Object.keys(evals).sort()) {
    const path = evals[name];
    let bytes: Buffer;
    try {
      bytes = await readFile(resolve(baseDir, path));
    } catch (error) {
      throw new TokenmixError(`config: evals.${name}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; paths are relative to the config file)`);
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new TokenmixError(`${path}: eval set "${name}" is not valid UTF-8`);
    }
    const texts = evalTextsOf(path, text, name);
    sets.push({ name, path, sha256: createHash('sha256').update(bytes).digest('hex'), texts });
  }
  return sets;
}
