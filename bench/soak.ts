/**
 * Soak run of kill -9 / resume (issue 11; not in CI): over a seeded multi-shard corpus in
 * every input format, each cycle starts `tokenmix curate` or `tokenmix dedup` on a fresh
 * output directory, SIGKILLs it 1–3 times at seeded random moments (map phase, reduce phase,
 * while writing outputs — the delays span the whole run), sometimes with a second process
 * racing on the same directory, then lets a run finish. The final outputs must be
 * byte-identical to an uninterrupted run's, every cycle.
 *
 *   npm run bench:soak [-- --cycles 100 --seed 1 --records 600]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { syntheticRecords, writeArrow, writeJsonl, writeParquet } from '../fixtures/io/generate.js';
import { machineInfo, printMachine, writeResults } from './common.js';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    records: { type: 'string', default: '600' },
    keep: { type: 'boolean', default: false },
  },
});
const cycles = Number(values.cycles);
const recordsPerShard = Number(values.records);

let rngState = Number(values.seed) >>> 0 || 1;
/** xorshift32: every kill moment derives from --seed. */
function random(): number {
  rngState ^= rngState << 13;
  rngState >>>= 0;
  rngState ^= rngState >>> 17;
  rngState ^= rngState << 5;
  rngState >>>= 0;
  return rngState / 2 ** 32;
}

const checkout = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!readdirSync(dir).includes('package.json')) dir = dirname(dir);
  return dir;
})();
const bin = join(checkout, 'bin', 'tokenmix.js');
const work = mkdtempSync(join(tmpdir(), 'tokenmix-soak-'));

const SHARDS = ['part-0.jsonl', 'part-1.jsonl.gz', 'part-2.jsonl.zst', 'part-3.parquet', 'part-4.arrow', 'part-5.arrows', 'part-6.jsonl', 'part-7.parquet'];

async function writeCorpus(): Promise<string> {
  for (const [k, name] of SHARDS.entries()) {
    const path = join(work, name);
    const records = syntheticRecords({ seed: 500 + k, count: recordsPerShard, meanWords: 40, idPrefix: `s${k}` });
    if (name.endsWith('.jsonl')) await writeJsonl(path, records);
    else if (name.endsWith('.jsonl.gz')) await writeJsonl(path, records, { compression: 'gzip' });
    else if (name.endsWith('.jsonl.zst')) await writeJsonl(path, records, { compression: 'zstd', zstd: 'raw' });
    else if (name.endsWith('.parquet')) await writeParquet(path, records, { rowGroupRows: 250 });
    else await writeArrow(path, records, { format: name.endsWith('.arrows') ? 'stream' : 'file', batchRows: 250 });
  }
  appendFileSync(join(work, 'part-6.jsonl'), '{"id": "bad-1", "source": "web", "text": "no score"}\n{"id": "s0-5", "source": "web", "text": "a duplicate id", "quality": 0.9}\n');
  const config = join(work, 'curate.json');
  writeFileSync(
    config,
    JSON.stringify({
      inputs: ['part-*'],
      fields: { quality: 'quality' },
      filters: {
        quality: { field: 'quality', thresholds: { web: 0.2 }, top_fraction: { code: 0.7 }, histogram: { min: 0, max: 1, bins: 50 } },
        heuristics: { min_words: 2, max_words: 1000, max_duplicate_line_fraction: 0.5 },
      },
      dedup: { exact: true, keep: 'best-quality', near: { threshold: 0.8 } },
      audit: { per_reason: 10, excerpt_chars: 80 },
      batch_size: 250,
      seed: 3,
      on_error: 'quarantine',
    }),
  );
  return config;
}

type Command = 'curate' | 'dedup';

function commandArgs(command: Command, config: string, out: string): string[] {
  if (command === 'curate') return ['curate', '--config', config, '--out', out, '--backend', 'cpu', '--no-report'];
  return ['dedup', '--input', join(work, 'part-*.jsonl'), '--input', join(work, 'part-*.parquet'), '--on-error', 'quarantine', '--out', out, '--backend', 'cpu', '--no-report'];
}

interface Outcome {
  killed: boolean;
  code: number | null;
  stderr: string;
  ms: number;
}

function run(args: string[], killAfterMs: number | null): Promise<Outcome> {
  const started = performance.now();
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  let killed = false;
  const timer = killAfterMs === null ? undefined : setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) killed = child.kill('SIGKILL');
  }, killAfterMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ killed, code, stderr, ms: performance.now() - started });
    });
  });
}

