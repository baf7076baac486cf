/**
 * What the report got wrong (issue 13), each checked against the manifest or an independent
 * oracle: BPE top tokens decoded (js-tiktoken's own decoder), the sweep and its Pareto front
 * shown, the contamination plot of an `action: drop` run not empty, cluster sizes not joined
 * by a line.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlotSpec } from '../../src/report/index.js';
import { clusterPlot } from '../../src/report/plots-curation.js';
import { clusterSizesOf } from '../../src/report/clusters.js';
import { fixtureMixConfig } from '../helpers/fixture-config.js';
import { run } from './runs.js';

const root = mkdtempSync(join(tmpdir(), 'tokenmix-report13-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const read = (dir: string) => readFileSync(join(dir, 'report.html'), 'utf8');
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
function plot(html: string, name: string): PlotSpec | undefined {
  const start = html.indexOf('<script type="application/json" id="report-data">');
  const body = html.slice(html.indexOf('>', start) + 1, html.indexOf('</script>', start));
  return (JSON.parse(body).plots as PlotSpec[]).find((p) => p.name === name);
}
/** Text of each body row of a table, cell by cell (tags stripped, entities decoded). */
function tableRows(html: string, name: string): string[][] {
  const start = html.indexOf(`data-testid="table-${name}"`);
  expect(start, `table-${name}`).toBeGreaterThan(0);
  const body = html.slice(html.indexOf('<tbody>', start), html.indexOf('</tbody>', start));
  const decode = (t: string) => t.replace(/<[^>]+>/g, '').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return [...body.matchAll(/<tr>(.*?)<\/tr>/g)].map((row) => [...row[1].matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/g)].map((c) => decode(c[1])));
}

describe('report of a mix run with a BPE tokenizer and contamination action drop', () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(root, 'bpe-drop');
    const path = fixtureMixConfig(root, 'bpe-drop', (c) => {
      c.tokenizer = 'cl100k_base';
      c.contamination = { ngram: 13, action: 'drop' };
      delete c.optimize;
      delete c.materialize;
      c.sweep = { candidates: 64, concentration: 2 };
    });
    await run(['mix', '--config', path, '--out', dir, '--backend', 'cpu']);
  }, 120_000);

  it('decodes the most probable BPE tokens (as js-tiktoken decodes them), not "?"', () => {
    const manifest = manifestOf(dir);
    const top: { token: number }[] = manifest.diagnostics.top_tokens;
    expect(top.length).toBeGreaterThan(0);
    const oracle = new Tiktoken(cl100k);
    const rows = tableRows(read(dir), 'top-tokens');
    expect(rows).toHaveLength(top.length);
    rows.forEach((row, i) => {
      expect(row[1]).toBe(JSON.stringify(oracle.decode([top[i].token])));
      expect(Number(row[2].replace(/\s/g, ''))).toBe(top[i].token);
    });
    expect(rows.map((r) => r[1])).not.toContain('?');
  });

  it('plots the dropped documents per source: the contamination stage’s own counts, not an empty plot', () => {
    const manifest = manifestOf(dir);
    const stage = manifest.stages.find((s: { name: string }) => s.name === 'contamination');
    const spec = plot(read(dir), 'contamination')!;
    expect(spec.title).toMatch(/dropped/);
    const expected = manifest.sources.map((s: string) => {
      const c = stage.per_source[s];
      return c.tokens_in === 0 ? null : (c.tokens_in - c.tokens_out) / c.tokens_in;
    });
    const drawn = spec.series.map((series, i) => series.values[i]);
    expect(drawn).toEqual(expected);
    expect(drawn.some((v) => v !== null && v > 0)).toBe(true);
    expect(manifest.diagnostics.contamination_mass).toBe(0);
  });

  it('shows the sweep: every Pareto candidate plotted and tabled, and the best one', () => {
    const manifest = manifestOf(dir);
    const spec = plot(read(dir), 'sweep')!;
    const front = spec.series.find((s) => s.label.startsWith('Pareto front'))!;
    const plotted = front.values.flatMap((v, i) => (v === null ? [] : [[spec.x.values[i], v]]));
    const expected = manifest.sweep.pareto.map((c: { max_repetition: number; objective: number }) => [c.max_repetition, c.objective]);
    // Candidates with equal repetition share an x: the plot keeps the lower objective there.
    expect(plotted.length).toBe(new Set(expected.map((p: number[]) => p[0])).size);
    for (const [x, y] of plotted) expect(expected).toContainEqual([x, y]);
    const best = spec.series.find((s) => s.label.startsWith('best'))!;
    expect(best.values.filter((v) => v !== null)).toEqual([manifest.sweep.best.objective]);
    const rows = tableRows(read(dir), 'sweep');
    expect(rows[0][0]).toBe(`best #${manifest.sweep.best.index}`);
    expect(rows.length - 1).toBe(Math.min(25, manifest.sweep.pareto.length));
  });
});

describe('cluster-size plot', () => {
  it('draws sizes as categories: bars and points, never a line joining them', () => {
    const spec = clusterPlot(clusterSizesOf(['a', 'a', 'b', 'b', 'b', 'c', 'c']))!;
    expect(spec.series.map((s) => s.style)).toEqual(['bars', 'points']);
  });
});
