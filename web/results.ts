/**
 * What the page watches (seed 002, §04): eval losses; retained tokens and repetition pressure
 * per source; contamination mass and diversity; the funnel; the config that reproduces it all
 * with `tokenmix mix`. Figures scripts read carry data-testid and the exact value in data-value.
 */
import type { ExploreResult } from '../src/explore/index.js';
import { formatNumber, headerRow, numberCell, percent, textCell } from './format.js';
import { drawTopTokens } from './plot.js';

export interface ResultContext {
  backendLabel: string;
  rawConfig: Record<string, unknown>;
  /** Text of BPE token ids (the tokens of `words` are their own text). */
  decode?: (ids: number[]) => string;
}

export function renderResult(result: ExploreResult, ctx: ResultContext): void {
  renderLosses(result);
  renderLeakage(result);
  renderSources(result);
  renderFunnel(result);
  drawTopTokens(document.getElementById('plot')!, result.topTokens, ctx.decode);
  document.getElementById('config-json')!.textContent = `${JSON.stringify(ctx.rawConfig, null, 2)}\n`;
  const t = result.timings;
  const cached = t.curateMs === 0 && t.histogramMs === 0;
  document.getElementById('timings')!.textContent = cached
    ? `mixture evaluation ${t.evaluateMs.toFixed(2)} ms (curation and histograms cached) · ${ctx.backendLabel}`
    : `curation ${t.curateMs.toFixed(1)} ms · histograms ${t.histogramMs.toFixed(1)} ms · mixture evaluation ${t.evaluateMs.toFixed(2)} ms · ${ctx.backendLabel}`;
}

function renderLosses(result: ExploreResult): void {
  const e = result.evaluation;
  const table = document.getElementById('losses')!;
  const staged = e.stages.length > 1;
  table.replaceChildren(headerRow(['eval', 'loss L_j', ...(staged ? e.stages.map((s, i) => `${s.name ?? `stage ${i}`} (${percent(s.fraction)})`) : []), 'λ_j']));
  for (const name of Object.keys(e.losses)) {
    const tr = document.createElement('tr');
    tr.append(textCell(name), numberCell(e.losses[name], `loss-${name}`));
    if (staged) for (const stage of e.stages) tr.append(numberCell(stage.losses[name]));
    tr.append(numberCell(e.evalWeights[name]));
    table.append(tr);
  }
  const objective = document.createElement('tr');
  objective.className = 'total';
  objective.append(textCell('objective Σ λ_j L_j'), numberCell(e.objective, 'objective'));
  if (staged) for (const stage of e.stages) objective.append(numberCell(stage.objective));
  objective.append(textCell(''));
  table.append(objective);
}

function renderLeakage(result: ExploreResult): void {
  const table = document.getElementById('leakage')!;
  const row = (label: string, value: number, testId: string, hint: string) => {
    const tr = document.createElement('tr');
    tr.append(textCell(label), numberCell(value, testId), textCell(hint, 'hint'));
    return tr;
  };
  table.replaceChildren(
    row('contamination mass', result.evaluation.contaminationMass, 'contamination-mass', 'Σ w̄_i · leak_i / M_i'),
    row('distinct tokens retained', result.retained.distinctRetainedTokens, 'diversity', `of V = ${result.retained.vocabSize} (corpus + evals)`),
    row('effective vocabulary', result.effectiveVocabulary, 'effective-vocabulary', 'exp(entropy of q)'),
  );
}

function renderSources(result: ExploreResult): void {
  const e = result.evaluation;
  const cap = result.config.mixture.epoch_cap;
  const table = document.getElementById('sources')!;
  table.replaceChildren(headerRow(['source', 'w̄', 'docs kept', 'retained tokens M', 'repetition ρ', 'unique tokens seen', 'leak tokens']));
  for (const s of e.sources) {
    const tr = document.createElement('tr');
    if (!s.active) tr.className = 'dim';
    const rho = numberCell(s.repetition, `repetition-${s.name}`);
    if (s.repetition > cap) {
      rho.classList.add('warn');
      rho.title = `above the epoch cap ${cap}`;
    }
    tr.append(
      textCell(s.name, 'source'),
      numberCell(s.weight, `weight-avg-${s.name}`),
      numberCell(s.retainedDocs, `retained-docs-${s.name}`),
      numberCell(s.retainedTokens, `retained-tokens-${s.name}`),
      rho,
      numberCell(s.expectedUniqueTokens, `unique-seen-${s.name}`),
      numberCell(s.leakTokens, `leak-tokens-${s.name}`),
    );
    table.append(tr);
  }
  const warnings = e.warnings.map((w) => w.message);
  if (warnings.length > 0) {
    const tr = document.createElement('tr');
    const td = textCell(warnings.join(' · '), 'warn small');
    td.colSpan = 7;
    tr.append(td);
    table.append(tr);
  }
}

function renderFunnel(result: ExploreResult): void {
  const table = document.getElementById('funnel')!;
  table.replaceChildren(headerRow(['stage', 'docs in → out', 'doc acceptance', 'tokens in → out', 'token acceptance']));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  for (const stage of result.curation.stages) {
    const [di, dout, ti, tout] = [sum(stage.docsIn), sum(stage.docsOut), sum(stage.tokensIn), sum(stage.tokensOut)];
    if (stage.stage === 'quarantine' && di === dout) continue;
    const tr = document.createElement('tr');
    tr.dataset.testid = `funnel-${stage.stage}`;
    const evalLike = stage.counted.eval_like ? sum(stage.counted.eval_like) : 0;
    const label = stage.stage === 'quarantine' ? 'duplicate ids' : `${stage.stage.replace('_', ' ')}${evalLike > 0 ? ` (${formatNumber(evalLike)} eval-like)` : ''}`;
    tr.append(
      textCell(label),
      textCell(`${formatNumber(di)} → ${formatNumber(dout)}`, 'num'),
      textCell(di > 0 ? percent(dout / di) : '–', 'num'),
      textCell(`${formatNumber(ti)} → ${formatNumber(tout)}`, 'num'),
      textCell(ti > 0 ? percent(tout / ti) : '–', 'num'),
    );
    table.append(tr);
  }
  if (result.curation.near) {
    const n = result.curation.near;
    const tr = document.createElement('tr');
    const td = textCell(`near dedup: ${n.plan.bands} bands × ${n.plan.rows} rows, ${n.pairsVerified} candidate pairs verified, ${n.clusters} clusters`, 'hint');
    td.colSpan = 5;
    tr.append(td);
    table.append(tr);
  }
}
