/**
 * Plots of curation (SPEC §2): the acceptance funnel in documents and in tokens, per-source
 * score histograms with thresholds and retained-tokens-vs-threshold curves, and the
 * near-dedup cluster-size distribution and LSH S-curve.
 */
import type { ClusterSizes } from './clusters.js';
import { formatNumber, formatPercent } from './format.js';
import { categoryPositions, MARKER_COLOR, MUTED_COLOR, SERIES_PALETTE, sourceColor, stackLayers, type PlotSpec } from './plot-spec.js';
import { asArray, asNumber, asRecord, at, numberList, numberMap, type JsonRecord } from './read.js';
import type { StagesView } from './stages.js';

/**
 * Stacked bars of what survives each stage, one layer per source.
 */
function funnel(view: StagesView, unit: 'docs' | 'tokens'): PlotSpec | null {
  const { stages } = view;
  if (stages.length === 0) return null;
  const categories = ['input', ...stages.map((s) => s.name)];
  const pick = (c: { docsIn: number; docsOut: number; tokensIn: number; tokensOut: number }, side: 'in' | 'out') =>
    unit === 'docs' ? (side === 'in' ? c.docsIn : c.docsOut) : side === 'in' ? c.tokensIn : c.tokensOut;
  const sources = view.sources.filter((s) => stages.some((stage) => stage.perSource[s]));
  const layers = sources.length > 0 ? sources : ['all'];
  const own = layers.map((source) => {
    const counts = (i: number) => (source === 'all' ? stages[i].total : stages[i].perSource[source]);
    return categories.map((_, k) => {
      const c = counts(k === 0 ? 0 : k - 1);
      return c ? pick(c, k === 0 ? 'in' : 'out') : null;
    });
  });
  const series = stackLayers(layers.map((label, i) => ({ label, values: own[i], color: sourceColor(view.sources, label) })), 'bars');
  const first = stages[0].total;
  const last = stages[stages.length - 1].total;
  const kept = unit === 'docs' ? formatPercent(last.docsOut / first.docsIn) : formatPercent(last.tokensOut / first.tokensIn);
  return {
    name: `funnel-${unit}`,
    title: `Acceptance funnel in ${unit === 'docs' ? 'documents' : 'tokens'} (${kept} kept)`,
    caption: `${unit === 'docs' ? 'Documents' : 'Tokens'} entering curation and left after each stage, stacked by source.`,
    x: { label: 'stage', values: categoryPositions(categories.length), format: 'number', categories },
    y: { label: unit === 'docs' ? 'documents' : 'tokens', format: 'count', zero: true },
    series,
    markers: [],
  };
}

export function funnelPlots(view: StagesView): PlotSpec[] {
  return [funnel(view, 'docs'), funnel(view, 'tokens')].filter((p): p is PlotSpec => p !== null);
}

/** Bin edges from `histogram.edges`, else from `min`, `max` and `bins`. */
function binEdges(histogram: JsonRecord): number[] | undefined {
  const edges = numberList(histogram.edges);
  if (edges && edges.length >= 2 && edges.every((e) => e !== null)) return edges as number[];
  const min = asNumber(histogram.min);
  const max = asNumber(histogram.max);
  const bins = asNumber(histogram.bins);
  if (min === undefined || max === undefined || bins === undefined || !Number.isInteger(bins) || bins < 1) return undefined;
  return Array.from({ length: bins + 1 }, (_, i) => min + ((max - min) * i) / bins);
}

/**
 * Tokens kept by a threshold at each bin edge (SPEC §2: score >= tau keeps): everything in
 * the bins at and above that edge, as a share of the source's scored tokens.
 */
export function retainedShareByEdge(tokensByBin: ReadonlyArray<number | null>): Array<number | null> {
  const total = tokensByBin.reduce<number>((sum, t) => sum + (t ?? 0), 0);
  const shares: Array<number | null> = new Array(tokensByBin.length + 1);
  let above = 0;
  shares[tokensByBin.length] = total === 0 ? null : 0;
  for (let bin = tokensByBin.length - 1; bin >= 0; bin--) {
    above += tokensByBin[bin] ?? 0;
    shares[bin] = total === 0 ? null : above / total;
  }
  return shares;
}

