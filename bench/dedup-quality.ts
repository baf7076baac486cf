/**
 * `npm run bench:dedup-quality`: quality of `tokenmix dedup` at its defaults, scored by the
 * shared scorers against exact ground truth: /work/shared/data/tools/score_clusters.py (pairs
 * and clusters) and score_cover.py (decisions as a set: cover, kept near-duplicate pairs,
 * agreement with the exact greedy rule in input order).
 *
 *  1. The real corpus ../shared/data/licenses-npm/corpus.jsonl.zst (skipped, with a message,
 *     when absent): the CLI at its defaults, then the scorer at 0.8.
 *  2. A seeded synthetic hard set (fixtures/dedup/near-pairs.ts: templated boilerplate,
 *     near-threshold negatives, planted pairs at known J, planted chains): the same, plus measured LSH
 *     detection probability per J bin next to the theoretical S-curve, and the fraction of
 *     pairs that end in one cluster.
 *
 * Both corpora also run `--cluster components` (the connected-component rule) for comparison.
 * Options: --seeds 1,2,3 (synthetic seeds), --templates N --families N --chains N (synthetic size;
 * planted 7-document chains per template, default 1),
 * --ablations (also --links chain|star and --margin 0, i.e. datasketch's b × r, on both sets),
 * --check-truth (recompute the synthetic truth with tools/truth.py and compare bytes).
 * Results: bench/results/dedup-quality-*.json. Recorded numbers: src/dedup/README.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { corpusJsonl, generateNearPairs, truthTsv, type NearPairsCorpus } from '../fixtures/dedup/near-pairs.js';
import { minhashCpu } from '../src/cpu/minhash.js';
import { bandKeys, collisionProbability } from '../src/dedup/lsh.js';
import { shingleWords } from '../src/dedup/shingles.js';
import { machineInfo, printMachine, writeResults } from './common.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const realCorpus = join(repo, '..', 'shared', 'data', 'licenses-npm', 'corpus.jsonl.zst');
const realTruth = join(repo, '..', 'shared', 'data', 'licenses-npm', 'truth_pairs.tsv.zst');
const scorer = join(repo, '..', 'shared', 'data', 'tools', 'score_clusters.py');
const coverScorer = join(repo, '..', 'shared', 'data', 'tools', 'score_cover.py');
const truthTool = join(repo, '..', 'shared', 'data', 'tools', 'truth.py');

interface Score {
  pair_recall: number;
  'pair_recall_0.9': number;
  removal_precision: number;
  doc_precision: number;
  doc_recall: number;
  removed: number;
  truth_removed: number;
  in_clusters: number;
  truth_in_clusters: number;
}

interface CoverScore {
  cover: number;
  kept_pairs: number;
  greedy_precision: number;
  greedy_recall: number;
  removed: number;
  greedy_removed: number;
  truth_pairs: number;
}

interface RunResult {
  label: string;
  args: string[];
  seconds: number;
  bands: number;
  rows: number;
  score: Score;
  cover: CoverScore;
  /** What each cluster rule removes on the run's components (manifest cluster_rule). */
  rules: { removed_cover: number; removed_components: number; components_removed_below_threshold: number };
}

