/**
 * The Effective Token Distribution Explorer (seed 002, §04; SPEC §7 "the same engine runs in
 * a browser page"). The page holds one `ExploreSession` (records in memory, kernels on WebGPU
 * or their CPU oracles) and one `ExploreSettings`; every control edit turns the settings into
 * the run config `tokenmix mix` would take, parses it with the CLI's parsers and re-runs.
 * Runs are coalesced: while one runs, further edits collapse into one more run.
 */
import { GpuUnavailableError } from '../src/errors.js';
import { createTokenizer } from '../src/text/load.js';
import type { Tokenizer } from '../src/text/tokenizer.js';
import { WordsTokenizer } from '../src/text/words.js';
import {
  configFromSettings,
  ExploreCorpus,
  ExploreSession,
  parseExploreConfig,
  settingsFromConfig,
  type ExploreEvalSet,
  type ExploreSettings,
} from '../src/explore/index.js';
import { acquireBackend, cpuBackend, type PageBackend } from './backend.js';
import { renderControls } from './controls.js';
import { evalSetsFromFiles, loadToy, mapAndRead, TOY_CONFIGS, TOY_EVALS, type LoadedData } from './data.js';
import { renderResult } from './results.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface PageState {
  engine: PageBackend;
  data: LoadedData;
  evals: ExploreEvalSet[];
  /** Eval sets the user picked (kept across dropped files), with the file of each. */
  userEvals: { sets: ExploreEvalSet[]; files: Record<string, string> } | null;
  tokenizer: Tokenizer;
  session: ExploreSession;
  settings: ExploreSettings;
  scoreRange: { min: number; max: number } | null;
}

let state: PageState | null = null;
let running = false;
let dirty = false;

function setStatus(busy: boolean, text: string): void {
  const status = $('status');
  status.dataset.state = busy ? 'busy' : 'ready';
  status.textContent = text;
}

function showError(message: string | null): void {
  const box = $('error');
  box.hidden = message === null;
  box.textContent = message ?? '';
  $('results').classList.toggle('stale', message !== null);
}

function showEngine(engine: PageBackend): void {
  const line = $('adapter');
  line.textContent = engine.line;
  line.title = engine.detail;
  line.classList.remove('pending');
  line.classList.toggle('cpu', engine.backend.kind === 'cpu');
}

/** Score range for the threshold sliders: the data's, widened to whole units (0..1 for the toy). */
function scoreRange(data: LoadedData): PageState['scoreRange'] {
  const field = data.fields.quality;
  if (!field) return null;
  let min = Infinity;
  let max = -Infinity;
  for (const r of data.records) {
    const s = r.scores?.[field];
    if (s === undefined) continue;
    min = Math.min(min, s);
    max = Math.max(max, s);
  }
  if (!(min <= max)) return null;
  return { min: Math.min(0, Math.floor(min)), max: Math.max(1, Math.ceil(max)) };
}

function buildSession(engine: PageBackend, data: LoadedData, evals: ExploreEvalSet[], tokenizer: Tokenizer): ExploreSession {
  return new ExploreSession(new ExploreCorpus(data.records, evals, tokenizer), engine.backend);
}

/** Settings for freshly loaded data: the toy starts on the seed's baseline; other data on equal weights. */
function initialSettings(data: LoadedData, session: ExploreSession, evals: ExploreEvalSet[]): ExploreSettings {
  const sources = session.corpus.sources;
  const input = { name: data.name, ...(data.inputSource ? { source: data.inputSource } : {}) };
  if (isToy(data) && evals === TOY_EVALS) return settingsFromConfig(parseExploreConfig(TOY_CONFIGS.baseline), sources, input);
  const equal = Object.fromEntries(sources.map((s) => [s, 1]));
  const tokens = session.corpus.tokenCounts.reduce((a, b) => a + b, 0);
  return {
    fields: data.fields,
    inputName: input.name,
    ...(input.source ? { inputSource: input.source } : {}),
    evalNames: evals.map((e) => e.name),
    weights: { ...equal },
    thresholds: Object.fromEntries(sources.map((s) => [s, null])),
    exactDedup: false,
    near: { enabled: false, threshold: 0.8, ngram: 5, numHashes: 128 },
    anneal: { fraction: 0, weights: { ...equal } },
    budgetTokens: Math.max(1, tokens),
    contamination: { ngram: 8, min_overlap: 1, action: 'keep' },
    seed: 0,
    quarantine: data.problems.length > 0,
  };
}

interface InstallOptions {
  settings?: ExploreSettings;
  userEvals?: PageState['userEvals'];
  tokenizer?: Tokenizer;
}

/** The toy's eval sets with the toy; with the user's data, the user's (none until picked). */
function evalsFor(data: LoadedData, userEvals: PageState['userEvals']): ExploreEvalSet[] {
  if (userEvals) return userEvals.sets;
  return isToy(data) ? TOY_EVALS : [];
}

function isToy(data: LoadedData): boolean {
  return toyData === data;
}

let toyData: LoadedData | null = null;

