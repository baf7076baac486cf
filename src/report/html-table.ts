/** A small HTML table builder: every cell's text is escaped here, once. */
import { escapeHtml, formatNumber } from './format.js';

/** Text cells are left-aligned; numbers are formatted and right-aligned; null prints "–". */
export type Cell = string | number | null | { text: string; numeric?: boolean; strong?: boolean };

function cell(tag: 'td' | 'th', value: Cell): string {
  if (value === null || typeof value === 'number') return `<${tag} class="num">${escapeHtml(formatNumber(value))}</${tag}>`;
  if (typeof value === 'string') return `<${tag}>${escapeHtml(value)}</${tag}>`;
  const text = value.strong ? `<strong>${escapeHtml(value.text)}</strong>` : escapeHtml(value.text);
  return `<${tag}${value.numeric ? ' class="num"' : ''}>${text}</${tag}>`;
}

/** A numeric-looking text cell (a percentage, a formatted float). */
export function numeric(text: string): Cell {
  return { text, numeric: true };
}

export function strong(text: string): Cell {
  return { text, strong: true };
}

/** `<table data-testid="table-<name>">` with a caption, one header row and body rows. */
export function htmlTable(name: string, caption: string, head: readonly string[], rows: ReadonlyArray<readonly Cell[]>): string {
  const header = `<tr>${head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = rows.map((row) => `<tr>${row.map((c, i) => cell(i === 0 ? 'th' : 'td', c)).join('')}</tr>`).join('\n');
  return `<div class="table-wrap"><table data-testid="table-${escapeHtml(name)}">\n<caption>${escapeHtml(caption)}</caption>\n<thead>${header}</thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`;
}
