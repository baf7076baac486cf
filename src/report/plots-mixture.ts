/**
 * Plots of the mixture and its diagnostics (SPEC §3–§4): weights per schedule stage, eval
 * losses, repetition pressure against the epoch cap, and contamination mass by source.
 */
import { formatNumber, formatPercent } from './format.js';
import { barPerCategory, categoryPositions, groupedPositions, MARKER_COLOR, MUTED_COLOR, SERIES_PALETTE, sourceColor, stackLayers, type MarkerSpec, type PlotSpec } from './plot-spec.js';
import { asArray, asNumber, asRecord, asString, at, numberMap, type JsonRecord } from './read.js';
import { own } from '../dict.js';

export interface ScheduleStage {
  name: string;
  fraction: number;
  weights: Record<string, number>;
}

/** The schedule (SPEC §3), or the average weights as one stage when there is no schedule. */
export function readSchedule(manifest: JsonRecord): ScheduleStage[] {
  const stages: ScheduleStage[] = [];
  for (const [index, raw] of (asArray(at(manifest, 'mixture', 'schedule')) ?? []).entries()) {
    const fraction = asNumber(asRecord(raw)?.fraction);
    const weights = numberMap(asRecord(raw)?.weights);
    if (fraction === undefined || !weights) continue;
    stages.push({ name: asString(asRecord(raw)?.name) ?? `stage ${index + 1}`, fraction, weights });
  }
  if (stages.length > 0) return stages;
  const average = numberMap(at(manifest, 'mixture', 'average_weights'));
  return average ? [{ name: 'all', fraction: 1, weights: average }] : [];
}

/** Sources in manifest order, then any others the given maps name. */
function sourcesOf(sources: readonly string[], ...maps: Array<Record<string, number> | undefined>): string[] {
  const names = sources.filter((s) => maps.some((m) => m && Object.hasOwn(m, s)));
  for (const m of maps) for (const key of Object.keys(m ?? {})) if (!names.includes(key)) names.push(key);
  return names;
}

/** Weights against the fraction of the budget consumed: one step per schedule stage. */
export function weightsPlot(manifest: JsonRecord, sources: readonly string[]): PlotSpec | null {
  const schedule = readSchedule(manifest);
  if (schedule.length === 0) return null;
  const boundaries = [0];
  for (const stage of schedule) boundaries.push(boundaries[boundaries.length - 1] + stage.fraction);
  const names = sourcesOf(sources, ...schedule.map((s) => s.weights));
  // A stepped path holds each value until the next x; the last point closes the final stage.
  const layers = names.map((source) => ({
    label: source,
    values: boundaries.map((_, k) => own(schedule[Math.min(k, schedule.length - 1)].weights, source) ?? 0),
    color: sourceColor(sources, source),
  }));
  const series = stackLayers(layers, 'stepped');
  const markers: MarkerSpec[] = schedule.slice(1).map((stage, i) => ({ axis: 'x', value: boundaries[i + 1], label: stage.name, color: MUTED_COLOR }));
  return {
    name: 'weights',
    title: `Mixture weights per schedule stage (${schedule.length} stage${schedule.length === 1 ? '' : 's'})`,
    caption: 'Weight of each source (stacked; bands sum to 1) over the training budget; vertical lines mark where a schedule stage starts.',
    x: { label: 'fraction of the token budget', values: boundaries, format: 'percent' },
    y: { label: 'weight (stacked)', format: 'number', zero: true },
    series,
    markers,
  };
}

