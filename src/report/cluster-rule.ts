/**
 * The near-dedup cluster rule in the report (issue 10): how many records each rule removes on
 * the run's clusters, how many of the connected-component rule's removals had no kept near
 * duplicate, and the Jaccard of each removed record with the kept record it is removed for.
 * Reads `cluster_rule` of a dedup manifest, or `near_dedup.cluster_rule` of a curate/mix one.
 */
import { formatNumber, formatPercent } from './format.js';
import { htmlTable, numeric, type Cell } from './html-table.js';
import { categoryPositions, SERIES_PALETTE, type PlotSpec } from './plot-spec.js';
import { asNumber, asRecord, asString, type JsonRecord } from './read.js';

function ruleStats(manifest: JsonRecord): JsonRecord | undefined {
  return asRecord(manifest.cluster_rule) ?? asRecord(asRecord(manifest.near_dedup)?.cluster_rule);
}

export function clusterRuleTable(manifest: JsonRecord): string | null {
  const stats = ruleStats(manifest);
  if (!stats) return null;
  const cover = asNumber(stats.removed_cover);
  const components = asNumber(stats.removed_components);
  const below = asNumber(stats.components_removed_below_threshold);
  const rows: Cell[][] = [
    ['rule that ran', asString(stats.rule) ?? null],
    ['removed under cover (only for a kept near duplicate)', cover ?? null],
    ['removed under components (one kept per component)', components ?? null],
    [
      'components removals without a near duplicate in the kept record',
      below === undefined ? null : numeric(`${formatNumber(below)} (${components ? formatPercent(below / components) : '–'})`),
    ],
    ['kept records in clusters', asNumber(stats.kept_in_clusters) ?? null],
  ];
  return htmlTable('cluster-rule', 'Cluster rule: what each rule removes', ['', 'records'], rows);
}

/** Removed records per Jaccard bin with their kept record, one bar series per rule. */
export function clusterRulePlot(manifest: JsonRecord): PlotSpec | null {
  const stats = ruleStats(manifest);
  const histograms = asRecord(stats?.jaccard_to_kept);
  const cover = asRecord(histograms?.cover) ?? {};
  const components = asRecord(histograms?.components) ?? {};
  const bins = [...new Set([...Object.keys(cover), ...Object.keys(components)])].filter((b) => b !== 'unknown').sort();
  if (bins.length === 0) return null;
  const values = (h: JsonRecord) => bins.map((b) => asNumber(h[b]) ?? 0);
  return {
    name: 'cluster-rule',
    title: 'Jaccard of each removed record with the kept record it is removed for',
    caption:
      'Removed records per Jaccard bin. Under components every member but one goes, whatever its similarity to the kept one; ' +
      'under cover a record goes only for a kept record at J >= the threshold.',
    x: { label: 'Jaccard with the kept record', values: categoryPositions(bins.length), format: 'number', categories: bins },
    y: { label: 'removed records', format: 'count', zero: true },
    series: [
      { label: 'cover', values: values(cover), style: 'bars', color: SERIES_PALETTE[1] },
      { label: 'components', values: values(components), style: 'bars', color: SERIES_PALETTE[2] },
    ],
    markers: [],
  };
}
