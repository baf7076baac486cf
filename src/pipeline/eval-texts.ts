/**
 * The texts of one eval file (browser-safe; the CLI's evals.ts and the explorer share it): a
 * `.jsonl` file holds one example per line in its `text` field; any other file is one text.
 */
import { TokenmixError } from '../errors.js';

export function evalTextsOf(path: string, text: string, name: string): string[] {
  const texts: string[] = [];
  if (/\.jsonl$/i.test(path)) {
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new TokenmixError(`${path}:${i + 1}: eval line is not valid JSON`);
      }
      const t = (value as { text?: unknown })?.text;
      if (typeof t !== 'string') throw new TokenmixError(`${path}:${i + 1}: field "text" is missing or not a string`);
      texts.push(t);
    });
  } else {
    texts.push(text);
  }
  if (texts.every((t) => t.trim() === '')) throw new TokenmixError(`${path}: eval set "${name}" has no text`);
  return texts;
}
