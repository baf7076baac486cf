/**
 * One number format for everything the CLI prints on stdout: integers in full, other values
 * to 6 significant digits, never in exponent notation (a table never shows `2.190e+5` beside
 * `54194.5`).
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return x.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 0 });
  return x.toLocaleString('en-US', { useGrouping: false, maximumSignificantDigits: 6 });
}

/** `1 source`, `3 sources`. */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}
