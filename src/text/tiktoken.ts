/**
 * OpenAI tiktoken encodings (`cl100k_base`, `o200k_base`) from the ranks bundled in
 * js-tiktoken: no network, and each rank module (1–2 MB of JS) is imported only when that
 * encoding is requested.
 */
import type { TiktokenEncodingName, Tokenizer } from './tokenizer.js';
import { TiktokenBpe, type TiktokenRankData } from './tiktoken-bpe.js';

export class TiktokenTokenizer implements Tokenizer {
  readonly kind = 'tiktoken' as const;
  readonly vocabSize: number;
  private readonly bpe: TiktokenBpe;

  constructor(
    readonly name: string,
    ranks: TiktokenRankData,
  ) {
    this.bpe = new TiktokenBpe(ranks);
    this.vocabSize = this.bpe.vocabSize;
  }

  tokenize(): null {
    return null;
  }

  /** Ids as tiktoken's `encode_ordinary`: "<|endoftext|>" in user text is ordinary text. */
  encode(text: string): Uint32Array {
    return this.bpe.encode(text);
  }

  count(text: string): number {
    return this.bpe.count(text);
  }

  decode(ids: ArrayLike<number>): string {
    return this.bpe.decode(ids);
  }
}

/** Loads the bundled ranks of `name` (one literal import per encoding, so bundlers can split them). */
export async function loadTiktokenRanks(name: TiktokenEncodingName): Promise<TiktokenRankData> {
  switch (name) {
    case 'cl100k_base':
      return (await import('js-tiktoken/ranks/cl100k_base')).default;
    case 'o200k_base':
      return (await import('js-tiktoken/ranks/o200k_base')).default;
  }
}

export async function loadTiktoken(name: TiktokenEncodingName): Promise<TiktokenTokenizer> {
  return new TiktokenTokenizer(name, await loadTiktokenRanks(name));
}
