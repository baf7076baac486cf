/**
 * Node-only: tokenizer specs that may be a path to a Hugging Face tokenizer.json.
 * Kept out of src/text/index.ts so the browser entry never imports node:fs.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { TokenmixError } from '../errors.js';
import { huggingFaceTokenizer } from './huggingface.js';
import { TOKENIZER_NAMES, createTokenizer, looksLikeTokenizerPath, unknownTokenizer } from './load.js';
import type { Tokenizer } from './tokenizer.js';

export interface LoadTokenizerOptions {
  /** Directory relative paths are resolved against (the config file's directory). Default: cwd. */
  baseDir?: string;
}

/**
 * `"words"`, a tiktoken encoding name (`cl100k_base`, `o200k_base`), or a path to a
 * tokenizer.json (relative to `baseDir`). A `tokenizer_config.json` beside it, as Hugging Face
 * repositories ship, is read too. The tokenizer's name is the spec as written (so manifests
 * do not depend on the machine's directory layout). Never touches the network.
 */
export async function loadTokenizer(spec: string, options: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  if (TOKENIZER_NAMES.includes(spec)) return createTokenizer(spec);
  if (!looksLikeTokenizerPath(spec)) throw unknownTokenizer(spec);
  const path = resolve(options.baseDir ?? process.cwd(), spec);
  const json = await readJsonFile(path, spec);
  const configPath = join(dirname(path), 'tokenizer_config.json');
  const config = configPath === path ? undefined : await readJsonFile(configPath, spec, { optional: true });
  if (config !== undefined && (config === null || typeof config !== 'object' || Array.isArray(config))) {
    throw new TokenmixError(`${configPath} is not a JSON object (read beside tokenizer "${spec}").`, {
      where: configPath,
    });
  }
  return huggingFaceTokenizer(json, {
    name: spec,
    where: path,
    config: config as Record<string, unknown> | undefined,
  });
}

async function readJsonFile(path: string, spec: string, options: { optional?: boolean } = {}): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (options.optional && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(error);
    throw new TokenmixError(
      `cannot read tokenizer.json ${path} (tokenizer "${spec}"): ${why}. ` +
        `Give a path to a Hugging Face tokenizer.json, or one of: ${TOKENIZER_NAMES.join(', ')}.`,
      { where: path, cause: error },
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TokenmixError(
      `${path} is not valid JSON (${error instanceof Error ? error.message : String(error)}); ` +
        `it was read for tokenizer "${spec}".`,
      { where: path, cause: error },
    );
  }
}
