/**
 * Numbers on the page: the text is the number itself (6 significant digits, so scripts can
 * parse it) and `data-value` holds the full double, for exact comparison with the manifest.
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  return String(Number(x.toPrecision(6)));
}

/** Put `x` into `el`: readable text, exact `data-value`. */
export function showNumber(el: HTMLElement, x: number): void {
  el.textContent = formatNumber(x);
  el.dataset.value = String(x);
}

/** A table cell showing a number, with a stable test id when given. */
export function numberCell(x: number, testId?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.className = 'num';
  if (testId) td.dataset.testid = testId;
  showNumber(td, x);
  return td;
}

export function textCell(text: string, className?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

export function headerRow(labels: string[]): HTMLTableRowElement {
  const tr = document.createElement('tr');
  for (const label of labels) {
    const th = document.createElement('th');
    th.textContent = label;
    tr.append(th);
  }
  return tr;
}

export const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
