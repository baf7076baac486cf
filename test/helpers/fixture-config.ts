/**
 * fixtures/corpus/mix.json with absolute input and eval paths, changed by the caller and
 * written to `dir` (tests that need a variant of the fixture mix run: other tokenizer, budget,
 * materialize format, ...). Returns the written config's path.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURE_CORPUS = new URL('../../fixtures/corpus/', import.meta.url).pathname;

export function fixtureMixConfig(dir: string, name: string, change: (config: Record<string, any>) => void): string {
  const config = JSON.parse(readFileSync(join(FIXTURE_CORPUS, 'mix.json'), 'utf8'));
  config.inputs = config.inputs.map((input: { path: string }) => ({ ...input, path: join(FIXTURE_CORPUS, input.path) }));
  config.evals = Object.fromEntries(Object.entries(config.evals as Record<string, string>).map(([k, v]) => [k, join(FIXTURE_CORPUS, v)]));
  change(config);
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(config));
  return path;
}