/** Eval losses L_j (SPEC §4) of the scheduled mixture, of each stage, and of the optimized weights. */
export function lossesPlot(manifest: JsonRecord): PlotSpec | null {
  const losses = numberMap(at(manifest, 'diagnostics', 'losses'));
  if (!losses) return null;
  const evals = Object.keys(losses);
  const rows: Array<{ label: string; losses: Record<string, number> }> = [{ label: 'schedule (time-averaged q)', losses }];
  const stageList = (asArray(at(manifest, 'diagnostics', 'stages')) ?? []).map(asRecord);
  if (stageList.length > 1) {
    for (const [index, stage] of stageList.entries()) {
      const stageLosses = numberMap(stage?.losses);
      if (stageLosses) rows.push({ label: `stage ${asString(stage?.name) ?? index + 1} alone`, losses: stageLosses });
    }
  }
  const optimized = numberMap(at(manifest, 'optimized', 'diagnostics', 'losses'));
  if (optimized) rows.push({ label: 'optimized weights', losses: optimized });
  const objective = asNumber(at(manifest, 'diagnostics', 'objective'));
  const grid = groupedPositions(evals.length, rows.length);
  return {
    name: 'losses',
    title: `Eval losses${objective === undefined ? '' : ` (objective ${formatNumber(objective)})`}`,
    caption: 'Cross-entropy of each eval set under the mixture’s unigram distribution q, in nats per token; lower is better, read with contamination.',
    x: { label: 'eval set', values: grid.x, format: 'number', categories: evals },
    y: { label: 'loss (nats/token)', format: 'number' },
    series: rows.map((row, group) => {
      const values: Array<number | null> = grid.x.map(() => null);
      evals.forEach((name, category) => (values[grid.slot(category, group)] = own(row.losses, name) ?? null));
      return { label: row.label, values, style: 'points' as const, color: SERIES_PALETTE[group % SERIES_PALETTE.length] };
    }),
    markers: [],
  };
}

/** Repetition pressure rho_i = B·wbar_i/M_i (SPEC §4) per source, with the epoch cap. */
export function repetitionPlot(manifest: JsonRecord, sources: readonly string[]): PlotSpec | null {
  const rho = numberMap(at(manifest, 'diagnostics', 'repetition_pressure'));
  if (!rho) return null;
  const names = sourcesOf(sources, rho);
  const series = barPerCategory(names, names.map((s) => own(rho, s) ?? null), (s) => sourceColor(sources, s));
  const optimized = numberMap(at(manifest, 'optimized', 'diagnostics', 'repetition_pressure'));
  if (optimized) series.push({ label: 'optimized weights', values: names.map((s) => own(optimized, s) ?? null), style: 'points', color: SERIES_PALETTE[0] });
  const cap = asNumber(at(manifest, 'diagnostics', 'epoch_cap'));
  const markers: MarkerSpec[] = [{ axis: 'y', value: 1, label: '1 epoch', color: MUTED_COLOR }];
  if (cap !== undefined) markers.push({ axis: 'y', value: cap, label: `epoch cap ${formatNumber(cap)}`, color: MARKER_COLOR });
  const over = names.filter((s) => cap !== undefined && (own(rho, s) ?? 0) > cap);
  return {
    name: 'repetition',
    title: `Repetition pressure ρ (expected epochs)${over.length ? ` — ${over.length} source${over.length === 1 ? '' : 's'} over the cap` : ''}`,
    caption: 'Expected epochs over each source’s retained tokens for the budget, ρ = B·w/M; above 1 is upsampling.',
    x: { label: 'source', values: categoryPositions(names.length), format: 'number', categories: names },
    y: { label: 'epochs', format: 'number', zero: true },
    series,
    markers,
  };
}

/** Per-source terms wbar_i · leakTokens_i / M_i of the contamination mass (SPEC §4). */
function contaminationTerms(diagnostics: unknown, weights: Record<string, number> | undefined, names: readonly string[]): Array<number | null> | undefined {
  const leak = numberMap(at(diagnostics, 'leak_tokens'));
  const retained = numberMap(at(diagnostics, 'retained_tokens'));
  if (!leak || !retained || !weights) return undefined;
  return names.map((s) => (retained[s] ? ((own(weights, s) ?? 0) * (own(leak, s) ?? 0)) / retained[s] : null));
}

/**
 * Contamination mass split by source when the manifest has mixture diagnostics; for a
 * curate-only manifest, the share of each source's retained tokens flagged as eval-like.
 */
