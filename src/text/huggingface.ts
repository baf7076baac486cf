/**
 * Hugging Face `tokenizer.json` files, run by `@huggingface/tokenizers` (tokenizers.js, pure
 * JS, browser-safe). The JSON is passed in already parsed: reading files is the Node
 * entry's job (load-node.ts); a browser page passes the object it parsed from a dropped file.
 *
 * Counting semantics (documented in docs/tokenizers.md):
 *  - `add_special_tokens: false`: T_r counts the text's tokens, not BOS/EOS added by the
 *    post-processor.
 *  - Added/special tokens written in the text (e.g. "<|endoftext|>") are matched as those
 *    tokens, as the Rust `tokenizers` library does by default; they never throw.
 */
import { TokenmixError } from '../errors.js';
import type { Tokenizer } from './tokenizer.js';

/** The subset of tokenizers.js's `Tokenizer` used here (its import is deferred until needed). */
interface HfTokenizerLike {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[]; tokens: string[] };
  get_vocab(withAddedTokens?: boolean): Map<string, number>;
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
}

export class HuggingFaceTokenizer implements Tokenizer {
  readonly kind = 'huggingface' as const;

  constructor(
    readonly name: string,
    private readonly tokenizer: HfTokenizerLike,
    readonly vocabSize: number,
  ) {}

  tokenize(): null {
    return null;
  }

  encode(text: string): Uint32Array {
    return Uint32Array.from(this.tokenizer.encode(text, { add_special_tokens: false }).ids);
  }

  /** tokenizers.js has no count-only path: this encodes and takes the length. */
  count(text: string): number {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids.length;
  }

  decode(ids: ArrayLike<number>): string {
    return ids.length === 0 ? '' : this.tokenizer.decode(Array.from(ids));
  }

  /** Token strings as the model spells them (e.g. "Ġworld" for byte-level BPE); for tests and debugging. */
  pieces(text: string): string[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).tokens;
  }
}

const SUPPORTED_MODELS: readonly string[] = ['BPE', 'WordPiece', 'Unigram'];
const TOP_LEVEL_COMPONENTS = ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const;

/**
 * Builds a tokenizer from a parsed tokenizer.json. `where` names its origin (a path, a file
 * name) for error messages. Throws TokenmixError when the object is not a usable tokenizer.
 */
export async function huggingFaceTokenizer(
  json: unknown,
  options: { name: string; where: string; config?: Record<string, unknown> },
): Promise<HuggingFaceTokenizer> {
  const { name, where } = options;
  const fail = (what: string, cause?: unknown): never => {
    throw new TokenmixError(
      `tokenizer.json ${where}: ${what}. Expected a Hugging Face tokenizer.json (an object with "model": {"type": "BPE" | "WordPiece" | "Unigram", "vocab": ...}).`,
      { where, cause },
    );
  };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return fail('not a JSON object');
  const source = json as Record<string, unknown>;
  const model = source.model;
  if (model === null || typeof model !== 'object' || Array.isArray(model)) return fail('no "model" object');
  if (!('vocab' in model)) return fail('"model" has no "vocab"');
  const modelType = (model as { type?: unknown }).type;
  if (modelType !== undefined && !SUPPORTED_MODELS.includes(modelType as string)) {
    return fail(`model type ${JSON.stringify(modelType)} is not supported (tokenizers.js runs ${SUPPORTED_MODELS.join(', ')})`);
  }
  if (source.added_tokens !== undefined && !Array.isArray(source.added_tokens))
    return fail('"added_tokens" is not an array');
  // tokenizers.js requires every component key to be present (null when absent).
  const complete: Record<string, unknown> = { ...source, added_tokens: source.added_tokens ?? [] };
  for (const key of TOP_LEVEL_COMPONENTS) complete[key] = source[key] ?? null;

  const { Tokenizer: HfTokenizer } = await import('@huggingface/tokenizers');
  let tokenizer: HfTokenizerLike;
  try {
    tokenizer = new HfTokenizer(complete, options.config ?? {}) as unknown as HfTokenizerLike;
  } catch (error) {
    return fail(`tokenizers.js rejected it (${error instanceof Error ? error.message : String(error)})`, error);
  }
  let maxId = -1;
  for (const id of tokenizer.get_vocab(true).values()) if (id > maxId) maxId = id;
  if (maxId < 0) return fail('the vocabulary is empty');
  return new HuggingFaceTokenizer(name, tokenizer, maxId + 1);
}
