/**
 * Memoized per-code-point classification for the hand-written text scanners (words
 * tokenizer, shingle normalizer). Testing `\p{...}` regexes per character is slow, and a
 * `replace` with such a regex runs at ~10 MB/s; a table lookup per UTF-16 unit is several
 * times faster. The memo is a pure function of the runtime's Unicode data, so sharing one
 * table per classification is safe.
 */
export class CharClassTable {
  /** Class + 1 of each BMP unit; 0 = not classified yet (filled lazily, 64 KiB). */
  private bmp: Uint8Array | null = null;
  private readonly astral = new Map<number, number>();

  /**
   * @param classify class (0..254) of one code point, given as a string
   * @param loneSurrogateClass class of an unpaired surrogate
   */
  constructor(
    private readonly classify: (char: string) => number,
    private readonly loneSurrogateClass: number,
  ) {}

  /** The BMP table, for hot loops: entry = class + 1, or 0 → call `bmpClass`. */
  table(): Uint8Array {
    if (this.bmp === null) this.bmp = new Uint8Array(0x10000);
    return this.bmp;
  }

  /** Class of a BMP unit that is not a paired surrogate; fills the table. */
  bmpClass(unit: number): number {
    const table = this.table();
    const known = table[unit];
    if (known !== 0) return known - 1;
    const cls = unit >= 0xd800 && unit <= 0xdfff ? this.loneSurrogateClass : this.classify(String.fromCharCode(unit));
    table[unit] = cls + 1;
    return cls;
  }

  /** Class of a supplementary-plane code point. */
  astralClass(codePoint: number): number {
    let cls = this.astral.get(codePoint);
    if (cls === undefined) {
      cls = this.classify(String.fromCodePoint(codePoint));
      this.astral.set(codePoint, cls);
    }
    return cls;
  }

  /**
   * Class of the code point at `text[i]` packed with its width: `class * 2 + (width - 1)`
   * (width 2 for a surrogate pair). Slow path of the scanners' loops.
   */
  classAt(text: string, i: number): number {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        return this.astralClass(((unit - 0xd800) << 10) + (low - 0xdc00) + 0x10000) * 2 + 1;
      }
    }
    return this.bmpClass(unit) * 2;
  }
}
