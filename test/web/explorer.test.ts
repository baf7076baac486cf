/**
 * The explorer in a real browser: Debian's Chromium (headless) driven by playwright-core,
 * serving the static build (`npm run build:web`) from 127.0.0.1.
 *
 *  1. With --enable-unsafe-webgpu: the adapter line names the GPU (SwiftShader here); the
 *     initial figures are the seed baseline's, equal to `tokenmix mix` on
 *     fixtures/toy/configs/baseline.json; moving the web weight and the edu threshold gives the
 *     numbers `tokenmix mix` gives for the equivalent config; a dropped JSONL with bad records
 *     gives the CLI's numbers for the config the page shows.
 *  2. Without WebGPU (--disable-gpu): the page says "CPU fallback" and shows the same numbers;
 *     the seed's "curated + late" preset shows `tokenmix mix` on curated_late.json.
 * Screenshots go to test-artifacts/. Under CI=true a missing Chromium fails; locally it skips.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { mix, type MixManifest } from '../../src/pipeline/mix.js';

const CHROMIUM = '/usr/bin/chromium';
const CI = process.env.CI === 'true' || process.env.CI === '1';
const available = existsSync(CHROMIUM);
if (!available && CI) throw new Error(`CI requires Chromium at ${CHROMIUM} for the explorer tests (.ci/run installs the Debian package "chromium")`);
if (!available) console.warn(`[tokenmix tests] explorer browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

const repo = new URL('../../', import.meta.url).pathname;
const toy = join(repo, 'fixtures/toy');
const artifacts = join(repo, 'test-artifacts');
const work = mkdtempSync(join(tmpdir(), 'tokenmix-web-'));
const BASE_ARGS = ['--headless=new', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];
const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml' };

let server: Server;
let origin = '';
let baseline: MixManifest;
let moved: MixManifest;
let curatedLate: MixManifest;

/** A static server for dist-web on a random port of 127.0.0.1 (a secure context for WebGPU). */
function serve(root: string): Promise<Server> {
  const s = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(root + sep) || !existsSync(file)) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}

const TOY_EVAL_FILES = Object.fromEntries(['code', 'general', 'math'].map((name) => [name, join(toy, `evals/${name}.txt`)]));

/** `tokenmix mix` (CPU) on `raw`, with inputs and evals pointed at real files (the toy's by default). */
async function cli(raw: Record<string, unknown>, tag: string, input: string, evals: Record<string, string> = TOY_EVAL_FILES): Promise<MixManifest> {
  const config = {
    ...raw,
    inputs: [{ ...(raw.inputs as object[])[0], path: input }],
    evals,
  };
  const path = join(work, `${tag}.json`);
  writeFileSync(path, JSON.stringify(config));
  const result = await mix({ configPath: path, outDir: join(work, tag), backend: { kind: 'cpu', reason: 'test' } });
  if (result.status !== 'complete') throw new Error('mix did not complete');
  return result.manifest;
}

const round15 = (x: number) => Number(x.toPrecision(15));

async function launch(webgpu: boolean): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const args = [...BASE_ARGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : ['--disable-gpu'])];
  const context = await chromium.launchPersistentContext(mkdtempSync(join(work, 'profile-')), { executablePath: CHROMIUM, headless: true, args, viewport: { width: 1400, height: 1000 } });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return { context, page, errors };
}

/** Wait until no run is pending and `check(config)` holds for the config the page shows. */
async function settled(page: Page, check = 'true'): Promise<void> {
  await page.waitForFunction(
    `(() => { const s = document.querySelector('[data-testid=status]'); const c = document.querySelector('[data-testid=config-json]');
      if (!s || s.dataset.state !== 'ready' || !c || !c.textContent) return false; const config = JSON.parse(c.textContent); return ${check}; })()`,
    undefined,
    { timeout: 20_000 },
  );
}

async function figure(page: Page, testId: string): Promise<{ value: number; text: string }> {
  const el = page.locator(`[data-testid="${testId}"]`);
  return { value: Number(await el.getAttribute('data-value')), text: (await el.textContent()) ?? '' };
}

