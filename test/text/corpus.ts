/**
 * The real licenses-npm corpus shared beside the repository (`../shared/data`, see its
 * README). Tests that need it skip, saying why, when it is absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decompress } from 'fzstd';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const fixturesDir = resolve(repoRoot, 'fixtures/tokenizers');
export const corpusPath = resolve(repoRoot, '../shared/data/licenses-npm/corpus.jsonl.zst');

export interface CorpusDoc {
  id: string;
  text: string;
}

let cached: CorpusDoc[] | null | undefined;

/** All documents, or null (with a warning naming the path) when the shared data is missing. */
export function licensesCorpus(): CorpusDoc[] | null {
  if (cached !== undefined) return cached;
  if (!existsSync(corpusPath)) {
    console.warn(`skipping real-corpus checks: ${corpusPath} not found (shared data lives beside the repo)`);
    cached = null;
    return cached;
  }
  const jsonl = new TextDecoder().decode(decompress(readFileSync(corpusPath)));
  cached = jsonl
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const doc = JSON.parse(line) as CorpusDoc;
      return { id: doc.id, text: doc.text };
    });
  return cached;
}

/** About `bytes` of corpus text (whole documents, in corpus order) joined by blank lines. */
export function corpusSample(docs: CorpusDoc[], bytes: number): string {
  const parts: string[] = [];
  let length = 0;
  for (const doc of docs) {
    if (length >= bytes) break;
    parts.push(doc.text);
    length += doc.text.length;
  }
  return parts.join('\n\n');
}
