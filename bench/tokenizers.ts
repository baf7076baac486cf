/**
 * `npm run bench:tokenizers`: BPE encoding speed of tokenmix's merge loop (src/text/
 * tiktoken-bpe.ts), the WASM build of OpenAI's tiktoken (npm `tiktoken`, the reference) and
 * Hugging Face's tokenizers.js (`@huggingface/tokenizers`, run on a tokenizer.json built here
 * from the bundled ranks: bench/tiktoken-to-hf.ts), on the same real text
 * (../shared/data/licenses-npm, 10.5 MB), in one run, with the number of documents whose ids
 * differ from the reference (must be 0 for a candidate). Results: bench/results/tokenizers-*.json.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decompress } from 'fzstd';
import { createTokenizer } from '../src/text/index.js';
import { huggingFaceTokenizer } from '../src/text/huggingface.js';
import { loadTiktokenRanks } from '../src/text/tiktoken.js';
import { machineInfo, printMachine, writeResults } from './common.js';
import { tiktokenToHuggingFaceJson } from './tiktoken-to-hf.js';

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

/** An encoder under test: `count` is what is timed, `ids` what is compared with the reference's. */
interface Candidate {
  engine: string;
  isReference: boolean;
  count(text: string): number;
  ids(text: string): ArrayLike<number>;
}

function sameIds(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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
    let started = performance.now();
    const huggingFace = await huggingFaceTokenizer(tiktokenToHuggingFaceJson(await loadTiktokenRanks(name)), { name, where: `${name} (built from tiktoken ranks)` });
    const huggingFaceSetupMs = performance.now() - started;
    const candidates: Candidate[] = [
      { engine: 'tokenmix', isReference: false, count: (text) => ours.count(text), ids: (text) => ours.encode!(text) },
      { engine: 'tiktoken (WASM)', isReference: true, count: (text) => reference.encode_ordinary(text).length, ids: (text) => reference.encode_ordinary(text) },
      { engine: 'tokenizers.js', isReference: false, count: (text) => huggingFace.count(text), ids: (text) => huggingFace.encode(text) },
    ];
    const engines = [];
    for (const candidate of candidates) {
      // Warm-up (memo tables, JIT, WASM instantiation), then one timed pass.
      for (const text of texts.slice(0, 200)) candidate.count(text);
      started = performance.now();
      for (const text of texts) candidate.count(text);
      const mbps = megabytes / ((performance.now() - started) / 1000);
      let differing = 0;
      if (!candidate.isReference) for (const text of texts) if (!sameIds(candidate.ids(text), reference.encode_ordinary(text))) differing++;
      engines.push({ engine: candidate.engine, isReference: candidate.isReference, mbps, differingDocuments: differing });
    }
    reference.free();
    const [tokenmix, tiktokenWasm, tokenizersJs] = engines;
    rows.push({
      tokenizer: name,
      megabytes,
      documents: texts.length,
      oursMBps: tokenmix.mbps,
      tiktokenWasmMBps: tiktokenWasm.mbps,
      huggingFaceMBps: tokenizersJs.mbps,
      differingDocuments: tokenmix.differingDocuments,
      huggingFaceDifferingDocuments: tokenizersJs.differingDocuments,
      huggingFaceSetupMs,
    });
    console.log(`\n${name} (${megabytes.toFixed(1)} MB, ${texts.length} documents; tokenizers.js setup: tokenizer.json built and loaded in ${(huggingFaceSetupMs / 1000).toFixed(1)} s)`);
    console.log('| engine | MB/s | vs tiktoken (WASM) | documents with different ids |');
    console.log('|---|---|---|---|');
    for (const { engine, isReference, mbps, differingDocuments } of engines) {
      const differs = isReference ? 'reference' : `${differingDocuments} of ${texts.length}`;
      console.log(`| ${engine} | ${mbps.toFixed(2)} | ${(mbps / tiktokenWasm.mbps).toFixed(2)}× | ${differs} |`);
    }
  }
  console.log(`\nresults: ${writeResults('tokenizers', { machine: info, rows })}`);
}

await main();
