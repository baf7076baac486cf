/**
 * The mixture's key numbers as tables: weights per schedule stage (with the time average and
 * the optimized weights), per-source diagnostics (SPEC §4), eval losses, warnings, the
 * sampling plan and the most probable tokens of q.
 */
import { escapeHtml, formatNumber, formatPercent } from './format.js';
import { htmlTable, numeric, strong, type Cell } from './html-table.js';
import { readSchedule } from './plots-mixture.js';
import { asArray, asNumber, asRecord, asString, at, numberMap, type JsonRecord } from './read.js';
import { own } from '../dict.js';

function orderedKeys(sources: readonly string[], ...maps: Array<Record<string, number> | undefined>): string[] {
  const names = sources.filter((s) => maps.some((m) => m && Object.hasOwn(m, s)));
  for (const m of maps) for (const key of Object.keys(m ?? {})) if (!names.includes(key)) names.push(key);
  return names;
}

export function weightsTable(manifest: JsonRecord, sources: readonly string[]): string | null {
  const schedule = readSchedule(manifest);
  const average = numberMap(at(manifest, 'mixture', 'average_weights'));
  const optimized = numberMap(at(manifest, 'optimized', 'weights'));
  if (schedule.length === 0 && !average) return null;
  const names = orderedKeys(sources, average, optimized, ...schedule.map((s) => s.weights));
  const head = ['source', ...schedule.map((s) => `${s.name} (${formatPercent(s.fraction)} of B)`)];
  if (average) head.push('time average w̄');
  if (optimized) head.push(`optimized (${asString(at(manifest, 'optimized', 'objective')) ?? 'objective'})`);
  const rows = names.map((source): Cell[] => {
    const row: Cell[] = [source, ...schedule.map((s) => own(s.weights, source) ?? null)];
    if (average) row.push(own(average, source) ?? null);
    if (optimized) row.push(own(optimized, source) ?? null);
    return row;
  });
  const kind = asString(at(manifest, 'mixture', 'source'));
  const baseline = asString(at(manifest, 'mixture', 'baseline', 'kind'));
  return htmlTable('weights', `Mixture weights${kind ? ` (from ${kind}${baseline ? `: ${baseline}` : ''})` : ''}`, head, rows);
}

const DIAGNOSTIC_COLUMNS: Array<[key: string, head: string]> = [
  ['retained_docs', 'retained docs'],
  ['retained_tokens', 'retained tokens M'],
  ['sampled_tokens', 'sampled tokens'],
  ['repetition_pressure', 'ρ (epochs)'],
  ['unique_tokens_seen', 'unique tokens seen'],
  ['effective_tokens', 'effective tokens'],
  ['leak_tokens', 'leak tokens'],
];

export function diagnosticsTable(manifest: JsonRecord, sources: readonly string[]): string | null {
  const diagnostics = asRecord(manifest.diagnostics);
  if (!diagnostics) return null;
  const columns = DIAGNOSTIC_COLUMNS.map(([key, head]) => ({ head, values: numberMap(diagnostics[key]) })).filter((c) => c.values);
  const weights = numberMap(at(manifest, 'mixture', 'average_weights'));
  const names = orderedKeys(sources, weights, ...columns.map((c) => c.values));
  const rows = names.map((source): Cell[] => [source, own(weights ?? {}, source) ?? null, ...columns.map((c) => own(c.values ?? {}, source) ?? null)]);
  const summary: Cell[][] = [];
  const scalar = (label: string, value: number | undefined, text?: string) => {
    if (value !== undefined) summary.push([label, text === undefined ? value : numeric(text)]);
  };
  scalar('objective L = Σ λ_j L_j', asNumber(diagnostics.objective));
  scalar('contamination mass', asNumber(diagnostics.contamination_mass), formatPercent(asNumber(diagnostics.contamination_mass)));
  scalar('epoch cap ρ_max', asNumber(diagnostics.epoch_cap));
  scalar('optimized objective', asNumber(at(manifest, 'optimized', 'diagnostics', 'objective')));
  scalar('optimized contamination mass', asNumber(at(manifest, 'optimized', 'diagnostics', 'contamination_mass')), formatPercent(asNumber(at(manifest, 'optimized', 'diagnostics', 'contamination_mass'))));
  scalar('optimizer duality gap', asNumber(at(manifest, 'optimized', 'duality_gap')));
  const parts = [
    names.length ? htmlTable('diagnostics', 'Diagnostics per source (time-averaged mixture)', ['source', 'weight w̄', ...columns.map((c) => c.head)], rows) : '',
    summary.length ? htmlTable('objective', 'Objective and contamination', ['', 'value'], summary) : '',
  ];
  return parts.join('\n') || null;
}

