/**
 * The tokenizer contract shared by `words`, tiktoken encodings and Hugging Face
 * `tokenizer.json` files. SPEC §1: the token count T_r of a record comes from a named
 * tokenizer, and the manifest records which one (`name` + `kind`).
 */

export type TokenizerKind = 'words' | 'tiktoken' | 'huggingface';

export interface Tokenizer {
  /** `words`, an encoding name (`cl100k_base`), or the name given to a tokenizer.json. */
  readonly name: string;
  readonly kind: TokenizerKind;
  /**
   * Size of the id space (max id + 1, special tokens included) for BPE tokenizers: the `V` of
   * SPEC §3. `null` for `words`: its vocabulary is open and V is the number of distinct
   * tokens of corpus and eval sets, known only after reading them (see `Vocabulary`).
   */
  readonly vocabSize: number | null;
  /** Token strings, for `words` only (BPE pieces are byte strings, not words): else `null`. */
  tokenize(text: string): string[] | null;
  /**
   * Token ids. For `words` the ids come from the tokenizer's growing `Vocabulary`
   * (first-seen order; use `Vocabulary.sortedRemap()` before anything order-dependent).
   */
  encode(text: string): Uint32Array;
  /** Number of tokens, T_r. Equal to `encode(text).length`, without building the id array where the kind allows it. */
  count(text: string): number;
  /** Text of token ids (BPE kinds; `words` has its vocabulary instead): e.g. for the report's top tokens. */
  decode?(ids: ArrayLike<number>): string;
}

/** Names accepted by `createTokenizer` besides tokenizer.json objects/paths. */
export const TIKTOKEN_ENCODINGS = ['cl100k_base', 'o200k_base'] as const;
export type TiktokenEncodingName = (typeof TIKTOKEN_ENCODINGS)[number];

export function isTiktokenEncodingName(name: string): name is TiktokenEncodingName {
  return (TIKTOKEN_ENCODINGS as readonly string[]).includes(name);
}
