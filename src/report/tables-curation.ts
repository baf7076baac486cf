/**
 * The manifest's key numbers about the run and its curation, as tables: overview, inputs,
 * totals, per-stage per-source counts and rates (SPEC §2: documents and tokens always side
 * by side), quality thresholds, and near-dedup.
 */
import type { ClusterSizes } from './clusters.js';
import { formatNumber, formatPercent, ratio } from './format.js';
import { htmlTable, numeric, strong, type Cell } from './html-table.js';
import { asArray, asNumber, asRecord, asString, at, numberMap, type JsonRecord } from './read.js';
import type { StageCounts, StagesView } from './stages.js';

/** Which command wrote the manifest. */
export function manifestKind(manifest: JsonRecord): string {
  const command = asString(manifest.command);
  if (command) return command;
  if (asRecord(manifest.mixture) || asRecord(manifest.diagnostics)) return 'mix';
  if (asArray(manifest.stages)) return 'curate';
  return 'unknown';
}

export function overviewTable(manifest: JsonRecord, view: StagesView): string {
  const rows: Cell[][] = [];
  const add = (key: string, value: Cell | undefined) => {
    if (value !== undefined) rows.push([key, value]);
  };
  const tool = asRecord(manifest.tool);
  add('tool', tool ? `${asString(tool.name) ?? 'tokenmix'} ${asString(tool.version) ?? ''}`.trim() : undefined);
  add('command', manifestKind(manifest));
  const tokenizer = asString(manifest.tokenizer) ?? asString(at(manifest, 'tokenizer', 'name'));
  add('tokenizer', tokenizer);
  add('sources', view.sources.length ? view.sources.join(', ') : undefined);
  add('input files', asArray(manifest.inputs)?.length);
  add('seed', asNumber(at(manifest, 'config', 'seed')) ?? asNumber(at(manifest, 'options', 'seed')));
  add('token budget B', asNumber(at(manifest, 'mixture', 'budget_tokens')));
  add('vocabulary size V', asNumber(at(manifest, 'mixture', 'vocab_size')));
  return htmlTable('overview', 'Run summary', ['', 'value'], rows);
}

export function inputsTable(manifest: JsonRecord): string | null {
  const inputs = (asArray(manifest.inputs) ?? []).map(asRecord).filter((i): i is JsonRecord => i !== undefined);
  if (inputs.length === 0) return null;
  const rows = inputs.map((input): Cell[] => [
    asString(input.path) ?? '?',
    [asString(input.format), asString(input.compression)].filter((s) => s && s !== 'none').join(' + ') || '–',
    asNumber(input.records) ?? null,
    asNumber(input.problems) ?? null,
    asNumber(input.bytes) ?? null,
    (asString(input.sha256) ?? '').slice(0, 16),
  ]);
  return htmlTable('inputs', 'Inputs', ['file', 'format', 'records', 'problems', 'bytes', 'sha256 (prefix)'], rows);
}

/** Totals of a curate/mix manifest (`totals` + `totals_tokens`) or of a dedup manifest. */
export function totalsTable(manifest: JsonRecord, view: StagesView): string | null {
  const docs = asRecord(manifest.totals);
  const tokens = asRecord(manifest.totals_tokens);
  const rows: Cell[][] = [];
  if (docs && asNumber(docs.input) !== undefined) {
    const inputDocs = asNumber(docs.input) ?? 0;
    const inputTokens = asNumber(tokens?.input) ?? 0;
    const row = (label: Cell, d: number | undefined, t: number | undefined): Cell[] => [
      label,
      d ?? null,
      numeric(d === undefined ? '–' : formatPercent(ratio(d, inputDocs))),
      t ?? null,
      numeric(t === undefined ? '–' : formatPercent(ratio(t, inputTokens))),
    ];
    rows.push(row('input', inputDocs, asNumber(tokens?.input)));
    rows.push(row(strong('kept'), asNumber(docs.kept), asNumber(tokens?.kept)));
    const droppedTokens = numberMap(tokens?.dropped) ?? {};
    for (const [reason, d] of Object.entries(numberMap(docs.dropped) ?? {})) rows.push(row(`dropped: ${reason}`, d, droppedTokens[reason]));
    rows.push(row('quarantined', asNumber(docs.quarantined), asNumber(tokens?.quarantined)));
    for (const [reason, n] of Object.entries(numberMap(manifest.quarantine) ?? {})) rows.push([`quarantine: ${reason}`, n, numeric(''), null, numeric('')]);
  } else if (view.stages.length === 1 && docs) {
    // A dedup manifest: one stage's counts plus cluster totals.
    const total = view.stages[0].total;
    rows.push(['input', total.docsIn, numeric('100.0%'), total.tokensIn, numeric('100.0%')]);
    rows.push([strong('kept'), total.docsOut, numeric(formatPercent(ratio(total.docsOut, total.docsIn))), total.tokensOut, numeric(formatPercent(ratio(total.tokensOut, total.tokensIn)))]);
    for (const [reason, drop] of Object.entries(total.dropped)) rows.push([`dropped: ${reason}`, drop.docs, numeric(formatPercent(ratio(drop.docs, total.docsIn))), drop.tokens, numeric('')]);
    rows.push(['quarantined', asNumber(docs.quarantined) ?? null, numeric(''), null, numeric('')]);
  } else return null;
  return htmlTable('totals', 'Totals: every record that entered is kept, dropped (with its reason) or quarantined', ['', 'documents', 'of input', 'tokens', 'of input'], rows);
}

