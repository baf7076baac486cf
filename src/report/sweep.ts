/**
 * The candidate sweep of `tokenmix mix` (SPEC §5): its Pareto front of (objective ↓, maximum
 * repetition ↓, contamination mass ↓) and the best candidate within the epoch cap, plotted
 * objective against maximum repetition beside the configured and optimized mixtures, and
 * listed in a table.
 */
import { formatNumber, formatPercent } from './format.js';
import { htmlTable, numeric, strong, type Cell } from './html-table.js';
import { MARKER_COLOR, SERIES_PALETTE, type PlotSpec, type SeriesSpec } from './plot-spec.js';
import { asArray, asNumber, asRecord, at, numberMap, type JsonRecord } from './read.js';

interface Candidate {
  index: number;
  weights: Record<string, number>;
  objective: number;
  maxRepetition: number;
  contaminationMass: number;
}

function candidate(value: unknown): Candidate | undefined {
  const record = asRecord(value);
  const index = asNumber(record?.index);
  const objective = asNumber(record?.objective);
  const maxRepetition = asNumber(record?.max_repetition);
  if (index === undefined || objective === undefined || maxRepetition === undefined) return undefined;
  return { index, weights: numberMap(record?.weights) ?? {}, objective, maxRepetition, contaminationMass: asNumber(record?.contamination_mass) ?? 0 };
}

function readSweep(manifest: JsonRecord): { candidates: number; best: Candidate | undefined; front: Candidate[] } | undefined {
  const sweep = asRecord(manifest.sweep);
  if (!sweep) return undefined;
  const front = (asArray(sweep.pareto) ?? []).map(candidate).filter((c): c is Candidate => c !== undefined);
  front.sort((a, b) => a.objective - b.objective || a.index - b.index);
  return { candidates: asNumber(sweep.candidates) ?? 0, best: candidate(sweep.best), front };
}

/** The configured (time-averaged) or optimized mixture as a point: its objective and largest ρ. */
function mixturePoint(diagnostics: unknown): { objective: number; maxRepetition: number } | undefined {
  const objective = asNumber(at(diagnostics, 'objective'));
  const rho = numberMap(at(diagnostics, 'repetition_pressure'));
  if (objective === undefined || !rho) return undefined;
  return { objective, maxRepetition: Math.max(...Object.values(rho)) };
}

export function sweepPlot(manifest: JsonRecord): PlotSpec | null {
  const sweep = readSweep(manifest);
  if (!sweep || sweep.front.length === 0) return null;
  const groups: Array<{ label: string; points: Array<{ objective: number; maxRepetition: number }>; color: string }> = [
    { label: `Pareto front (${sweep.front.length} of ${sweep.candidates} candidates)`, points: sweep.front, color: SERIES_PALETTE[2] },
  ];
  if (sweep.best) groups.push({ label: `best within the epoch cap (#${sweep.best.index})`, points: [sweep.best], color: MARKER_COLOR });
  const configured = mixturePoint(manifest.diagnostics);
  if (configured) groups.push({ label: 'configured mixture', points: [configured], color: SERIES_PALETTE[0] });
  const optimized = mixturePoint(at(manifest, 'optimized', 'diagnostics'));
  if (optimized) groups.push({ label: 'optimized weights', points: [optimized], color: SERIES_PALETTE[1] });
  // uPlot wants one ascending x array: every point's ρ, each series valued only at its own.
  const x = [...new Set(groups.flatMap((g) => g.points.map((p) => p.maxRepetition)))].sort((a, b) => a - b);
  const series: SeriesSpec[] = groups.map((g) => {
    const values: Array<number | null> = x.map(() => null);
    for (const p of g.points) {
      const i = x.indexOf(p.maxRepetition);
      values[i] = values[i] === null ? p.objective : Math.min(values[i]!, p.objective);
    }
    return { label: g.label, values, style: 'points', color: g.color };
  });
  const cap = asNumber(at(manifest, 'diagnostics', 'epoch_cap'));
  return {
    name: 'sweep',
    title: `Candidate sweep: ${formatNumber(sweep.candidates)} mixtures, objective against repetition`,
    caption: 'Each point is a mixture: its objective (lower is better) and the largest repetition ρ of any source. The Pareto front keeps the candidates no other beats on objective, repetition and contamination mass at once.',
    x: { label: 'max repetition ρ (epochs)', values: x, format: 'number' },
    y: { label: 'objective L (nats/token)', format: 'number' },
    series,
    markers: cap === undefined ? [] : [{ axis: 'x', value: cap, label: `epoch cap ${formatNumber(cap)}`, color: MARKER_COLOR }],
  };
}

const MAX_FRONT_ROWS = 25;

export function sweepTable(manifest: JsonRecord, sources: readonly string[]): string | null {
  const sweep = readSweep(manifest);
  if (!sweep || sweep.front.length === 0) return null;
  const names = sources.filter((s) => sweep.front.some((c) => Object.hasOwn(c.weights, s)));
  const shown = sweep.front.slice(0, MAX_FRONT_ROWS);
  const row = (c: Candidate, label: Cell): Cell[] => [label, ...names.map((s) => c.weights[s] ?? null), c.objective, c.maxRepetition, numeric(formatPercent(c.contaminationMass))];
  const rows: Cell[][] = [];
  if (sweep.best) rows.push(row(sweep.best, strong(`best #${sweep.best.index}`)));
  for (const c of shown) rows.push(row(c, `#${c.index}`));
  const more = sweep.front.length - shown.length;
  const caption = `Sweep: best candidate within the epoch cap, and the Pareto front by objective (${sweep.front.length} candidates${more > 0 ? `, the first ${shown.length} shown` : ''})`;
  return htmlTable('sweep', caption, ['candidate', ...names.map((s) => `w ${s}`), 'objective', 'max ρ', 'contamination mass'], rows);
}
