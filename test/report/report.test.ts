/**
 * The HTML run report (SPEC §6) as text: which plots and tables a manifest gets, that the
 * plotted numbers agree with the manifest (checked against the manifest's own counts, not
 * against the report code), escaping of hostile names, no network at view time, byte
 * identity, and tolerance of curate-only, dedup-only and empty manifests.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenmixError } from '../../src/errors.js';
import { clusterSizesOf, loadReportAssets, readClusterSizes, renderReport, writeReport, type PlotSpec } from '../../src/report/index.js';
import { escapeHtml, jsonForScript } from '../../src/report/format.js';
import { clusterPlot, retainedShareByEdge } from '../../src/report/plots-curation.js';
import { HOSTILE_SOURCE, HOSTILE_TOKEN, makeRuns, run, type Runs } from './runs.js';

let runs: Runs;
beforeAll(async () => {
  runs = await makeRuns({ curate: true, dedup: true });
});
afterAll(() => rmSync(runs.root, { recursive: true, force: true }));

const read = (dir: string) => readFileSync(join(dir, 'report.html'), 'utf8');
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
const testIds = (html: string, prefix: string) => [...html.matchAll(/data-testid="([^"]+)"/g)].map((m) => m[1]).filter((id) => id.startsWith(prefix));

/** The plot specs, parsed back from the page's inline JSON block. */
function plotsOf(html: string): PlotSpec[] {
  const start = html.indexOf('<script type="application/json" id="report-data">');
  expect(start).toBeGreaterThan(0);
  const body = html.slice(html.indexOf('>', start) + 1, html.indexOf('</script>', start));
  return JSON.parse(body).plots;
}
const plot = (html: string, name: string) => plotsOf(html).find((p) => p.name === name)!;

