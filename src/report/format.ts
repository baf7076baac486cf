/**
 * Text for the report: HTML escaping and number formats. Formats are locale-free on
 * purpose (no `toLocaleString`): identical manifests must give byte-identical reports on
 * every machine.
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/**
 * JSON for an inline `<script type="application/json">` block: `<`, `>` and `&` become
 * `\u003c`/`\u003e`/`\u0026` (still valid JSON, and no `</script>` or `<!--` can close or
 * confuse the element), and U+2028/2029 are escaped for old parsers.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * Integers with thin-space thousands groups (`117 718`), as are other numbers from 1000 up
 * (rounded: `25 212`); smaller ones to 4 significant digits.
 */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if ((Number.isInteger(value) || Math.abs(value) >= 1000) && Math.abs(value) < 1e15) {
    const digits = Math.round(Math.abs(value)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
    return value < 0 ? `−${digits}` : digits;
  }
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e15 || abs < 1e-3)) return value.toExponential(3);
  return Number(value.toPrecision(4)).toString();
}

/** A rate in [0, 1] as a percentage with one decimal. */
export function formatPercent(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '–';
  return `${(100 * rate).toFixed(1)}%`;
}

/** `part / whole`, or null when the whole is 0 (an empty stage has no rate). */
export function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : part / whole;
}
