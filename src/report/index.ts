/**
 * `DIR/report.html` from a run directory (SPEC §6): reads `DIR/manifest.json` (written by
 * curate, mix or dedup) and, when present, `DIR/clusters.jsonl`, and writes one
 * self-contained page. Node side only: rendering itself is pure (html.ts).
 */
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { tempPath } from '../work/temp.js';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { TokenmixError } from '../errors.js';
import { readClusterSizes } from './clusters.js';
import { renderReport, type ReportAssets } from './html.js';
import { asRecord } from './read.js';

export { renderReport, reportSections, type ReportAssets, type ReportInput } from './html.js';
export { clusterSizesOf, readClusterSizes, type ClusterSizes } from './clusters.js';
export type { PlotSpec } from './plot-spec.js';

/** uPlot's browser build, resolved like an import (works from src/ under tsx and from dist/). */
export async function loadReportAssets(): Promise<ReportAssets> {
  const require = createRequire(import.meta.url);
  const [uplotScript, uplotCss] = await Promise.all([
    readFile(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  ]);
  return { uplotScript, uplotCss };
}

/** Render the report of run directory `dir` into `dir/report.html`; returns that path (absolute). */
export async function writeReport(dir: string): Promise<string> {
  const manifestPath = join(dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TokenmixError(`no manifest at ${manifestPath}; run tokenmix curate, mix or dedup with --out ${dir} first`, { where: manifestPath });
    }
    throw error;
  }
  let manifest: Record<string, unknown> | undefined;
  try {
    manifest = asRecord(JSON.parse(text));
  } catch (error) {
    throw new TokenmixError(`${manifestPath} is not valid JSON (${(error as Error).message}); rerun the command that wrote it`, { where: manifestPath, cause: error });
  }
  if (!manifest) throw new TokenmixError(`${manifestPath} is not a JSON object; rerun the command that wrote it`, { where: manifestPath });
  const clustersPath = join(dir, 'clusters.jsonl');
  const clusters = existsSync(clustersPath) ? await readClusterSizes(clustersPath) : undefined;
  const html = renderReport({ manifest, clusters }, await loadReportAssets());
  const outPath = resolve(dir, 'report.html');
  // Write then rename: a viewer never sees half a page.
  // The temporary name is per process: two runs finishing on one directory never share it.
  const temp = tempPath(outPath);
  await writeFile(temp, html);
  await rename(temp, outPath);
  return outPath;
}