function stageRow(label: Cell, c: StageCounts): Cell[] {
  const drops = Object.entries(c.dropped)
    .filter(([, d]) => d.docs > 0)
    .map(([reason, d]) => `${reason}: ${formatNumber(d.docs)}${d.tokens === null ? '' : ` / ${formatNumber(d.tokens)} tok`}`)
    .join('; ');
  return [
    label,
    c.docsIn,
    c.docsOut,
    numeric(formatPercent(ratio(c.docsOut, c.docsIn))),
    c.tokensIn,
    c.tokensOut,
    numeric(formatPercent(ratio(c.tokensOut, c.tokensIn))),
    drops || '–',
  ];
}

export function stagesTable(view: StagesView): string | null {
  if (view.stages.length === 0) return null;
  const rows: Cell[][] = [];
  for (const stage of view.stages) {
    rows.push(stageRow(strong(`${stage.name} (all)`), stage.total));
    for (const source of [...view.sources, ...Object.keys(stage.perSource).filter((s) => !view.sources.includes(s))]) {
      const c = stage.perSource[source];
      if (c) rows.push(stageRow(`${stage.name} · ${source}`, c));
    }
  }
  return htmlTable(
    'stages',
    'Per stage and source: documents and tokens in/out, document acceptance a = n_out/n_in and token acceptance a_tok',
    ['stage · source', 'docs in', 'docs out', 'a', 'tokens in', 'tokens out', 'a_tok', 'dropped (docs / tokens)'],
    rows,
  );
}

export function qualityTable(manifest: JsonRecord, view: StagesView): string | null {
  const quality = asRecord(manifest.quality);
  const thresholds = numberMap(quality?.thresholds);
  if (!quality || !thresholds) return null;
  const topFraction = numberMap(at(manifest, 'config', 'filters', 'quality', 'top_fraction')) ?? {};
  const stage = view.stages.find((s) => s.name === 'quality');
  const rows = Object.entries(thresholds).map(([source, tau]): Cell[] => {
    const c = stage?.perSource[source];
    return [
      source,
      tau,
      topFraction[source] === undefined ? 'given' : `top ${formatPercent(topFraction[source])} of tokens`,
      c ? c.tokensOut : null,
      numeric(c ? formatPercent(ratio(c.tokensOut, c.tokensIn)) : '–'),
    ];
  });
  return htmlTable('quality', `Quality thresholds on "${asString(quality.field) ?? 'score'}" (score >= τ keeps)`, ['source', 'τ', 'chosen by', 'tokens kept', 'a_tok'], rows);
}

export function dedupTable(manifest: JsonRecord, clusters: ClusterSizes | undefined): string | null {
  const rows: Cell[][] = [];
  const lsh = asRecord(manifest.lsh);
  if (lsh) {
    rows.push(['LSH banding (b × r)', numeric(`${formatNumber(asNumber(lsh.bands))} × ${formatNumber(asNumber(lsh.rows))}`)]);
    rows.push(['Jaccard threshold', asNumber(lsh.threshold) ?? null]);
    rows.push(['false-positive / false-negative area', numeric(`${formatNumber(asNumber(lsh.falsePositiveArea))} / ${formatNumber(asNumber(lsh.falseNegativeArea))}`)]);
  }
  const totals = asRecord(manifest.totals);
  for (const key of ['clusters', 'clusters_exact', 'clusters_near', 'docs_in_clusters', 'largest_cluster', 'removed_exact', 'removed_near']) {
    const n = asNumber(totals?.[key]);
    if (n !== undefined) rows.push([key.replace(/_/g, ' '), n]);
  }
  if (clusters) {
    rows.push(['clusters in clusters.jsonl', clusters.clusters]);
    rows.push(['records in those clusters', clusters.records]);
    rows.push(['removed as duplicates (records − clusters)', clusters.records - clusters.clusters]);
  }
  return rows.length ? htmlTable('dedup', 'Near-duplicate removal', ['', 'value'], rows) : null;
}