/** The page's figures equal the manifest's: exact after its 15-digit rounding; the text is the number to 6 digits. */
async function expectFigures(page: Page, manifest: MixManifest): Promise<void> {
  const d = manifest.diagnostics;
  const expected: [string, number][] = [
    ...Object.entries(d.losses).map(([name, v]) => [`loss-${name}`, v] as [string, number]),
    ['contamination-mass', d.contamination_mass],
    ['objective', d.objective],
    ...Object.entries(d.repetition_pressure).map(([name, v]) => [`repetition-${name}`, v] as [string, number]),
    ...Object.entries(d.retained_tokens).map(([name, v]) => [`retained-tokens-${name}`, v] as [string, number]),
  ];
  for (const [testId, value] of expected) {
    const shown = await figure(page, testId);
    expect(round15(shown.value), testId).toBe(value);
    expect(Number(shown.text), `${testId} text`).toBe(Number(value.toPrecision(6)));
  }
}

async function press(page: Page, testId: string, key: string, times: number): Promise<void> {
  const el = page.locator(`[data-testid="${testId}"]`);
  await el.focus();
  for (let i = 0; i < times; i++) await el.press(key);
}

/** Move the web weight 0.70 → 0.50 and the edu threshold off → 0.60 with the keyboard. */
async function moveControls(page: Page): Promise<void> {
  await press(page, 'weight-web', 'ArrowLeft', 20);
  await press(page, 'threshold-edu', 'ArrowRight', 60);
  expect(await page.locator('[data-testid="weight-web"]').inputValue()).toBe('0.5');
  expect(await page.locator('[data-testid="threshold-edu"]').inputValue()).toBe('0.6');
  await settled(page, 'config.schedule[0].weights.web === 0.5 && config.filters?.quality?.thresholds?.edu === 0.6');
}

