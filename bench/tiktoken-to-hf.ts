/**
 * Builds a Hugging Face `tokenizer.json` (a ByteLevel BPE) from tiktoken ranks, offline, so
 * `bench:tokenizers` can run Hugging Face's tokenizer package on cl100k_base / o200k_base
 * without downloading one:
 *
 *  - vocab: each rank's bytes spelled with GPT-2's byte-to-unicode map, id = rank;
 *  - merges: tiktoken has none, only ranks. A token of rank r arises from the two parts that
 *    BPE leaves when only tokens ranked below r may merge; that pair is its merge, and merges
 *    are listed in rank order, so merge priority follows rank as tiktoken's loop does (the
 *    first form of Hugging Face's tiktoken conversion; transformers' TikTokenConverter now
 *    lists every split of a token into two tokens instead, a superset of these merges);
 *  - pre-tokenizer: Split with tiktoken's pattern (matches kept as pieces), then ByteLevel
 *    without its own regex; `ignore_merges` makes a piece that is a whole token one id,
 *    as tiktoken does. No normalizer, no post-processor.
 *
 * One merge per token is exact only if tiktoken never forms a token from a different pair; that
 * is checked against the WASM tiktoken (test/text/tiktoken-to-hf.test.ts, bench:tokenizers
 * on the whole licenses-npm corpus), not proven. Special tokens are left out: the reference
 * is tiktoken's `encode_ordinary`, which reads "<|endoftext|>" in text as plain text.
 */
import type { TiktokenRankData } from '../src/text/tiktoken-bpe.js';

/** GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves, the rest from U+0100 on. */
const BYTE_SYMBOLS: readonly string[] = (() => {
  const symbols: string[] = [];
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    symbols.push(String.fromCharCode(printable ? byte : 256 + shifted++));
  }
  return symbols;
})();

/** A binary string (one char per byte) in byte-level symbols. */
function byteLevel(bytes: string): string {
  let spelled = '';
  for (let i = 0; i < bytes.length; i++) spelled += BYTE_SYMBOLS[bytes.charCodeAt(i)];
  return spelled;
}

/** The tokens of `data` as binary strings, indexed by rank (the layout `TiktokenBpe` also reads). */
function tokensByRank(data: TiktokenRankData): string[] {
  const tokens: string[] = [];
  for (const line of data.bpe_ranks.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const firstRank = Number.parseInt(fields[1], 10);
    for (let i = 2; i < fields.length; i++) tokens[firstRank + i - 2] = atob(fields[i]);
  }
  return tokens;
}

/**
 * tiktoken's merge loop (lowest rank first, leftmost on ties) on `bytes`, merging only into
 * tokens ranked below `maxRank`. Returns the parts left.
 */
function mergeBelow(bytes: string, ranks: ReadonlyMap<string, number>, maxRank: number): string[] {
  const parts = Array.from(bytes);
  for (;;) {
    let best = -1;
    let bestRank = maxRank;
    for (let k = 0; k + 1 < parts.length; k++) {
      const rank = ranks.get(parts[k] + parts[k + 1]);
      if (rank !== undefined && rank < bestRank) {
        best = k;
        bestRank = rank;
      }
    }
    if (best < 0) return parts;
    parts.splice(best, 2, parts[best] + parts[best + 1]);
  }
}

/** The tokenizer.json object (pass it to `huggingFaceTokenizer` or JSON.stringify it). */
export function tiktokenToHuggingFaceJson(data: TiktokenRankData): Record<string, unknown> {
  const tokens = tokensByRank(data);
  const ranks = new Map<string, number>();
  tokens.forEach((token, rank) => ranks.set(token, rank));
  const vocab: Record<string, number> = {};
  const merges: [string, string][] = [];
  tokens.forEach((token, rank) => {
    vocab[byteLevel(token)] = rank;
    if (token.length === 1) return;
    const parts = mergeBelow(token, ranks, rank);
    if (parts.length !== 2) throw new Error(`tiktoken rank ${rank} is not one merge of lower-ranked tokens (${parts.length} parts)`);
    merges.push([byteLevel(parts[0]), byteLevel(parts[1])]);
  });
  return {
    version: '1.0',
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: data.pat_str }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: true,
      vocab,
      merges,
    },
  };
}
