/**
 * The report opened for real: headless Debian Chromium driven by playwright-core loads the
 * file:// page with no network; there must be no console error, no request leaving the
 * file, and every plot container must hold a uPlot canvas of non-zero size with something
 * drawn on it. Saves test-artifacts/report.png for a human to look at. Under CI=true a
 * missing Chromium fails; locally the test is skipped and says why.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_SOURCE, makeRuns, repoRoot, type Runs } from './runs.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true' || process.env.CI === '1';

if (!haveChromium && inCi) {
  describe('report in a browser', () => {
    it('needs Chromium', () => {
      throw new Error(`${CHROMIUM} not found: .ci/run installs the Debian package "chromium"; the report's browser test cannot run`);
    });
  });
}

describe.skipIf(!haveChromium)(`report in a browser${haveChromium ? '' : ` (skipped: ${CHROMIUM} not found; apt-get install chromium)`}`, () => {
  let runs: Runs;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    runs = await makeRuns({ dedup: true });
    profile = mkdtempSync(join(tmpdir(), 'tokenmix-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
    });
  });
  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (runs) rmSync(runs.root, { recursive: true, force: true });
  });

  /** Open a run's report; collect console errors, page errors, dialogs and any non-file request. */
  async function open(dir: string): Promise<{ page: Page; problems: string[] }> {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', (d) => problems.push(`dialog: ${d.message()}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) problems.push(`request: ${r.url()}`);
    });
    await page.goto(pathToFileURL(join(dir, 'report.html')).href);
    await page.waitForSelector('html[data-plots-ready]', { timeout: 10_000 });
    return { page, problems };
  }

  /** Per plot container: its canvas size and how many canvas pixels are not blank. */
  async function plotCanvases(page: Page) {
    return page.$$eval('[data-testid^="plot-"]', (containers) =>
      containers.map((el) => {
        const canvas = el.querySelector('.uplot canvas') as HTMLCanvasElement | null;
        let inked = 0;
        if (canvas && canvas.width > 0 && canvas.height > 0) {
          const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) inked++;
        }
        const box = canvas?.getBoundingClientRect();
        return { id: el.getAttribute('data-testid'), width: box?.width ?? 0, height: box?.height ?? 0, inked };
      }),
    );
  }

  it('renders every plot of the mix report, offline and without errors; screenshot in test-artifacts/report.png', async () => {
    const { page, problems } = await open(runs.mix);
    const plots = await plotCanvases(page);
    expect(plots.map((p) => p.id)).toEqual([
      'plot-funnel-docs', 'plot-funnel-tokens', 'plot-score-0', 'plot-score-1', 'plot-score-2',
      'plot-weights', 'plot-losses', 'plot-repetition', 'plot-contamination', 'plot-sweep',
    ]);
    for (const p of plots) {
      expect(p.width, p.id!).toBeGreaterThan(200);
      expect(p.height, p.id!).toBeGreaterThan(100);
      expect(p.inked, `${p.id} has nothing drawn`).toBeGreaterThan(1000);
    }
    expect(await page.getAttribute('html', 'data-plots-ready')).toBe(String(plots.length));
    mkdirSync(join(repoRoot, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(repoRoot, 'test-artifacts', 'report.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('fits its tables in an 800 px wide window (no table or page scrolls sideways)', async () => {
    const { page, problems } = await open(runs.mix);
    await page.setViewportSize({ width: 800, height: 900 });
    const overflow = await page.$$eval('table', (tables) =>
      tables.filter((t) => t.scrollWidth > t.parentElement!.clientWidth + 1).map((t) => `${t.dataset.testid}: ${t.scrollWidth} > ${t.parentElement!.clientWidth}`),
    );
    expect(overflow).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('renders the dedup report: cluster sizes and S-curve', async () => {
    const { page, problems } = await open(runs.dedup);
    const plots = await plotCanvases(page);
    expect(plots.map((p) => p.id)).toEqual(['plot-funnel-docs', 'plot-funnel-tokens', 'plot-clusters', 'plot-lsh-scurve', 'plot-cluster-rule']);
    for (const p of plots) expect(p.inked, `${p.id} has nothing drawn`).toBeGreaterThan(1000);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows hostile names as text and runs none of them', async () => {
    const { writeReport } = await import('../../src/report/index.js');
    await writeReport(runs.hostile);
    const { page, problems } = await open(runs.hostile);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('[data-testid="table-weights"]').textContent()).toContain(HOSTILE_SOURCE);
    expect((await plotCanvases(page)).every((p) => p.inked > 1000)).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });
});
