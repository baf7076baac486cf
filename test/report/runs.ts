/**
 * Real run directories for the report tests, made by the CLI on the fixture corpus
 * (fixtures/corpus, see its generate.ts) on the CPU backend: a mix run (which writes its
 * report itself), a curate run with --no-report, a dedup run, and a "hostile" copy of the
 * mix manifest whose names try to break out of the page.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const corpus = join(repoRoot, 'fixtures', 'corpus');

export function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), interactive: false };
}

export async function run(args: string[]): Promise<string[]> {
  const io = capture();
  const code = await main(args, io);
  if (code !== 0) throw new Error(`tokenmix ${args.join(' ')} exited ${code}: ${io.stderr.join('\n')}`);
  return io.stdout;
}

/** A source name, an eval name and a token that would each break a page that did not escape them. */
export const HOSTILE_SOURCE = '<script>window.__pwned = 1</script>';
export const HOSTILE_TOKEN = '</script><img src=x onerror="window.__pwned = 2">';

/** Rename source "web" (and the eval set "web") and the token "the" throughout a manifest's JSON. */
export function hostileManifest(mixManifest: string): string {
  return mixManifest.replaceAll('"web"', JSON.stringify(HOSTILE_SOURCE)).replaceAll('"token": "the"', `"token": ${JSON.stringify(HOSTILE_TOKEN)}`);
}

export interface Runs {
  root: string;
  mix: string;
  /** stdout of the mix command. */
  mixStdout: string[];
  curate: string;
  dedup: string;
  hostile: string;
}

export async function makeRuns(what: { curate?: boolean; dedup?: boolean } = {}): Promise<Runs> {
  const root = mkdtempSync(join(tmpdir(), 'tokenmix-report-'));
  const runs: Runs = { root, mix: join(root, 'mix'), mixStdout: [], curate: join(root, 'curate'), dedup: join(root, 'dedup'), hostile: join(root, 'hostile') };
  runs.mixStdout = await run(['mix', '--config', join(corpus, 'mix.json'), '--out', runs.mix, '--backend', 'cpu']);
  if (what.curate) await run(['curate', '--config', join(corpus, 'curate.json'), '--out', runs.curate, '--backend', 'cpu', '--no-report']);
  if (what.dedup) {
    await run(['dedup', '--input', join(corpus, 'web.jsonl.zst'), '--input', join(corpus, 'web-extra.jsonl'), '--source', 'web', '--on-error', 'quarantine', '--out', runs.dedup, '--backend', 'cpu']);
    await run(['report', runs.dedup]);
  }
  mkdirSync(runs.hostile);
  writeFileSync(join(runs.hostile, 'manifest.json'), hostileManifest(readFileSync(join(runs.mix, 'manifest.json'), 'utf8')));
  return runs;
}