/** Output files (not run.json, not work directories) → SHA-256. */
function snapshot(out: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.name.startsWith('.tokenmix') || entry.name === 'run.json') continue;
      if (entry.isDirectory()) walk(path);
      else files[relative(out, path).split(sep).join('/')] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(out);
  return files;
}

const sameSnapshot = (a: Record<string, string>, b: Record<string, string>) => JSON.stringify(a) === JSON.stringify(b);
const STACK = /^\s+at /m;

const info = machineInfo(null);
printMachine(info);
const config = await writeCorpus();
const reference: Record<Command, { snapshot: Record<string, string>; ms: number }> = {} as never;
for (const command of ['curate', 'dedup'] as const) {
  const out = join(work, `reference-${command}`);
  const outcome = await run(commandArgs(command, config, out), null);
  if (outcome.code !== 0) throw new Error(`reference ${command} failed: ${outcome.stderr}`);
  reference[command] = { snapshot: snapshot(out), ms: outcome.ms };
  console.log(`reference ${command}: ${Object.keys(reference[command].snapshot).length} files, ${outcome.ms.toFixed(0)} ms`);
}

// Kill moments scale with how long an uninterrupted run takes now (the machine's load varies).
const estimateMs: Record<Command, number> = { curate: reference.curate.ms, dedup: reference.dedup.ms };
const results: { cycle: number; command: Command; kills: number; racers: number; runs: number; identical: boolean; problems: string[] }[] = [];
let failures = 0;
const soakStarted = performance.now();
for (let cycle = 0; cycle < cycles; cycle++) {
  const command: Command = cycle % 2 === 0 ? 'curate' : 'dedup';
  const out = join(work, `cycle-${cycle}`);
  const args = commandArgs(command, config, out);
  const attempts = 1 + Math.floor(random() * 3);
  const problems: string[] = [];
  let kills = 0;
  let racers = 0;
  let runs = 0;
  for (let a = 0; a < attempts; a++) {
    // Anywhere from start-up to past the end of an uninterrupted run (which resumes faster).
    const delay = Math.floor(random() * estimateMs[command] * 1.1);
    // One attempt in four races a second, unkilled process on the same directory.
    const race = random() < 0.25;
    const outcomes = await Promise.all([run(args, delay), ...(race ? [run(args, null)] : [])]);
    runs += outcomes.length;
    if (race) racers++;
    // A first attempt that outran its kill measures an uninterrupted run under today's load.
    if (a === 0 && !outcomes[0].killed && outcomes[0].code === 0) estimateMs[command] = (estimateMs[command] + outcomes[0].ms) / 2;
    for (const o of outcomes) {
      if (o.killed) kills++;
      else if (o.code !== 0) problems.push(`exit ${o.code}: ${o.stderr.trim().split('\n').pop()}`);
      if (STACK.test(o.stderr)) problems.push(`stack trace: ${o.stderr.slice(0, 300)}`);
    }
  }
  const final = await run(args, null);
  runs++;
  if (final.code !== 0) problems.push(`final exit ${final.code}: ${final.stderr.trim()}`);
  const identical = sameSnapshot(snapshot(out), reference[command].snapshot);
  if (!identical) problems.push('outputs differ from the uninterrupted run');
  if (problems.length > 0) failures++;
  results.push({ cycle, command, kills, racers, runs, identical, problems });
  console.log(`cycle ${cycle} ${command}: ${kills} kill(s), ${racers} race(s), ${runs} runs → ${identical && problems.length === 0 ? 'identical' : `FAILED ${problems.join('; ')}`}`);
  if (problems.length === 0) rmSync(out, { recursive: true, force: true });
}

const summary = {
  cycles,
  seed: Number(values.seed),
  recordsPerShard,
  shards: SHARDS.length,
  failures,
  kills: results.reduce((s, r) => s + r.kills, 0),
  races: results.reduce((s, r) => s + r.racers, 0),
  runs: results.reduce((s, r) => s + r.runs, 0),
  minutes: Math.round((performance.now() - soakStarted) / 600) / 100,
};
console.log(`soak: ${summary.cycles} cycles, ${summary.kills} kills, ${summary.races} races, ${summary.runs} runs in ${summary.minutes} min: ${failures === 0 ? 'all identical' : `${failures} FAILED`}`);
console.log(`results: ${writeResults('soak', { machine: info, summary, results })}`);
if (!values.keep && failures === 0) rmSync(work, { recursive: true, force: true });
else console.log(`work directory kept: ${work}`);
process.exitCode = failures === 0 ? 0 : 1;