describe('report of the fixture mix run', () => {
  it('is written by tokenmix mix itself, which prints its path', () => {
    expect(runs.mixStdout).toContain(`report: ${join(runs.mix, 'report.html')}`);
  });

  it('prints numbers on stdout in one format (no exponent notation beside plain decimals)', () => {
    const summary = runs.mixStdout.join('\n');
    expect(summary).toContain('budget 200000 tokens');
    expect(summary).not.toMatch(/\d\.\d+e[+-]\d/);
  });

  it('has every plot container and table', () => {
    const html = read(runs.mix);
    expect(testIds(html, 'plot-')).toEqual([
      'plot-funnel-docs', 'plot-funnel-tokens', 'plot-score-0', 'plot-score-1', 'plot-score-2',
      'plot-weights', 'plot-losses', 'plot-repetition', 'plot-contamination', 'plot-sweep',
    ]);
    expect(testIds(html, 'table-')).toEqual([
      'table-overview', 'table-inputs', 'table-totals', 'table-stages', 'table-quality', 'table-weights',
      'table-losses', 'table-diagnostics', 'table-objective', 'table-sweep', 'table-sampling', 'table-top-tokens',
    ]);
    expect(html).toContain('data-testid="warnings"');
    // Each container's spec is in the data block, in page order.
    expect(plotsOf(html).map((p) => `plot-${p.name}`)).toEqual(testIds(html, 'plot-'));
  });

  it('plots the funnel stacked to the manifest totals per stage, with each source as its own layer', () => {
    const manifest = manifestOf(runs.mix);
    const html = read(runs.mix);
    for (const [unit, inKey, outKey] of [['docs', 'docs_in', 'docs_out'], ['tokens', 'tokens_in', 'tokens_out']] as const) {
      const funnel = plot(html, `funnel-${unit}`);
      const stages = manifest.stages as Array<Record<string, number> & { name: string; per_source: Record<string, Record<string, number>> }>;
      expect(funnel.x.categories).toEqual(['input', ...stages.map((s) => s.name)]);
      // The first layer drawn is the top of the stack: the stage totals.
      expect(funnel.series[0].values).toEqual([stages[0][inKey], ...stages.map((s) => s[outKey])]);
      const web = funnel.series.find((s) => s.label === 'web')!;
      expect(web.legend).toEqual([stages[0].per_source.web[inKey], ...stages.map((s) => s.per_source.web[outKey])]);
    }
  });

  it('puts each threshold on its histogram, where the kept-share curve equals the quality stage token acceptance', () => {
    const manifest = manifestOf(runs.mix);
    const html = read(runs.mix);
    const quality = manifest.stages.find((s: { name: string }) => s.name === 'quality');
    const edges: number[] = manifest.quality.histogram.edges;
    for (const [index, source] of (manifest.sources as string[]).entries()) {
      const score = plot(html, `score-${index}`);
      const tau: number = manifest.quality.thresholds[source];
      expect(score.title).toContain(source);
      expect(score.markers).toEqual([expect.objectContaining({ axis: 'x', value: tau })]);
      expect(score.series[0].values.slice(0, -1)).toEqual(manifest.quality.tokens_by_bin[source]);
      const kept = score.series[1].values;
      expect(kept[0]).toBe(1);
      expect(kept[kept.length - 1]).toBe(0);
      const edge = edges.findIndex((e) => e >= tau - 1e-6);
      const c = quality.per_source[source];
      expect(kept[edge]).toBeCloseTo(c.tokens_out / c.tokens_in, 12);
    }
  });

  it('stacks the schedule weights to 1 and splits the contamination mass by source (SPEC §4)', () => {
    const manifest = manifestOf(runs.mix);
    const html = read(runs.mix);
    const weights = plot(html, 'weights');
    expect(weights.x.values).toEqual([0, 0.8, 1]);
    for (const v of weights.series[0].values) expect(v).toBeCloseTo(1, 12);
    const contamination = plot(html, 'contamination');
    const bars = contamination.series.filter((s) => s.style === 'bars');
    const total = bars.reduce((sum, s) => sum + s.values.reduce<number>((a, v) => a + (v ?? 0), 0), 0);
    expect(total).toBeCloseTo(manifest.diagnostics.contamination_mass, 12);
    const repetition = plot(html, 'repetition');
    expect(repetition.markers).toContainEqual(expect.objectContaining({ axis: 'y', value: manifest.diagnostics.epoch_cap }));
    const losses = plot(html, 'losses');
    expect(losses.x.categories).toEqual(Object.keys(manifest.diagnostics.losses));
    expect(losses.series[0].values.filter((v) => v !== null)).toEqual(Object.values(manifest.diagnostics.losses));
  });

  it('shows the manifest key numbers in tables', () => {
    const manifest = manifestOf(runs.mix);
    const html = read(runs.mix);
    const totals = html.slice(html.indexOf('data-testid="table-totals"'), html.indexOf('data-testid="table-stages"'));
    expect(totals).toContain(`<td class="num">${manifest.totals.kept}</td>`); // 546: no digit grouping below 1000
    expect(html).toContain(escapeHtml(manifest.diagnostics.warnings[0]));
  });

  it('needs no network at view time: no src/href URL, no external script or stylesheet, a CSP forbidding fetches', () => {
    const html = read(runs.mix);
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).toContain(`content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html).toContain('uPlot');
  });

  it('is byte-identical for identical manifests, wherever the run directory is', async () => {
    const first = read(runs.mix);
    const copy = join(runs.root, 'elsewhere', 'deeper');
    mkdirSync(copy, { recursive: true });
    writeFileSync(join(copy, 'manifest.json'), readFileSync(join(runs.mix, 'manifest.json')));
    await writeReport(copy);
    await writeReport(runs.mix);
    expect(read(runs.mix)).toBe(first);
    expect(read(copy)).toBe(first);
  });
});

describe('escaping', () => {
  it('keeps hostile source, eval and token names as text', async () => {
    await writeReport(runs.hostile);
    const html = read(runs.hostile);
    expect(html).not.toContain(HOSTILE_SOURCE);
    expect(html).not.toContain(HOSTILE_TOKEN);
    expect(html).not.toContain('<img');
    expect(html).toContain(escapeHtml(HOSTILE_SOURCE));
    expect(html).toContain(escapeHtml(HOSTILE_TOKEN));
    // Exactly the page's three scripts, and the data block parses whole with the name in it.
    expect(html.match(/<script\b/gi)?.length).toBe(3);
    expect(plot(html, 'repetition').x.categories).toContain(HOSTILE_SOURCE);
  });

  it.each([
    { name: 'html specials', input: `<a href="x">&'`, html: '&lt;a href=&quot;x&quot;&gt;&amp;&#39;' },
    { name: 'plain text', input: 'web', html: 'web' },
  ])('escapeHtml: $name', ({ input, html }) => {
    expect(escapeHtml(input)).toBe(html);
  });

  it.each([
    { name: 'a closing script tag', value: ['</script>'], json: '["\\u003c/script\\u003e"]' },
    { name: 'a comment opener and ampersand', value: { '<!--': '&' }, json: '{"\\u003c!--":"\\u0026"}' },
    { name: 'line separators', value: '\u2028\u2029', json: '"\\u2028\\u2029"' },
  ])('jsonForScript escapes $name and stays JSON', ({ value, json }) => {
    expect(jsonForScript(value)).toBe(json);
    expect(JSON.parse(jsonForScript(value))).toEqual(value);
  });
});

