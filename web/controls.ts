/**
 * The controls: per-source weights, quality thresholds and late-stage weights; the tokenizer;
 * dedup (exact, near with its Jaccard threshold); contamination (off, keep or drop, and its
 * n-gram length); the late anneal's share; the token budget. Each control edits the `ExploreSettings` object in place and calls `changed()`; the
 * page turns the settings into a run config and re-runs (main.ts).
 */
import type { ExploreSettings } from '../src/explore/index.js';
import { TOKENIZER_NAMES } from '../src/text/load.js';

export interface ControlContext {
  sources: string[];
  /** Score range of the quality field (thresholds slide across it), or null without one. */
  scoreRange: { min: number; max: number } | null;
  changed: () => void;
  /** Re-tokenize the corpus (the page rebuilds the session). */
  setTokenizer: (name: string) => void;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  Object.assign(el, props);
  el.append(...children);
  return el;
}

interface SliderSpec {
  testId: string;
  label: string;
  min: number;
  max: number;
  step: number;
  value: number;
  /** Text shown beside the slider for a value (default: the value). */
  show?: (value: number) => string;
  onInput: (value: number) => void;
}

function slider(spec: SliderSpec): HTMLElement {
  const input = element('input', { type: 'range', min: String(spec.min), max: String(spec.max), step: String(spec.step), value: String(spec.value) });
  input.dataset.testid = spec.testId;
  input.setAttribute('aria-label', spec.label);
  const show = spec.show ?? ((v: number) => String(v));
  const output = element('output', { textContent: show(spec.value) });
  input.addEventListener('input', () => {
    const value = Number(input.value);
    output.textContent = show(value);
    spec.onInput(value);
  });
  return element('span', { className: 'slider' }, input, output);
}

function checkbox(testId: string, label: string, checked: boolean, onChange: (checked: boolean) => void): HTMLElement {
  const input = element('input', { type: 'checkbox', checked });
  input.dataset.testid = testId;
  input.addEventListener('change', () => onChange(input.checked));
  return element('label', { className: 'check' }, input, ` ${label}`);
}

/** A step giving about 100 positions over [min, max], rounded to a power of ten. */
function niceStep(min: number, max: number): number {
  const raw = (max - min) / 100;
  return raw > 0 ? 10 ** Math.floor(Math.log10(raw)) : 0.01;
}

export function renderControls(settings: ExploreSettings, ctx: ControlContext): void {
  renderSources(settings, ctx);
  renderCuration(settings, ctx);
  renderSchedule(settings, ctx);
}

function renderSources(settings: ExploreSettings, ctx: ControlContext): void {
  const panel = document.getElementById('source-controls')!;
  const annealOn = settings.anneal.fraction > 0;
  const table = element('table', { className: 'controls' });
  table.append(
    element('tr', {}, element('th', { textContent: 'source' }), element('th', { textContent: 'weight' }), element('th', { textContent: 'quality ≥' }), element('th', { textContent: 'late weight', className: annealOn ? '' : 'dim' })),
  );
  const range = ctx.scoreRange;
  const step = range ? niceStep(range.min, range.max) : 0.01;
  for (const source of ctx.sources) {
    const weight = slider({
      testId: `weight-${source}`, label: `${source} weight`, min: 0, max: 1, step: 0.01, value: settings.weights[source] ?? 0,
      onInput: (v) => { settings.weights[source] = v; ctx.changed(); },
    });
    const threshold = range
      ? slider({
          testId: `threshold-${source}`, label: `${source} quality threshold`, min: range.min, max: range.max, step,
          value: settings.thresholds[source] ?? range.min,
          show: (v) => (v <= range.min ? 'off' : String(v)),
          onInput: (v) => { settings.thresholds[source] = v <= range.min ? null : v; ctx.changed(); },
        })
      : element('span', { className: 'dim', textContent: 'no quality field' });
    const late = slider({
      testId: `late-weight-${source}`, label: `${source} late-stage weight`, min: 0, max: 1, step: 0.01, value: settings.anneal.weights[source] ?? 0,
      onInput: (v) => { settings.anneal.weights[source] = v; ctx.changed(); },
    });
    late.classList.toggle('dim', !annealOn);
    table.append(element('tr', {}, element('td', { className: 'source', textContent: source }), element('td', {}, weight), element('td', {}, threshold), element('td', {}, late)));
  }
  panel.replaceChildren(
    element('h2', {}, 'Sources ', element('span', { className: 'hint', textContent: 'weights are renormalized over sources with retained tokens' })),
    table,
  );
}

