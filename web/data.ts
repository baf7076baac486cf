/**
 * Where the records come from: the seed's toy corpus (fixtures/toy, bundled as text and read
 * through the same reader as a dropped file), or a JSONL / Parquet file the user drops, with
 * its fields mapped by hand. Eval sets: the toy's with the toy, else the files the user picks
 * (one domain per file, named after it; .txt, .md or .jsonl).
 */
import toyCorpus from '../fixtures/toy/corpus.jsonl?raw';
import toyGeneral from '../fixtures/toy/evals/general.txt?raw';
import toyMath from '../fixtures/toy/evals/math.txt?raw';
import toyCode from '../fixtures/toy/evals/code.txt?raw';
import baselineConfig from '../fixtures/toy/configs/baseline.json?raw';
import curatedLateConfig from '../fixtures/toy/configs/curated_late.json?raw';
import { fieldChoices, openDroppedFile, readDroppedFile, type DroppedFile, type ExploreEvalSet, type ExploreFields, type ExploreRecord } from '../src/explore/index.js';
import type { BadRecord } from '../src/io/types.js';
import { evalTextsOf } from '../src/pipeline/eval-texts.js';

export const TOY_CONFIGS: Record<'baseline' | 'curated_late', unknown> = {
  baseline: JSON.parse(baselineConfig),
  curated_late: JSON.parse(curatedLateConfig),
};

export const TOY_EVALS: ExploreEvalSet[] = [
  { name: 'general', texts: [toyGeneral] },
  { name: 'math', texts: [toyMath] },
  { name: 'code', texts: [toyCode] },
];

export interface LoadedData {
  name: string;
  records: ExploreRecord[];
  problems: BadRecord[];
  fields: ExploreFields;
  /** Source given to records that carry none (the file name), when no source field is mapped. */
  inputSource?: string;
}

/** The toy corpus, read as if it had been dropped (same reader, same validation). */
export async function loadToy(): Promise<LoadedData> {
  const fields: ExploreFields = { id: 'id', source: 'source', text: 'text', quality: 'quality' };
  const file = await openDroppedFile('corpus.jsonl', new TextEncoder().encode(toyCorpus));
  const { records, problems } = await readDroppedFile(file, { id: fields.id, source: fields.source, text: fields.text, quality: [fields.quality!] });
  return { name: 'corpus.jsonl', records, problems, fields };
}

function select(name: string, options: string[], chosen: string, extra?: string): HTMLSelectElement {
  const el = document.createElement('select');
  el.name = name;
  el.dataset.testid = `map-${name}`;
  if (extra !== undefined) el.append(new Option(extra, ''));
  for (const option of options) el.append(new Option(option, option));
  el.value = chosen;
  return el;
}

/** A guess for a role among the file's fields. */
function guess(fields: string[], names: string[]): string {
  return fields.find((f) => names.includes(f.toLowerCase())) ?? fields.find((f) => names.some((n) => f.toLowerCase().includes(n))) ?? '';
}

/**
 * Show the field-mapping form for a dropped file and resolve with its records once the user
 * confirms (or reject when they cancel).
 */
export async function mapAndRead(form: HTMLFormElement, name: string, bytes: Uint8Array): Promise<LoadedData> {
  const file: DroppedFile = await openDroppedFile(name, bytes);
  const choices = await fieldChoices(file);
  if (choices.fields.length === 0) throw new Error(`${name}: no records with fields were found`);
  const stem = name.replace(/\.(jsonl|ndjson|json|parquet)(\.(gz|zst))?$/i, '');
  const id = select('id', choices.fields, guess(choices.fields, ['id', 'doc_id', 'uuid', 'url']));
  const source = select('source', choices.fields, guess(choices.fields, ['source', 'domain', 'subset', 'dataset']), `(none: all "${stem}")`);
  const text = select('text', choices.fields, guess(choices.fields, ['text', 'content', 'body', 'document']));
  const quality = select('quality', choices.numeric, guess(choices.numeric, ['quality', 'score', 'int_score']), '(none)');
  const row = (label: string, control: HTMLElement) => {
    const l = document.createElement('label');
    l.append(`${label} `, control);
    return l;
  };
  const load = document.createElement('button');
  load.type = 'submit';
  load.textContent = 'Load';
  load.dataset.testid = 'map-load';
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.textContent = 'Cancel';
  const heading = document.createElement('p');
  heading.textContent = `${name}: ${file.format === 'parquet' ? 'Parquet' : 'JSONL'}, ${(bytes.length / 1024).toFixed(0)} KiB. Map its fields:`;
  form.replaceChildren(heading, row('id', id), row('source', source), row('text', text), row('quality', quality), load, cancel);
  form.hidden = false;
  try {
    await new Promise<void>((resolve, reject) => {
      form.onsubmit = (event) => {
        event.preventDefault();
        resolve();
      };
      cancel.onclick = () => reject(new Error('cancelled'));
    });
  } finally {
    form.hidden = true;
    // A guard that never goes away (main.ts) keeps a late click on Load from submitting the page.
    form.onsubmit = null;
  }
  const fields: ExploreFields = {
    id: id.value,
    text: text.value,
    ...(source.value ? { source: source.value } : {}),
    ...(quality.value ? { quality: quality.value } : {}),
  };
  const inputSource = source.value ? undefined : stem;
  const { records, problems } = await readDroppedFile(
    file,
    { id: fields.id, text: fields.text, ...(fields.source ? { source: fields.source } : {}), quality: fields.quality ? [fields.quality] : [] },
    inputSource ? { inputSource } : {},
  );
  return { name, records, problems, fields, ...(inputSource ? { inputSource } : {}) };
}

/** Eval sets from picked files: one domain per file, named after it (.jsonl: one {"text"} per line, as the CLI reads it). */
export async function evalSetsFromFiles(files: FileList): Promise<{ sets: ExploreEvalSet[]; files: Record<string, string> }> {
  const sets: ExploreEvalSet[] = [];
  const names: Record<string, string> = {};
  for (const file of Array.from(files)) {
    const name = file.name.replace(/\.[^.]+$/, '');
    if (Object.hasOwn(names, name)) throw new Error(`${file.name}: two eval files are named "${name}"; rename one`);
    sets.push({ name, texts: evalTextsOf(file.name, await file.text(), name) });
    names[name] = file.name;
  }
  return { sets, files: names };
}