function install(engine: PageBackend, data: LoadedData, options: InstallOptions = {}): void {
  const userEvals = options.userEvals === undefined ? (state?.userEvals ?? null) : options.userEvals;
  const tokenizer = options.tokenizer ?? state?.tokenizer ?? new WordsTokenizer();
  const evals = evalsFor(data, userEvals);
  const session = buildSession(engine, data, evals, tokenizer);
  const chosen = options.settings ?? initialSettings(data, session, evals);
  chosen.evalNames = evals.map((e) => e.name);
  chosen.evalFiles = userEvals ? { ...userEvals.files } : undefined;
  chosen.tokenizer = tokenizer.name === 'words' ? undefined : tokenizer.name;
  state = { engine, data, evals, userEvals, tokenizer, session, settings: chosen, scoreRange: scoreRange(data) };
  const problems = data.problems.length > 0 ? `, ${data.problems.length} set aside (${data.problems[0].message}${data.problems.length > 1 ? ', …' : ''})` : '';
  const evalText = evals.length > 0 ? `eval sets: ${evals.map((e) => e.name).join(', ')}` : 'no eval sets yet: pick yours with "Eval sets…"';
  $('data-summary').textContent = `${data.name}: ${data.records.length} records from ${session.corpus.sources.length} source${session.corpus.sources.length === 1 ? '' : 's'}${problems}; ${evalText}; tokenizer ${tokenizer.name}.`;
  renderControls(state.settings, { sources: session.corpus.sources, scoreRange: state.scoreRange, changed, setTokenizer: (name) => void setTokenizer(name) });
  changed();
}

/** Re-tokenize the corpus with another tokenizer (BPE ranks load on first use). */
async function setTokenizer(name: string): Promise<void> {
  if (!state || state.tokenizer.name === name) return;
  const current = state;
  try {
    setStatus(true, `loading the ${name} tokenizer…`);
    const tokenizer = await createTokenizer(name);
    install(current.engine, current.data, { settings: current.settings, tokenizer });
  } catch (error) {
    showError((error as Error).message);
    setStatus(false, 'up to date');
  }
}

function changed(): void {
  dirty = true;
  if (!running) void runLoop();
}

async function runLoop(): Promise<void> {
  running = true;
  setStatus(true, 'computing…');
  while (dirty && state) {
    dirty = false;
    const current = state;
    try {
      const raw = configFromSettings(current.settings);
      const result = await current.session.run(parseExploreConfig(raw));
      if (state !== current) continue;
      renderResult(result, {
        backendLabel: current.engine.backend.kind === 'gpu' ? 'kernels on WebGPU' : 'kernels on the CPU',
        rawConfig: raw,
        decode: current.tokenizer.decode?.bind(current.tokenizer),
      });
      showError(null);
    } catch (error) {
      if (error instanceof GpuUnavailableError && current.engine.backend.kind === 'gpu') {
        // The device was lost or a kernel failed: say so and carry on with the CPU oracles.
        const engine = cpuBackend(`the GPU failed during a run (${error.message.replace(/^tokenmix: /, '')})`);
        showEngine(engine);
        install(engine, current.data, { settings: current.settings });
        continue;
      }
      showError((error as Error).message);
    }
  }
  running = false;
  setStatus(false, 'up to date');
}

function applyPreset(name: 'baseline' | 'curated_late'): void {
  if (!state) return;
  if (!isToy(state.data) || state.evals !== TOY_EVALS) {
    showError('The presets are the seed toy\'s scenarios: go back to the toy corpus first.');
    return;
  }
  const settings = settingsFromConfig(parseExploreConfig(TOY_CONFIGS[name]), state.session.corpus.sources, { name: 'corpus.jsonl' });
  // The seed's scenarios are defined on the words tokenizer.
  install(state.engine, state.data, { settings, tokenizer: new WordsTokenizer() });
}

async function loadFile(file: File): Promise<void> {
  if (!state) return;
  const current = state;
  try {
    setStatus(true, `reading ${file.name}…`);
    const data = await mapAndRead($('mapping') as HTMLFormElement, file.name, new Uint8Array(await file.arrayBuffer()));
    if (data.records.length === 0) throw new Error(`${file.name}: no valid records with this mapping${data.problems[0] ? ` (first problem: ${data.problems[0].message})` : ''}`);
    install(current.engine, data);
  } catch (error) {
    if ((error as Error).message !== 'cancelled') showError((error as Error).message);
    setStatus(false, 'up to date');
  }
}

function wireDataPanel(): void {
  // The mapping form is never submitted for real: a submit would reload the page and lose the data.
  $('mapping').addEventListener('submit', (event) => event.preventDefault());
  const zone = $('dropzone');
  const fileInput = $('file-input') as HTMLInputElement;
  fileInput.addEventListener('change', () => {
    if (fileInput.files?.[0]) void loadFile(fileInput.files[0]);
    fileInput.value = '';
  });
  for (const target of [document.body, zone]) {
    target.addEventListener('dragover', (event) => {
      event.preventDefault();
      zone.classList.add('over');
    });
    target.addEventListener('dragleave', () => zone.classList.remove('over'));
    target.addEventListener('drop', (event) => {
      event.preventDefault();
      event.stopPropagation();
      zone.classList.remove('over');
      const file = event.dataTransfer?.files[0];
      if (file) void loadFile(file);
    });
  }
  const evalInput = $('eval-input') as HTMLInputElement;
  evalInput.addEventListener('change', async () => {
    if (!state || !evalInput.files?.length) return;
    try {
      const userEvals = await evalSetsFromFiles(evalInput.files);
      install(state.engine, state.data, { settings: state.settings, userEvals });
    } catch (error) {
      showError((error as Error).message);
    }
    evalInput.value = '';
  });
  $('reset-data').addEventListener('click', async () => {
    if (state) install(state.engine, await loadToyData(), { userEvals: null });
  });
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-preset]')) {
    button.addEventListener('click', () => applyPreset(button.dataset.preset as 'baseline' | 'curated_late'));
  }
}

async function start(): Promise<void> {
  wireDataPanel();
  setStatus(true, 'looking for a WebGPU adapter and checking its kernels…');
  const engine = await acquireBackend();
  showEngine(engine);
  install(engine, await loadToyData(), { userEvals: null });
}

async function loadToyData(): Promise<LoadedData> {
  toyData = await loadToy();
  return toyData;
}

start().catch((error: unknown) => {
  showError(`The explorer could not start: ${(error as Error).message}`);
  setStatus(false, 'failed');
});