function renderCuration(settings: ExploreSettings, ctx: ControlContext): void {
  const panel = document.getElementById('curation-controls')!;
  const near = slider({
    testId: 'near-threshold', label: 'near-dedup Jaccard threshold', min: 0.5, max: 1, step: 0.01, value: settings.near.threshold,
    onInput: (v) => { settings.near.threshold = v; ctx.changed(); },
  });
  const tokenizer = element('select');
  tokenizer.dataset.testid = 'tokenizer';
  for (const name of TOKENIZER_NAMES) tokenizer.append(element('option', { value: name, textContent: name }));
  tokenizer.value = settings.tokenizer ?? 'words';
  tokenizer.addEventListener('change', () => ctx.setTokenizer(tokenizer.value));

  const contamination = element('select');
  contamination.dataset.testid = 'contamination-action';
  contamination.append(
    element('option', { value: 'off', textContent: 'not checked' }),
    element('option', { value: 'keep', textContent: 'keep and count' }),
    element('option', { value: 'drop', textContent: 'drop' }),
  );
  contamination.value = settings.contamination?.action ?? 'off';
  const ngram = element('input', { type: 'number', min: '1', max: '64', step: '1', value: String(settings.contamination?.ngram ?? 8) });
  ngram.dataset.testid = 'contamination-ngram';
  ngram.setAttribute('aria-label', 'contamination n-gram length (words)');
  ngram.disabled = settings.contamination === null;
  const apply = () => {
    const n = Number(ngram.value);
    const ok = Number.isInteger(n) && n >= 1 && n <= 64;
    ngram.classList.toggle('invalid', !ok);
    if (!ok) return;
    const action = contamination.value;
    settings.contamination = action === 'off' ? null : { ngram: n, min_overlap: settings.contamination?.min_overlap ?? 1, action: action as 'keep' | 'drop' };
    ngram.disabled = settings.contamination === null;
    ctx.changed();
  };
  contamination.addEventListener('change', apply);
  ngram.addEventListener('input', apply);
  panel.replaceChildren(
    element('h2', { textContent: 'Curation' }),
    element('div', { className: 'row' }, checkbox('exact-dedup', 'exact dedup (normalized text, keep first)', settings.exactDedup, (on) => { settings.exactDedup = on; ctx.changed(); })),
    element('div', { className: 'row' },
      checkbox('near-dedup', `near dedup (MinHash ${settings.near.ngram}-word shingles, LSH), Jaccard ≥`, settings.near.enabled, (on) => { settings.near.enabled = on; ctx.changed(); }),
      near),
    element('div', { className: 'row' }, element('label', {}, 'tokenizer ', tokenizer)),
    element('div', { className: 'row' }, element('span', { textContent: 'eval-like documents: ' }), contamination),
    element('div', { className: 'row' }, element('label', {}, 'sharing a word n-gram with the eval sets, n = ', ngram)),
  );
}

function renderSchedule(settings: ExploreSettings, ctx: ControlContext): void {
  const panel = document.getElementById('schedule-controls')!;
  const fraction = slider({
    testId: 'anneal-fraction', label: 'late-stage share of the budget', min: 0, max: 0.5, step: 0.05, value: settings.anneal.fraction,
    show: (v) => (v === 0 ? 'off' : `${Math.round(v * 100)}% of the budget`),
    onInput: (v) => {
      const wasOn = settings.anneal.fraction > 0;
      settings.anneal.fraction = v;
      if (wasOn !== v > 0) renderSources(settings, ctx);
      ctx.changed();
    },
  });
  const budget = element('input', { type: 'number', min: '1', step: 'any', value: String(settings.budgetTokens) });
  budget.dataset.testid = 'budget';
  budget.addEventListener('input', () => {
    const value = Number(budget.value);
    const ok = Number.isFinite(value) && value > 0;
    budget.classList.toggle('invalid', !ok);
    if (!ok) return;
    settings.budgetTokens = value;
    ctx.changed();
  });
  panel.replaceChildren(
    element('h2', { textContent: 'Schedule' }),
    element('div', { className: 'row' }, element('span', { textContent: 'late anneal: ' }), fraction),
    element('div', { className: 'row' }, element('label', {}, 'token budget B ', budget)),
  );
}
