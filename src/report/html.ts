/**
 * The report page (SPEC §6): one self-contained HTML file. Plots are specs in an inline JSON
 * block that the page's script turns into uPlot charts (uPlot's script and CSS are inlined
 * too); the manifest's key numbers are server-rendered tables. A Content-Security-Policy
 * forbids every network fetch, so the page provably works offline. Pure: the same manifest
 * gives the same bytes (no timestamps, no paths of the machine, no locale formats).
 */
import { invariant } from '../errors.js';
import type { ClusterSizes } from './clusters.js';
import { clusterRulePlot, clusterRuleTable } from './cluster-rule.js';
import { escapeHtml, jsonForScript } from './format.js';
import { PAGE_CSS, PAGE_SCRIPT } from './page-script.js';
import type { PlotSpec } from './plot-spec.js';
import { clusterPlot, funnelPlots, lshPlot, scorePlots } from './plots-curation.js';
import { contaminationPlot, lossesPlot, repetitionPlot, weightsPlot } from './plots-mixture.js';
import type { JsonRecord } from './read.js';
import { readStages } from './stages.js';
import { dedupTable, inputsTable, manifestKind, overviewTable, qualityTable, stagesTable, totalsTable } from './tables-curation.js';
import { sweepPlot, sweepTable } from './sweep.js';
import { diagnosticsTable, lossesTable, samplingTable, topTokensTable, warningsList, weightsTable } from './tables-mixture.js';
import { dict } from '../dict.js';

/** uPlot's browser build and stylesheet, inlined into the page. */
export interface ReportAssets {
  uplotScript: string;
  uplotCss: string;
}

export interface ReportInput {
  manifest: JsonRecord;
  /** From the run's clusters.jsonl, when it has one. */
  clusters?: ClusterSizes;
}

interface Section {
  id: string;
  title: string;
  plots: PlotSpec[];
  html: Array<string | null>;
}

function figure(plot: PlotSpec, index: number): string {
  return [
    '<figure class="plot">',
    `<figcaption><h3>${escapeHtml(plot.title)}</h3><p>${escapeHtml(plot.caption)}</p></figcaption>`,
    `<div class="chart" data-testid="plot-${escapeHtml(plot.name)}" data-plot-index="${index}" role="img" aria-label="${escapeHtml(plot.title)}"></div>`,
    '</figure>',
  ].join('\n');
}

/** Text inlined into a `<script>` or `<style>` element must not be able to close it. */
function assertInlineSafe(text: string, what: string): string {
  invariant(!/<\/(script|style)|<!--/i.test(text), `${what} cannot be inlined: it contains a closing tag or comment opener`);
  return text;
}

/** The plots and tables of a manifest, grouped in page sections; empty sections are dropped. */
export function reportSections(input: ReportInput): Section[] {
  const { manifest, clusters } = input;
  const view = readStages(manifest);
  const retained: Record<string, number> = dict();
  const lastStage = view.stages[view.stages.length - 1];
  for (const [source, c] of Object.entries(lastStage?.perSource ?? {})) retained[source] = c.tokensOut;
  const only = (p: PlotSpec | null) => (p ? [p] : []);
  const sections: Section[] = [
    { id: 'run', title: 'Run', plots: [], html: [overviewTable(manifest, view), inputsTable(manifest)] },
    { id: 'curation', title: 'Curation funnel', plots: funnelPlots(view), html: [totalsTable(manifest, view), stagesTable(view)] },
    { id: 'quality', title: 'Quality scores and thresholds', plots: scorePlots(manifest, view.sources), html: [qualityTable(manifest, view)] },
    { id: 'dedup', title: 'Near-duplicate removal', plots: [...only(clusterPlot(clusters)), ...only(lshPlot(manifest)), ...only(clusterRulePlot(manifest))], html: [dedupTable(manifest, clusters), clusterRuleTable(manifest)] },
    { id: 'mixture', title: 'Mixture', plots: only(weightsPlot(manifest, view.sources)), html: [weightsTable(manifest, view.sources)] },
    {
      id: 'diagnostics',
      title: 'Diagnostics',
      plots: [...only(lossesPlot(manifest)), ...only(repetitionPlot(manifest, view.sources)), ...only(contaminationPlot(manifest, view.sources, retained))],
      html: [warningsList(manifest), lossesTable(manifest), diagnosticsTable(manifest, view.sources)],
    },
    { id: 'sweep', title: 'Candidate sweep', plots: only(sweepPlot(manifest)), html: [sweepTable(manifest, view.sources)] },
    { id: 'sampling', title: 'Sampling plan', plots: [], html: [samplingTable(manifest), topTokensTable(manifest)] },
  ];
  return sections.filter((s) => s.plots.length > 0 || s.html.some((h) => h));
}

/** The whole page as a string. */
export function renderReport(input: ReportInput, assets: ReportAssets): string {
  const sections = reportSections(input);
  const plots: PlotSpec[] = [];
  const body: string[] = [];
  for (const section of sections) {
    body.push(`<section id="${section.id}">`, `<h2>${escapeHtml(section.title)}</h2>`);
    if (section.plots.length) {
      body.push('<div class="plots">');
      for (const plot of section.plots) body.push(figure(plot, plots.push(plot) - 1));
      body.push('</div>');
    }
    for (const html of section.html) if (html) body.push(html);
    body.push('</section>');
  }
  const kind = manifestKind(input.manifest);
  const title = `tokenmix report · ${kind}`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // Nothing may be fetched: scripts and styles are inline, images only data: URLs.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${assertInlineSafe(assets.uplotCss, "uPlot's CSS")}</style>`,
    `<style>${PAGE_CSS}</style>`,
    '</head>',
    '<body>',
    `<header><h1>${escapeHtml(title)}</h1>`,
    `<nav>${sections.map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`).join(' · ')}</nav></header>`,
    '<main>',
    ...body,
    '</main>',
    `<script type="application/json" id="report-data">${jsonForScript({ plots })}</script>`,
    `<script>${assertInlineSafe(assets.uplotScript, "uPlot's script")}</script>`,
    `<script>${assertInlineSafe(PAGE_SCRIPT, 'the page script')}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