describe('partial manifests', () => {
  it('curate --no-report writes none; tokenmix report writes the curation sections only', async () => {
    expect(existsSync(join(runs.curate, 'report.html'))).toBe(false);
    expect(await run(['report', runs.curate])).toEqual([`report: ${join(runs.curate, 'report.html')}`]);
    const html = read(runs.curate);
    expect(testIds(html, 'plot-')).toEqual(['plot-funnel-docs', 'plot-funnel-tokens', 'plot-score-0', 'plot-score-1', 'plot-score-2', 'plot-clusters', 'plot-cluster-rule']);
    expect(testIds(html, 'table-')).toEqual(['table-overview', 'table-inputs', 'table-totals', 'table-stages', 'table-quality', 'table-dedup', 'table-cluster-rule']);
  });

  it('a dedup run gets its funnel, cluster sizes from clusters.jsonl and the LSH S-curve', () => {
    const manifest = manifestOf(runs.dedup);
    const html = read(runs.dedup);
    expect(testIds(html, 'plot-')).toEqual(['plot-funnel-docs', 'plot-funnel-tokens', 'plot-clusters', 'plot-lsh-scurve', 'plot-cluster-rule']);
    expect(testIds(html, 'table-')).toEqual(['table-overview', 'table-inputs', 'table-totals', 'table-stages', 'table-dedup', 'table-cluster-rule']);
    // The cluster-rule bars add up to what each rule removes (the manifest's counts).
    const rule = plot(html, 'cluster-rule');
    const sum = (i: number) => rule.series[i].values.reduce<number>((a, v) => a + (v ?? 0), 0);
    expect(manifest.cluster_rule.removed_cover).toBeGreaterThan(0);
    expect([sum(0), sum(1)]).toEqual([manifest.cluster_rule.removed_cover, manifest.cluster_rule.removed_components]);
    const clusters = plot(html, 'clusters');
    const clusterCount = clusters.series[0].values.reduce<number>((a, v) => a + (v ?? 0), 0);
    const recordCount = clusters.series[1].values.reduce<number>((a, v) => a + (v ?? 0), 0);
    expect(clusterCount).toBe(manifest.totals.clusters);
    expect(recordCount).toBe(manifest.totals.docs_in_clusters);
    expect(plot(html, 'funnel-docs').series[0].values).toEqual([manifest.totals.docs_in, manifest.totals.docs_out]);
  });

  it('an empty manifest still renders a page, without plots', async () => {
    const html = renderReport({ manifest: {} }, await loadReportAssets());
    expect(html).toMatch(/^<!doctype html>/);
    expect(plotsOf(html)).toEqual([]);
  });

  it('a missing manifest or a malformed clusters.jsonl is a user error naming the file', async () => {
    const dir = join(runs.root, 'broken');
    mkdirSync(dir);
    await expect(writeReport(dir)).rejects.toThrow(TokenmixError);
    await expect(writeReport(dir)).rejects.toThrow(/no manifest at .*broken\/manifest\.json/);
    writeFileSync(join(dir, 'manifest.json'), '{}');
    writeFileSync(join(dir, 'clusters.jsonl'), '{"id":"a","cluster":1}\nnot json\n');
    await expect(writeReport(dir)).rejects.toThrow(/clusters\.jsonl:2: expected a JSON object/);
    await expect(run(['report'])).rejects.toThrow(/exited 2/);
  });
});

describe('pure pieces', () => {
  it.each([
    { name: 'no records', ids: [], expected: { bySize: [], clusters: 0, records: 0, largest: 0 } },
    {
      name: 'a pair and a triple',
      ids: ['n:1', 'n:7', 'n:1', 'n:7', 'n:7'],
      expected: { bySize: [{ size: 2, count: 1 }, { size: 3, count: 1 }], clusters: 2, records: 5, largest: 3 },
    },
  ])('clusterSizesOf: $name', ({ ids, expected }) => {
    expect(clusterSizesOf(ids)).toEqual(expected);
  });

  it('readClusterSizes keeps number and string cluster ids apart', async () => {
    const path = join(runs.root, 'ids.jsonl');
    writeFileSync(path, '{"id":"a","cluster":1,"kept":true}\n{"id":"b","cluster":"1","kept":true}\n{"id":"c","cluster":1,"kept":false}\n\n');
    expect(await readClusterSizes(path)).toEqual({ bySize: [{ size: 1, count: 1 }, { size: 2, count: 1 }], clusters: 2, records: 3, largest: 2 });
  });

  it('buckets a long tail of cluster sizes by powers of two', () => {
    const bySize = Array.from({ length: 60 }, (_, i) => ({ size: i + 2, count: 1 }));
    const spec = clusterPlot({ bySize, clusters: 60, records: 0, largest: 61 })!;
    expect(spec.x.categories).toEqual(['2', '3', '4–7', '8–15', '16–31', '32–63']);
    expect(spec.series[0].values).toEqual([1, 1, 4, 8, 16, 30]);
  });

  it.each([
    { name: 'four bins', tokens: [1, 2, 3, 4], expected: [1, 0.9, 0.7, 0.4, 0] },
    { name: 'no tokens', tokens: [0, 0], expected: [null, null, null] },
    { name: 'an empty bin', tokens: [0, 5], expected: [1, 1, 0] },
  ])('retainedShareByEdge: $name', ({ tokens, expected }) => {
    const shares = retainedShareByEdge(tokens);
    expect(shares.length).toBe(expected.length);
    shares.forEach((s, i) => (expected[i] === null ? expect(s).toBeNull() : expect(s).toBeCloseTo(expected[i]!, 12)));
  });
});
