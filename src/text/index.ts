/**
 * Text: tokenizers (SPEC §1 token counts), the `words` vocabulary (SPEC §3 V), and the
 * normalizations dedup hashes (SPEC §2). Browser-safe: reading a tokenizer.json by path is
 * in load-node.ts, exported from the Node entry only.
 */
export { type Tokenizer, type TokenizerKind, type TiktokenEncodingName, TIKTOKEN_ENCODINGS } from './tokenizer.js';
export { WordsTokenizer, wordTokens, countWords } from './words.js';
export { Vocabulary, compareCodePoints } from './vocabulary.js';
export { TiktokenTokenizer } from './tiktoken.js';
export { HuggingFaceTokenizer } from './huggingface.js';
export { createTokenizer, TOKENIZER_NAMES, type TokenizerSpec, type TokenizerJsonSource } from './load.js';
export { normalizeForShingles, normalizeForExactDedup, type ShingleNormalizeOptions } from './normalize.js';
export * from './hash.js';