export function lossesTable(manifest: JsonRecord): string | null {
  const losses = numberMap(at(manifest, 'diagnostics', 'losses'));
  if (!losses) return null;
  const lambda = numberMap(at(manifest, 'mixture', 'eval_weights'));
  const stages = (asArray(at(manifest, 'diagnostics', 'stages')) ?? []).map(asRecord);
  const stageLosses = stages.length > 1 ? stages.map((s, i) => ({ name: asString(s?.name) ?? `stage ${i + 1}`, losses: numberMap(s?.losses) })) : [];
  const optimized = numberMap(at(manifest, 'optimized', 'diagnostics', 'losses'));
  const head = ['eval set', 'λ', 'L (schedule)', ...stageLosses.map((s) => `L (${s.name} alone)`)];
  if (optimized) head.push('L (optimized)');
  const rows = Object.keys(losses).map((name): Cell[] => {
    const row: Cell[] = [name, own(lambda ?? {}, name) ?? null, losses[name], ...stageLosses.map((s) => own(s.losses ?? {}, name) ?? null)];
    if (optimized) row.push(own(optimized, name) ?? null);
    return row;
  });
  const objective = asNumber(at(manifest, 'diagnostics', 'objective'));
  if (objective !== undefined) {
    const row: Cell[] = [strong('objective'), null, objective, ...stages.slice(0, stageLosses.length).map((s) => asNumber(s?.objective) ?? null)];
    if (optimized) row.push(asNumber(at(manifest, 'optimized', 'diagnostics', 'objective')) ?? null);
    rows.push(row);
  }
  return htmlTable('losses', 'Eval losses L_j = −Σ p_j(v) log q(v), nats per token', head, rows);
}

export function warningsList(manifest: JsonRecord): string | null {
  const warnings = (asArray(at(manifest, 'diagnostics', 'warnings')) ?? []).map(asString).filter((w): w is string => w !== undefined);
  if (warnings.length === 0) return null;
  return `<ul class="warnings" data-testid="warnings">\n${warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('\n')}\n</ul>`;
}

export function samplingTable(manifest: JsonRecord): string | null {
  const plan = asRecord(manifest.sampling_plan);
  const perSource = (asArray(plan?.per_source) ?? []).map(asRecord).filter((p): p is JsonRecord => p !== undefined);
  if (!plan || perSource.length === 0) return null;
  const rows = perSource.map((p): Cell[] => [asString(p.source) ?? '?', asNumber(p.documents) ?? null, asNumber(p.tokens) ?? null, asNumber(p.epochs_started) ?? null]);
  rows.push([strong('all'), asNumber(plan.entries) ?? null, asNumber(plan.tokens) ?? null, null]);
  const shards = asArray(plan.shards)?.length;
  const caption = `Sampling plan: budget ${formatNumber(asNumber(plan.budget_tokens))} tokens${shards ? `, ${shards} ${asString(plan.format) ?? ''} shard(s)` : ''}`;
  return htmlTable('sampling', caption, ['source', 'documents', 'tokens', 'epochs started'], rows);
}

export function topTokensTable(manifest: JsonRecord): string | null {
  const top = (asArray(at(manifest, 'diagnostics', 'top_tokens')) ?? []).map(asRecord).filter((t): t is JsonRecord => t !== undefined);
  if (top.length === 0) return null;
  // `words` tokens are strings; BPE tokens are ids with their decoded text, quoted so that
  // leading spaces and newlines show.
  const ids = top.some((t) => asNumber(t.token) !== undefined);
  const rows = top.map((t, i): Cell[] => {
    const id = asNumber(t.token);
    const text = asString(t.text);
    const token = id === undefined ? (asString(t.token) ?? '?') : text === undefined ? '(not decoded)' : JSON.stringify(text);
    return ids ? [i + 1, token, id ?? null, numeric(formatPercent(asNumber(t.probability)))] : [i + 1, token, numeric(formatPercent(asNumber(t.probability)))];
  });
  return htmlTable('top-tokens', 'Most probable tokens of the mixture q', ids ? ['#', 'token', 'id', 'q(v)'] : ['#', 'token', 'q(v)'], rows);
}
