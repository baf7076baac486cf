/**
 * Configs over the bundled fixture corpus (fixtures/corpus/mix.json) for the mixture tests:
 * written into a temp dir with absolute input and eval paths, the slow optional parts (sweep,
 * optimize) removed unless asked for, and any key overridden.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { writeConfig } from './helpers.js';

const corpusDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'corpus');

export function fixtureMixConfig(dir: string, name: string, overrides: Record<string, unknown> = {}): string {
  const raw = JSON.parse(readFileSync(join(corpusDir, 'mix.json'), 'utf8')) as Record<string, unknown>;
  delete raw.sweep;
  delete raw.optimize;
  raw.inputs = (raw.inputs as { path: string }[]).map((input) => ({ ...input, path: join(corpusDir, input.path) }));
  raw.evals = Object.fromEntries(Object.entries(raw.evals as Record<string, string>).map(([k, v]) => [k, join(corpusDir, v)]));
  const config: Record<string, unknown> = { ...raw, ...overrides };
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete config[key];
  return writeConfig(dir, config, name);
}
