/**
 * Dense u32 ids for the open vocabulary of the `words` tokenizer (SPEC §3: for `words`,
 * V = the distinct tokens of corpus and eval sets together).
 *
 * Ids are handed out in first-seen order, which depends on the order documents were read
 * (sharding, resumption). Anything that ends up in an output must therefore go through
 * `sortedRemap()`, which renumbers tokens in code-point order: two runs that saw the same
 * token set in different orders get the same final ids.
 */
import { invariant } from '../errors.js';

export class Vocabulary {
  private readonly ids = new Map<string, number>();
  private readonly tokens: string[] = [];

  /** Builds a vocabulary whose ids follow the order of `tokens` (duplicates keep their first id). */
  static from(tokens: Iterable<string>): Vocabulary {
    const vocabulary = new Vocabulary();
    for (const token of tokens) vocabulary.intern(token);
    return vocabulary;
  }

  /** Number of distinct tokens seen so far. */
  get size(): number {
    return this.tokens.length;
  }

  /** Id of `token`, or `undefined` if it was never interned. */
  idOf(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** Id of `token`, assigning the next free id on first sight. */
  intern(token: string): number {
    let id = this.ids.get(token);
    if (id === undefined) {
      id = this.tokens.length;
      invariant(id <= 0xffffffff, 'vocabulary exceeds the u32 id space');
      this.ids.set(token, id);
      this.tokens.push(token);
    }
    return id;
  }

  /** Token of `id`, or `undefined` for an id never handed out. */
  tokenOf(id: number): string | undefined {
    return this.tokens[id];
  }

  /** All tokens, indexed by id. */
  tokenList(): readonly string[] {
    return this.tokens;
  }

  /**
   * `remap[oldId]` = rank of that token in code-point (= UTF-8 byte) lexicographic order.
   * Deterministic whatever order the tokens were first seen in.
   */
  sortedRemap(): Uint32Array {
    const order = Array.from(this.tokens.keys());
    order.sort((a, b) => compareCodePoints(this.tokens[a], this.tokens[b]));
    const remap = new Uint32Array(order.length);
    for (let rank = 0; rank < order.length; rank++) remap[order[rank]] = rank;
    return remap;
  }

  /** A new vocabulary with the same tokens, ids in code-point order (see `sortedRemap`). */
  sorted(): Vocabulary {
    return Vocabulary.from([...this.tokens].sort(compareCodePoints));
  }
}

/**
 * Compares strings by Unicode code point (the order of their UTF-8 bytes), not by UTF-16
 * code unit as `<` and `Array.prototype.sort` do: those put U+E000..U+FFFF after astral
 * characters. At the first differing code unit, surrogates are moved above U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrderKey(x) - codePointOrderKey(y);
  }
  return a.length - b.length;
}

function codePointOrderKey(unit: number): number {
  if (unit < 0xd800) return unit;
  if (unit < 0xe000) return unit + 0x2000; // surrogates: after every BMP code point
  return unit - 0x800; // U+E000..U+FFFF: just after U+D7FF
}