function runDedup(label: string, input: string, truth: string, outDir: string, extra: string[] = []): RunResult {
  const args = ['dedup', '--input', input, '--out', outDir, ...extra];
  const started = performance.now();
  execFileSync(process.execPath, [join(repo, 'bin', 'tokenmix.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const seconds = (performance.now() - started) / 1000;
  const manifest = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8'));
  const clusters = join(outDir, 'clusters.jsonl');
  const score = JSON.parse(execFileSync('python3', [scorer, clusters, truth, '0.8'], { encoding: 'utf8' })) as Score;
  const cover = JSON.parse(execFileSync('python3', [coverScorer, input, clusters, truth, '0.8'], { encoding: 'utf8' })) as CoverScore;
  const { removed_cover, removed_components, components_removed_below_threshold } = manifest.cluster_rule;
  const f = (x: number) => x.toFixed(4);
  console.log(
    `  ${label.padEnd(34)} b×r=${manifest.lsh.bands}×${manifest.lsh.rows}  doc P/R ${f(score.doc_precision)}/${f(score.doc_recall)}  ` +
      `pair recall ${f(score.pair_recall)} (J>=0.9: ${f(score['pair_recall_0.9'])})  removal precision ${f(score.removal_precision)}  ` +
      `removed ${score.removed}/${score.truth_removed}  ${seconds.toFixed(1)} s\n` +
      `  ${''.padEnd(34)} cover ${f(cover.cover)}  kept pairs ${cover.kept_pairs}/${cover.truth_pairs}  greedy P/R ${f(cover.greedy_precision)}/${f(cover.greedy_recall)}  ` +
      `removed ${cover.removed} (greedy ${cover.greedy_removed}); rules: cover ${removed_cover}, components ${removed_components} (${components_removed_below_threshold} below T)`,
  );
  return {
    label, args: args.slice(1), seconds, bands: manifest.lsh.bands, rows: manifest.lsh.rows, score, cover,
    rules: { removed_cover, removed_components, components_removed_below_threshold },
  };
}

const ABLATIONS: [string, string[]][] = [
  ['--links chain', ['--links', 'chain']],
  ['--links star', ['--links', 'star']],
  ['--margin 0 (datasketch b×r) + exact', ['--margin', '0']],
  ['--margin 0.1', ['--margin', '0.1']],
  ['--margin 0.3', ['--margin', '0.3']],
  ['--verify signature', ['--verify', 'signature']],
];

interface BinRow {
  bin: string;
  pairs: number;
  detected: number;
  measured: number;
  theory: number;
  sameCluster: number;
}

/** Per 0.05-wide J bin: measured P(share a band) vs mean S-curve P(J), and same-cluster rate. */
function detectionTable(corpus: NearPairsCorpus, bands: number, rows: number, seed: number, clustersPath: string): BinRow[] {
  const words = corpus.docs.map((d) => shingleWords(d.text));
  const offsets = new Uint32Array(words.length + 1);
  words.forEach((w, i) => (offsets[i + 1] = offsets[i] + w.length));
  const tokens = new Uint32Array(offsets[words.length]);
  words.forEach((w, i) => tokens.set(w, offsets[i]));
  const signatures = minhashCpu({ offsets, tokens }, { ngram: 5, numHashes: 128, seed });
  const keys = bandKeys(signatures, 128, bands, rows);
  const index = new Map(corpus.docs.map((d, i) => [d.id, i]));
  const cluster = new Map<string, number>();
  for (const line of readFileSync(clustersPath, 'utf8').split('\n')) if (line) cluster.set(JSON.parse(line).id, JSON.parse(line).cluster);
  const bins = new Map<number, { pairs: number; detected: number; theory: number; same: number }>();
  for (const p of corpus.truth) {
    const j = p.inter / p.union;
    const a = index.get(p.a)!;
    const b = index.get(p.b)!;
    let shared = false;
    for (let k = 0; k < bands && !shared; k++) {
      shared = keys[2 * (a * bands + k)] === keys[2 * (b * bands + k)] && keys[2 * (a * bands + k) + 1] === keys[2 * (b * bands + k) + 1];
    }
    const bin = Math.min(19, Math.floor(j * 20 + 1e-9));
    const row = bins.get(bin) ?? { pairs: 0, detected: 0, theory: 0, same: 0 };
    row.pairs++;
    row.detected += shared ? 1 : 0;
    row.theory += collisionProbability(j, bands, rows);
    row.same += cluster.has(p.a) && cluster.get(p.a) === cluster.get(p.b) ? 1 : 0;
    bins.set(bin, row);
  }
  return [...bins.entries()].sort(([x], [y]) => x - y).map(([bin, r]) => ({
    bin: bin === 19 ? '0.95-1.00' : `${(bin / 20).toFixed(2)}-${((bin + 1) / 20).toFixed(2)}`,
    pairs: r.pairs,
    detected: r.detected,
    measured: r.detected / r.pairs,
    theory: r.theory / r.pairs,
    sameCluster: r.same / r.pairs,
  }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '1,2,3' },
      templates: { type: 'string', default: '60' },
      families: { type: 'string', default: '40' },
      chains: { type: 'string', default: '1' },
      ablations: { type: 'boolean', default: false },
      'check-truth': { type: 'boolean', default: false },
    },
  });
  const info = machineInfo(null);
  printMachine(info);
  if (!existsSync(join(repo, 'bin', 'tokenmix.js'))) throw new Error('run from a built checkout (npm run bench:dedup-quality builds first)');
  const work = mkdtempSync(join(tmpdir(), 'tokenmix-dedup-quality-'));
  const results: Record<string, unknown> = { machine: info };
  try {
    // 1. Real corpus.
    if (existsSync(realCorpus)) {
      console.log(`\nreal corpus: ${realCorpus} (2,270 documents; datasketch b=9 r=13: doc P/R 0.995–0.998/0.991, pair recall 0.85–0.92)`);
      const real: RunResult[] = [runDedup('tokenmix dedup (defaults)', realCorpus, realTruth, join(work, 'real'))];
      real.push(runDedup('--cluster components', realCorpus, realTruth, join(work, 'real-components'), ['--cluster', 'components']));
      if (values.ablations) for (const [label, extra] of ABLATIONS) real.push(runDedup(label, realCorpus, realTruth, join(work, `real-${real.length}`), extra));
      for (const seed of [2, 3]) real.push(runDedup(`defaults, --seed ${seed}`, realCorpus, realTruth, join(work, `real-seed-${seed}`), ['--seed', String(seed)]));
      results.real = real;
    } else {
      console.log(`\nreal corpus: skipped — ${realCorpus} is absent (it ships in /work/shared/data on the project machine)`);
      results.real = null;
    }

    // 2. Synthetic hard set.
    const synthetic: unknown[] = [];
    for (const seed of values.seeds!.split(',').map(Number)) {
      const corpus = generateNearPairs({ seed, templates: Number(values.templates), familiesPerTemplate: Number(values.families), chainsPerTemplate: Number(values.chains) });
      const dir = join(work, `syn-${seed}`);
      rmSync(dir, { recursive: true, force: true });
      const input = join(work, `syn-${seed}.jsonl`);
      const truth = join(work, `syn-${seed}-truth.tsv`);
      writeFileSync(input, corpusJsonl(corpus.docs));
      writeFileSync(truth, truthTsv(corpus.truth));
      const near = corpus.truth.filter((p) => p.inter >= 0.8 * p.union).length;
      const chains = corpus.planted.filter((p) => p.kind === 'chain').length;
      const hard = corpus.truth.filter((p) => p.inter >= 0.65 * p.union && p.inter < 0.8 * p.union).length;
      console.log(`\nsynthetic seed ${seed}: ${corpus.docs.length} documents, ${corpus.truth.length} pairs with J >= 0.5, ${near} at J >= 0.8, ${hard} hard negatives (0.65 <= J < 0.8), ${corpus.planted.length} planted pairs (${chains} of them chain links)`);
      let truthCheck: string | null = null;
      if (values['check-truth']) {
        const recomputed = join(work, `syn-${seed}-truth-py.tsv`);
        execFileSync('python3', [truthTool, '--corpus', input, '--out', recomputed], { stdio: 'ignore' });
        truthCheck = readFileSync(recomputed, 'utf8') === readFileSync(truth, 'utf8') ? 'identical to tools/truth.py' : 'DIFFERS from tools/truth.py';
        console.log(`  truth: ${truthCheck}`);
      }
      const runs = [runDedup('tokenmix dedup (defaults)', input, truth, join(dir, 'defaults'))];
      runs.push(runDedup('--cluster components', input, truth, join(dir, 'components'), ['--cluster', 'components']));
      if (values.ablations) for (const [label, extra] of ABLATIONS) runs.push(runDedup(label, input, truth, join(dir, `a${runs.length}`), extra));
      const table = detectionTable(corpus, runs[0].bands, runs[0].rows, 1, join(dir, 'defaults', 'clusters.jsonl'));
      console.log(`  LSH detection vs J at b=${runs[0].bands}, r=${runs[0].rows} (all truth pairs; 'same cluster' after verification at 0.8):`);
      console.log('    J bin       pairs  measured  S-curve  same cluster');
      for (const r of table) console.log(`    ${r.bin}  ${String(r.pairs).padStart(6)}  ${r.measured.toFixed(4)}    ${r.theory.toFixed(4)}   ${r.sameCluster.toFixed(4)}`);
      synthetic.push({ seed, documents: corpus.docs.length, truthPairs: corpus.truth.length, nearPairs: near, hardNegatives: hard, truthCheck, runs, detection: table });
    }
    results.synthetic = synthetic;
    console.log(`\nresults: ${writeResults('dedup-quality', results)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