describe.skipIf(!available)('explorer in Chromium', () => {
  beforeAll(async () => {
    execFileSync('npm', ['run', 'build:web'], { cwd: repo, stdio: 'pipe' });
    server = await serve(join(repo, 'dist-web'));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    mkdirSync(artifacts, { recursive: true });
    const raw = JSON.parse(readFileSync(join(toy, 'configs/baseline.json'), 'utf8'));
    baseline = await cli(raw, 'baseline', join(toy, 'corpus.jsonl'));
    const changed = structuredClone(raw);
    changed.schedule[0].weights.web = 0.5;
    changed.filters = { quality: { field: 'quality', thresholds: { edu: 0.6 } } };
    moved = await cli(changed, 'moved', join(toy, 'corpus.jsonl'));
    curatedLate = await cli(JSON.parse(readFileSync(join(toy, 'configs/curated_late.json'), 'utf8')), 'curated_late', join(toy, 'corpus.jsonl'));
  });
  afterAll(() => {
    server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('WebGPU: adapter line, baseline numbers, moved controls, a dropped file — all equal to tokenmix mix', async () => {
    const { context, page, errors } = await launch(true);
    try {
      await page.goto(`${origin}/`);
      await settled(page);
      const adapter = (await page.locator('[data-testid="adapter"]').textContent()) ?? '';
      expect(adapter).toMatch(/^gpu: /);
      expect(adapter.toLowerCase()).toContain('swiftshader');
      await expectFigures(page, baseline);
      expect(JSON.parse(await page.locator('#plot').getAttribute('data-tokens') ?? '[]')).toEqual(baseline.diagnostics.top_tokens.slice(0, 8).map((t) => t.token));

      await moveControls(page);
      await expectFigures(page, moved);
      await page.screenshot({ path: join(artifacts, 'explorer-gpu.png'), fullPage: true });

      // Drop a JSONL with bad records: the mapping form shows, then hides once loaded.
      const dropped = join(repo, 'fixtures/corpus/web-extra.jsonl');
      await page.locator('#file-input').setInputFiles(dropped);
      const mapping = page.locator('[data-testid="mapping"]');
      await expect.poll(() => mapping.isVisible()).toBe(true);
      await page.locator('[data-testid="map-load"]').click();
      await expect.poll(() => mapping.isVisible()).toBe(false);
      await page.waitForFunction(() => document.querySelector('[data-testid=status]')?.getAttribute('data-state') === 'ready');
      // The user's data gets the user's eval sets, not the toy's: none until picked.
      expect(await page.locator('#data-summary').textContent()).toContain('41 records');
      expect(await page.locator('#data-summary').textContent()).toContain('no eval sets yet');
      expect(await page.locator('#error').textContent()).toContain('Eval sets…');
      // Submitting the (hidden) mapping form again must not reload the page and lose the data.
      await mapping.evaluate((form: HTMLFormElement) => form.requestSubmit());
      await page.waitForTimeout(300);
      expect(await page.locator('#data-summary').textContent()).toContain('web-extra.jsonl: 41 records');

      // Eval sets as the CLI takes them: a .txt and a .jsonl (one {"text"} per line).
      const evalDir = mkdtempSync(join(work, 'evals-'));
      const general = join(evalDir, 'general.txt');
      writeFileSync(general, readFileSync(join(toy, 'evals/general.txt')));
      const code = join(evalDir, 'code.jsonl');
      writeFileSync(code, readFileSync(join(toy, 'evals/code.txt'), 'utf8').split('\n').filter((l) => l.trim()).map((text) => `${JSON.stringify({ text })}\n`).join(''));
      await page.locator('[data-testid="eval-input"]').setInputFiles([general, code]);
      await settled(page, "config.inputs[0].path === 'web-extra.jsonl' && Object.keys(config.evals).join() === 'general,code'");
      let shown = JSON.parse((await page.locator('[data-testid="config-json"]').textContent())!);
      expect(shown.on_error).toBe('quarantine');
      expect(shown.evals).toEqual({ general: 'evals/general.txt', code: 'evals/code.jsonl' });
      await expectFigures(page, await cli(shown, 'dropped', dropped, { general, code }));

      // The contamination n-gram and the tokenizer are controls too; the CLI agrees on both.
      await page.locator('[data-testid="contamination-ngram"]').fill('5');
      await page.locator('[data-testid="contamination-action"]').selectOption('drop');
      await settled(page, "config.contamination?.ngram === 5 && config.contamination?.action === 'drop'");
      shown = JSON.parse((await page.locator('[data-testid="config-json"]').textContent())!);
      await expectFigures(page, await cli(shown, 'ngram', dropped, { general, code }));
      await page.locator('[data-testid="tokenizer"]').selectOption('cl100k_base');
      await settled(page, "config.tokenizer === 'cl100k_base'");
      shown = JSON.parse((await page.locator('[data-testid="config-json"]').textContent())!);
      await expectFigures(page, await cli(shown, 'bpe', dropped, { general, code }));
      // Its top tokens are shown as text (decoded ids, as the CLI's manifest decodes them), not as ids.
      const bpe = await cli(shown, 'bpe-top', dropped, { general, code });
      const labels: string[] = JSON.parse((await page.locator('#plot').getAttribute('data-tokens')) ?? '[]');
      expect(labels.slice(0, 3)).toEqual(bpe.diagnostics.top_tokens.slice(0, 3).map((t) => JSON.stringify((t as { text?: string }).text)));
      expect(await page.locator('#data-summary').textContent()).toContain('41 records from 1 source,');
      await page.screenshot({ path: join(artifacts, 'explorer-own-data.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('without WebGPU: "CPU fallback" and the same numbers', async () => {
    const { context, page, errors } = await launch(false);
    try {
      await page.goto(`${origin}/`);
      await settled(page);
      expect(await page.locator('[data-testid="adapter"]').textContent()).toMatch(/^CPU fallback: /);
      await expectFigures(page, baseline);
      await moveControls(page);
      await expectFigures(page, moved);
      await page.screenshot({ path: join(artifacts, 'explorer-cpu.png'), fullPage: true });
      // The seed's second scenario (thresholds, exact dedup, late anneal) from its preset button.
      await page.locator('[data-preset="curated_late"]').click();
      await settled(page, 'config.schedule.length === 2 && config.dedup?.exact === true');
      await expectFigures(page, curatedLate);
      await page.locator('#config-card summary').click();
      await page.screenshot({ path: join(artifacts, 'explorer-cpu-curated-late.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