export function contaminationPlot(manifest: JsonRecord, sources: readonly string[], retainedTokens: Record<string, number>): PlotSpec | null {
  // Dropped documents leave no retained leak to plot (the mass is 0 by construction): show
  // what was flagged and removed instead.
  if (asString(at(manifest, 'contamination', 'action')) === 'drop') return droppedContaminationPlot(manifest, sources);
  const diagnostics = asRecord(manifest.diagnostics);
  const mass = asNumber(diagnostics?.contamination_mass);
  if (diagnostics && mass !== undefined) {
    const names = sourcesOf(sources, numberMap(diagnostics.leak_tokens), numberMap(diagnostics.retained_tokens));
    const terms = contaminationTerms(diagnostics, numberMap(at(manifest, 'mixture', 'average_weights')), names);
    const categories = terms ? names : ['all sources'];
    const series = barPerCategory(categories, terms ?? [mass], (s) => sourceColor(sources, s));
    const optimizedMass = asNumber(at(manifest, 'optimized', 'diagnostics', 'contamination_mass'));
    const optimizedTerms = contaminationTerms(at(manifest, 'optimized', 'diagnostics'), numberMap(at(manifest, 'optimized', 'weights')), names);
    if (terms && optimizedTerms) series.push({ label: 'optimized weights', values: optimizedTerms, style: 'points', color: SERIES_PALETTE[0] });
    return {
      name: 'contamination',
      title: `Contamination mass ${formatPercent(mass)}${optimizedMass === undefined ? '' : ` (optimized weights: ${formatPercent(optimizedMass)})`}`,
      caption: 'Share of the training mixture’s tokens in documents flagged as eval-like, by source: w·leak/M; the bars sum to the mass.',
      x: { label: 'source', values: categoryPositions(categories.length), format: 'number', categories },
      y: { label: 'share of mixture tokens', format: 'percent', zero: true },
      series,
      markers: [],
    };
  }
  const retainedFlagged = asRecord(at(manifest, 'contamination', 'retained'));
  if (!retainedFlagged) return null;
  const names = sources.filter((s) => retainedFlagged[s] !== undefined && retainedTokens[s] !== undefined);
  if (names.length === 0) return null;
  const shares = names.map((s) => (retainedTokens[s] ? (asNumber(at(retainedFlagged, s, 'tokens')) ?? 0) / retainedTokens[s] : null));
  return {
    name: 'contamination',
    title: 'Contamination: retained tokens flagged as eval-like',
    caption: 'Share of each source’s retained tokens in documents that share long n-grams with the eval sets.',
    x: { label: 'source', values: categoryPositions(names.length), format: 'number', categories: names },
    y: { label: 'share of retained tokens', format: 'percent', zero: true },
    series: barPerCategory(names, shares, (s) => sourceColor(sources, s)),
    markers: [],
  };
}

/** With `contamination.action: drop`: what the contamination stage removed, per source. */
function droppedContaminationPlot(manifest: JsonRecord, sources: readonly string[]): PlotSpec | null {
  const stage = (asArray(manifest.stages) ?? []).map(asRecord).find((s) => asString(s?.name) === 'contamination');
  const perSource = asRecord(stage?.per_source);
  if (!perSource) return null;
  const names = sourcesOf(sources, perSource as Record<string, number>);
  if (names.length === 0) return null;
  const count = (source: string, key: string) => asNumber(at(perSource, source, key)) ?? 0;
  const dropped = (source: string, unit: 'docs' | 'tokens') => count(source, `${unit}_in`) - count(source, `${unit}_out`);
  const shares = names.map((s) => (count(s, 'tokens_in') ? dropped(s, 'tokens') / count(s, 'tokens_in') : null));
  const docs = names.reduce((sum, s) => sum + dropped(s, 'docs'), 0);
  const mass = asNumber(at(manifest, 'diagnostics', 'contamination_mass'));
  return {
    name: 'contamination',
    title: `Contamination: ${formatNumber(docs)} document${docs === 1 ? '' : 's'} flagged as eval-like and dropped${mass === undefined ? '' : ` (mixture contamination mass ${formatPercent(mass)})`}`,
    caption: 'Share of each source’s tokens entering the contamination stage that were in documents sharing long n-grams with the eval sets, and were dropped (action: drop).',
    x: { label: 'source (documents dropped)', values: categoryPositions(names.length), format: 'number', categories: names.map((s) => `${s} (${formatNumber(dropped(s, 'docs'))})`) },
    y: { label: 'share of tokens dropped', format: 'percent', zero: true },
    series: barPerCategory(names, shares, (s) => sourceColor(sources, s)),
    markers: [],
  };
}
