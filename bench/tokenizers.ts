/**
 * `npm run bench:tokenizers`: BPE encoding speed of tokenmix's merge loop (src/text/
 * tiktoken-bpe.ts) against the WASM build of OpenAI's tiktoken (npm `tiktoken`, the reference),
 * on the same real text (../shared/data/licenses-npm, 10.5 MB), in one run, with the number of
 * documents whose ids differ (must be 0). Results: bench/results/tokenizers-*.json.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decompress } from 'fzstd';
import { createTokenizer } from '../src/text/index.js';
import { machineInfo, printMachine, writeResults } from './common.js';

const { get_encoding } = createRequire(import.meta.url)('tiktoken') as typeof import('tiktoken');

function corpusTexts(): string[] {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!readFileSafe(join(dir, 'package.json'))) dir = dirname(dir);
  const bytes = decompress(readFileSync(join(dir, '../shared/data/licenses-npm/corpus.jsonl.zst')));
  return new TextDecoder().decode(bytes).split('\n').filter((l) => l.trim() !== '').map((l) => (JSON.parse(l) as { text: string }).text);
}

function readFileSafe(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const info = machineInfo(null);
  printMachine(info);
  const texts = corpusTexts();
  const megabytes = texts.reduce((sum, t) => sum + Buffer.byteLength(t), 0) / 1e6;
  const rows = [];
  for (const name of ['cl100k_base', 'o200k_base'] as const) {
    const ours = await createTokenizer(name);
    const reference = get_encoding(name);
    // Warm-up (memo tables, JIT, WASM instantiation), then one timed pass each.
    for (const text of texts.slice(0, 200)) {
      ours.count(text);
      reference.encode_ordinary(text);
    }
    let started = performance.now();
    for (const text of texts) ours.count(text);
    const oursMs = performance.now() - started;
    started = performance.now();
    for (const text of texts) reference.encode_ordinary(text);
    const referenceMs = performance.now() - started;
    let differing = 0;
    for (const text of texts) {
      const a = ours.encode!(text);
      const b = reference.encode_ordinary(text);
      if (a.length !== b.length || a.some((id, i) => id !== b[i])) differing++;
    }
    reference.free();
    const row = { tokenizer: name, megabytes, oursMBps: megabytes / (oursMs / 1000), tiktokenWasmMBps: megabytes / (referenceMs / 1000), differingDocuments: differing };
    rows.push(row);
    console.log(`${name}: tokenmix ${row.oursMBps.toFixed(2)} MB/s, tiktoken (WASM) ${row.tiktokenWasmMBps.toFixed(2)} MB/s = ${(row.oursMBps / row.tiktokenWasmMBps).toFixed(2)}×; documents with different ids: ${differing} of ${texts.length}`);
  }
  console.log(`results: ${writeResults('tokenizers', { machine: info, rows })}`);
}

await main();