export function scorePlots(manifest: JsonRecord, sources: readonly string[]): PlotSpec[] {
  const quality = asRecord(manifest.quality);
  const histogram = asRecord(quality?.histogram);
  const edges = histogram && binEdges(histogram);
  const byBin = asRecord(quality?.tokens_by_bin);
  if (!quality || !edges || !byBin) return [];
  const thresholds = numberMap(quality.thresholds) ?? {};
  const topFraction = numberMap(at(manifest, 'config', 'filters', 'quality', 'top_fraction')) ?? {};
  const field = typeof quality.field === 'string' ? quality.field : 'score';
  const names = [...sources.filter((s) => Object.hasOwn(byBin, s)), ...Object.keys(byBin).filter((s) => !sources.includes(s))];
  const plots: PlotSpec[] = [];
  for (const [index, source] of names.entries()) {
    const tokens = numberList(byBin[source]);
    if (!tokens || tokens.length !== edges.length - 1) continue;
    const threshold = thresholds[source];
    const top = topFraction[source];
    const rule = threshold === undefined ? 'no threshold' : `τ = ${formatNumber(threshold)}${top === undefined ? '' : ` (top ${formatPercent(top)} of tokens)`}`;
    plots.push({
      name: `score-${index}`,
      title: `${source}: ${field} histogram, ${rule}`,
      caption: 'Tokens per score bin (bars, left axis) and the share of tokens a threshold at each score keeps (line, right axis).',
      x: { label: field, values: edges, format: 'number' },
      y: { label: 'tokens per bin', format: 'count', zero: true },
      y2: { label: 'tokens kept if τ = x', format: 'percent', zero: true },
      series: [
        { label: 'tokens', values: [...tokens, null], style: 'bars', color: sourceColor(sources, source) },
        { label: 'kept share', values: retainedShareByEdge(tokens), style: 'line', color: SERIES_PALETTE[0], axis: 'y2' },
      ],
      markers: threshold === undefined ? [] : [{ axis: 'x', value: threshold, label: `τ ${formatNumber(threshold)}`, color: MARKER_COLOR }],
    });
  }
  return plots;
}

/**
 * Cluster-size distribution: one bar per size when there are few distinct sizes, else
 * power-of-two size ranges (2, 3, 4–7, 8–15, ...), so a long tail stays readable.
 */
export function clusterPlot(clusters: ClusterSizes | undefined): PlotSpec | null {
  if (!clusters || clusters.bySize.length === 0) return null;
  type Bucket = { label: string; clusters: number; records: number };
  const buckets: Bucket[] = [];
  if (clusters.bySize.length <= 40) {
    for (const { size, count } of clusters.bySize) buckets.push({ label: String(size), clusters: count, records: size * count });
  } else {
    for (const { size, count } of clusters.bySize) {
      const low = size < 4 ? size : 2 ** Math.floor(Math.log2(size));
      const label = size < 4 ? String(size) : `${low}–${2 * low - 1}`;
      const last = buckets[buckets.length - 1];
      if (last && last.label === label) {
        last.clusters += count;
        last.records += size * count;
      } else buckets.push({ label, clusters: count, records: size * count });
    }
  }
  const categories = buckets.map((b) => b.label);
  return {
    name: 'clusters',
    title: `Near-dedup cluster sizes (${formatNumber(clusters.clusters)} clusters of 2+, ${formatNumber(clusters.records)} records, largest ${formatNumber(clusters.largest)})`,
    caption: 'Number of duplicate clusters of each size (bars, left axis) and the records they hold (points, right axis); one record per cluster is kept.',
    x: { label: 'cluster size (records)', values: categoryPositions(categories.length), format: 'number', categories },
    y: { label: 'clusters', format: 'count', zero: true },
    y2: { label: 'records', format: 'count', zero: true },
    series: [
      { label: 'clusters', values: buckets.map((b) => b.clusters), style: 'bars', color: SERIES_PALETTE[1] },
      // Points, not a line: sizes are categories, and nothing lies between two of them.
      { label: 'records in them', values: buckets.map((b) => b.records), style: 'points', color: SERIES_PALETTE[0], axis: 'y2' },
    ],
    markers: [],
  };
}

/** P(candidate pair | Jaccard J) of the chosen LSH banding, from a dedup manifest. */
export function lshPlot(manifest: JsonRecord): PlotSpec | null {
  const lsh = asRecord(manifest.lsh);
  const points = (asArray(lsh?.sCurve) ?? []).map(asRecord).filter((p): p is JsonRecord => p !== undefined);
  const xs = points.map((p) => asNumber(p.similarity));
  const ys = points.map((p) => asNumber(p.probability));
  if (!lsh || points.length < 2 || xs.some((x) => x === undefined) || ys.some((y) => y === undefined)) return null;
  const markers = [];
  const threshold = asNumber(lsh.threshold);
  const aimedAt = asNumber(lsh.aimedAt);
  if (threshold !== undefined) markers.push({ axis: 'x' as const, value: threshold, label: `threshold ${formatNumber(threshold)}`, color: MARKER_COLOR });
  if (aimedAt !== undefined && aimedAt !== threshold) markers.push({ axis: 'x' as const, value: aimedAt, label: `tuned for ${formatNumber(aimedAt)}`, color: MUTED_COLOR });
  return {
    name: 'lsh-scurve',
    title: `LSH S-curve: b = ${formatNumber(asNumber(lsh.bands))} bands × r = ${formatNumber(asNumber(lsh.rows))} rows`,
    caption: 'Probability that a pair with Jaccard similarity J becomes a candidate, 1 − (1 − J^r)^b.',
    x: { label: 'Jaccard similarity J', values: xs as number[], format: 'number' },
    y: { label: 'P(candidate)', format: 'percent', zero: true },
    series: [{ label: 'P(candidate | J)', values: ys as number[], style: 'line', color: SERIES_PALETTE[1] }],
    markers,
  };
}
