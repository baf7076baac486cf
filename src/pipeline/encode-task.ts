/**
 * Tokenizing the retained documents for `mix`'s histograms (distributions.ts), one batch per
 * task so it runs on every worker: tokenizing is the histogram pass's cost (a BPE merge loop, or
 * `words` splitting), reading the kept records is not.
 *
 * A batch comes back as token ids plus each text's token count. For a BPE tokenizer the ids are
 * its own; for `words`, whose ids are ranks in the sorted vocabulary of the whole retained corpus
 * (known only at the end), they index the batch's own distinct tokens (`vocab`, in first-seen
 * order), which the caller merges. Either way the result depends only on the texts.
 */
import type { Task } from '../exec/executor.js';
import type { Tokenizer } from '../text/tokenizer.js';

export interface EncodeBatchTask extends Task {
  kind: 'encode-batch';
  /** The config's `tokenizer` and the directory it resolves against. */
  tokenizer: string;
  baseDir: string;
  texts: string[];
}

export interface EncodedBatch {
  /** `words`: the batch's distinct tokens, first seen first (`ids` index them); BPE: null. */
  vocab: string[] | null;
  ids: Uint32Array;
  /** Tokens of each text, in order. */
  lengths: Uint32Array;
}

/** Encodes `texts` with `tokenizer` (on any thread). */
export function encodeTexts(tokenizer: Tokenizer, texts: string[]): EncodedBatch {
  const lengths = new Uint32Array(texts.length);
  if (tokenizer.vocabSize !== null) {
    const parts = texts.map((text, i) => {
      const ids = tokenizer.encode(text);
      lengths[i] = ids.length;
      return ids;
    });
    const ids = new Uint32Array(lengths.reduce((a, b) => a + b, 0));
    let at = 0;
    for (const part of parts) {
      ids.set(part, at);
      at += part.length;
    }
    return { vocab: null, ids, lengths };
  }
  const local = new Map<string, number>();
  const vocab: string[] = [];
  const out: number[] = [];
  texts.forEach((text, i) => {
    const tokens = tokenizer.tokenize(text)!;
    lengths[i] = tokens.length;
    for (const token of tokens) {
      let id = local.get(token);
      if (id === undefined) {
        id = vocab.length;
        local.set(token, id);
        vocab.push(token);
      }
      out.push(id);
    }
  });
  return { vocab, ids: Uint32Array.from(out), lengths };
}
