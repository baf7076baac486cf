/**
 * Turning a tokenizer spec from a config into a Tokenizer (browser-safe: no file system).
 * Node callers that may pass a path to a tokenizer.json use `loadTokenizer` (load-node.ts).
 */
import { TokenmixError } from '../errors.js';
import { huggingFaceTokenizer } from './huggingface.js';
import { loadTiktoken } from './tiktoken.js';
import { TIKTOKEN_ENCODINGS, isTiktokenEncodingName, type Tokenizer } from './tokenizer.js';
import { WordsTokenizer } from './words.js';

/** A tokenizer.json already parsed (e.g. from a file dropped in the browser). */
export interface TokenizerJsonSource {
  /** Recorded in the manifest, e.g. the file name. */
  name: string;
  /** The parsed tokenizer.json object. */
  tokenizerJson: unknown;
  /** Optional parsed tokenizer_config.json (tokens like eos for Unigram models). */
  tokenizerConfig?: Record<string, unknown>;
}

export type TokenizerSpec = string | TokenizerJsonSource;

export const TOKENIZER_NAMES: readonly string[] = ['words', ...TIKTOKEN_ENCODINGS];

/** `true` when a spec string means a file rather than a tokenizer name. */
export function looksLikeTokenizerPath(spec: string): boolean {
  return spec.endsWith('.json') || spec.includes('/') || spec.includes('\\');
}

/**
 * `"words"`, a tiktoken encoding name, or a parsed tokenizer.json. A path string is an
 * error here (no file system): in Node use `loadTokenizer`, in a browser read the file and
 * pass `{ name, tokenizerJson }`.
 */
export async function createTokenizer(spec: TokenizerSpec): Promise<Tokenizer> {
  if (typeof spec !== 'string') {
    return huggingFaceTokenizer(spec.tokenizerJson, {
      name: spec.name,
      where: `"${spec.name}"`,
      config: spec.tokenizerConfig,
    });
  }
  if (spec === 'words') return new WordsTokenizer();
  if (isTiktokenEncodingName(spec)) return loadTiktoken(spec);
  if (looksLikeTokenizerPath(spec)) {
    throw new TokenmixError(
      `tokenizer "${spec}" looks like a tokenizer.json path, but files cannot be read here. ` +
        'In Node use loadTokenizer from the Node entry; in a browser read the file and pass { name, tokenizerJson }.',
    );
  }
  throw unknownTokenizer(spec);
}

export function unknownTokenizer(spec: string): TokenmixError {
  return new TokenmixError(
    `unknown tokenizer "${spec}". Valid names: ${TOKENIZER_NAMES.join(', ')}; ` +
      'or a path to a Hugging Face tokenizer.json.',
  );
}
