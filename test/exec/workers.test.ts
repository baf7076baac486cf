/**
 * "Use every core" must not change a byte: curate and dedup give identical outputs for 1, 2, 3
 * and 7 worker threads and for any work-unit size (files split into line ranges and row
 * groups), on the CPU and — with signatures computed by the thread that owns the device while
 * workers prepare batches — on the GPU. A failing unit fails the run with the same one-line
 * message, naming file and line, as a single-threaded run.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend.js';
import { dedup } from '../../src/dedup/index.js';
import { taskError } from '../../src/exec/executor.js';
import { curate } from '../../src/pipeline/curate.js';
import { generateNearPairs, corpusJsonl } from '../../fixtures/dedup/near-pairs.js';
import { snapshot as dedupSnapshot } from '../dedup/helpers.js';
import { openTestGpu, type TestGpu } from '../helpers/gpu.js';
import { CPU, snapshot, tempDir } from '../pipeline/helpers.js';
import { mulberry32 } from '../../fixtures/random.js';

const { dir: root, cleanup } = tempDir('tokenmix-workers-');
afterAll(cleanup);
let runs = 0;
const out = () => join(root, `out-${runs++}`);
const FIXTURE = join(import.meta.dirname, '../../fixtures/corpus');

// The fixture corpus with its one uncompressed JSONL file made larger, so that small unit
// sizes split it into many line ranges (the zstd and gzip files stay whole).
const corpusDir = join(root, 'corpus');
cpSync(FIXTURE, corpusDir, { recursive: true });
const extra = readFileSync(join(corpusDir, 'web-extra.jsonl'), 'utf8').trimEnd().split('\n');
writeFileSync(join(corpusDir, 'web-extra.jsonl'), [...extra, ...extra.map((line, i) => line.replace(/"id":\s*"([^"]+)"/, `"id":"$1-again${i}"`)), '{"id": bad json'].join('\n') + '\n');
const config = join(corpusDir, 'curate.json');

async function curateRun(options: { workers: number; unitBytes?: number; backend?: Backend }) {
  const dir = out();
  const result = await curate({ configPath: config, outDir: dir, backend: options.backend ?? CPU, workers: options.workers, ...(options.unitBytes ? { unitBytes: options.unitBytes } : {}) });
  expect(result.status).toBe('complete');
  return snapshot(dir);
}

describe('curate: any number of workers, any unit size', () => {
  let reference: Record<string, string>;
  beforeAll(async () => {
    reference = await curateRun({ workers: 1 });
  });
  for (const [workers, unitBytes] of [[1, 3000], [2, undefined], [2, 2500], [3, 4000], [7, 2000]] as const) {
    it(`${workers} worker(s), units of ${unitBytes ?? 'default'} bytes: byte-identical outputs`, async () => {
      expect(await curateRun({ workers, ...(unitBytes ? { unitBytes } : {}) })).toEqual(reference);
    });
  }
});

// Group bucket ranges and run the cluster rule's checks on the workers even for these small
// corpora (by default only from 1M band records on; src/dedup/run.ts).
process.env.TOKENMIX_PARALLEL_GROUPING_RECORDS = '0';

const planted = generateNearPairs({ seed: 5, templates: 3, familiesPerTemplate: 6 });
const plantedPath = join(root, 'planted.jsonl');
writeFileSync(plantedPath, corpusJsonl(planted.docs));

// The same documents with a quality score (seeded, with ties) and exact copies of some, for
// the best-quality keep order and mixed exact/near clusters.
const scoredPath = join(root, 'planted-scored.jsonl');
writeFileSync(scoredPath, planted.docs.flatMap((doc, i) => {
  const line = (id: string) => `${JSON.stringify({ id, text: doc.text, score: (i * 7919) % 13 })}\n`;
  return i % 5 === 0 ? [line(doc.id), line(`${doc.id}-copy`)] : [line(doc.id)];
}).join(''));

async function dedupRun(backend: Backend, workers: number, unitBytes?: number, sketch: 'oph' | 'minhash' = 'oph') {
  const dir = out();
  const result = await dedup({ inputs: [{ path: plantedPath, source: 'syn' }], outDir: dir, workers, sketch, ...(unitBytes ? { unitBytes } : {}) }, backend);
  expect(result.status).toBe('complete');
  return dedupSnapshot(dir);
}

describe('dedup, best-quality keep order and exact copies: grouping and cluster-rule checks on workers', () => {
  const run = async (workers: number, cluster: 'cover' | 'components') => {
    const dir = out();
    const result = await dedup({ inputs: [{ path: scoredPath, source: 'syn' }], outDir: dir, workers, keep: 'best-quality', qualityField: 'score', cluster, unitBytes: 20_000 }, CPU);
    expect(result.status).toBe('complete');
    expect(result.manifest.totals.removed_exact).toBeGreaterThan(0);
    expect(result.manifest.totals.removed_near).toBeGreaterThan(0);
    return dedupSnapshot(dir);
  };
  for (const cluster of ['cover', 'components'] as const) {
    it(`${cluster}: 1, 2 and 3 workers give the same bytes`, async () => {
      const reference = await run(1, cluster);
      expect(await run(2, cluster)).toEqual(reference);
      expect(await run(3, cluster)).toEqual(reference);
    });
  }
});

// One component of 640 variants of one text (0–6 of its 300 words replaced each), so the cover
// rule's checks against the kept members run in blocks on the workers (src/dedup/cover.ts
// decideInBlocks, from 512 members) and each worker extends its index of the kept members.
const variantsPath = join(root, 'variants.jsonl');
{
  const random = mulberry32(17);
  const words = Array.from({ length: 300 }, (_, i) => `w${i}x${Math.floor(random() * 1e6)}`);
  writeFileSync(variantsPath, Array.from({ length: 640 }, (_, d) => {
    const text = [...words];
    const replaced = Math.floor(random() * 7);
    for (let i = 0; i < replaced; i++) text[Math.floor(random() * text.length)] = `r${d}x${i}`;
    return `${JSON.stringify({ id: `v${d}`, text: text.join(' '), score: Math.floor(random() * 5) })}\n`;
  }).join(''));
}

describe('dedup: a 640-member component, the cluster rule in blocks on the workers', () => {
  const run = async (workers: number, keep: 'first' | 'best-quality') => {
    const dir = out();
    const result = await dedup({ inputs: [{ path: variantsPath, source: 'syn' }], outDir: dir, workers, keep, qualityField: 'score', unitBytes: 100_000 }, CPU);
    expect(result.status).toBe('complete');
    const checks = (JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { cluster_rule_checks: number }).cluster_rule_checks;
    return { files: dedupSnapshot(dir), totals: result.manifest.totals, keptInClusters: result.manifest.cluster_rule.kept_in_clusters, checks };
  };
  for (const keep of ['first', 'best-quality'] as const) {
    it(`keep ${keep}: 2 and 3 workers give one worker's bytes and checks`, async () => {
      const reference = await run(1, keep);
      expect(reference.totals.largest_cluster).toBeGreaterThanOrEqual(600);
      // Several kept in the component: the blocks after the first have kept members to search.
      expect(reference.keptInClusters).toBeGreaterThan(10);
      // More than the checks against the leader alone: the blocks' searches checked kept members.
      expect(reference.checks).toBeGreaterThan(reference.totals.largest_cluster + 100);
      for (const workers of [2, 3]) {
        const other = await run(workers, keep);
        expect(other.files).toEqual(reference.files);
        expect(other.checks).toBe(reference.checks);
      }
    });
  }
});

describe('dedup: any number of workers, any unit size', () => {
  let reference: Record<string, string>;
  beforeAll(async () => {
    reference = await dedupRun(CPU, 1);
    expect(Object.keys(reference)).toContain('clusters.jsonl');
  });
  for (const [workers, unitBytes] of [[2, 20_000], [3, 7_000], [7, 3_000]] as const) {
    it(`${workers} workers, units of ${unitBytes} bytes: byte-identical outputs`, async () => {
      expect(await dedupRun(CPU, workers, unitBytes)).toEqual(reference);
    });
  }

  describe('GPU signatures from the device-owning thread', async () => {
    const gpu: TestGpu = await openTestGpu();
    afterAll(() => gpu.ctx?.destroy());
    it.skipIf(!gpu.ctx)(`${gpu.label}: 2 workers send batches, outputs equal the CPU's`, async () => {
      expect(await dedupRun({ kind: 'gpu', ctx: gpu.ctx! }, 2, 10_000)).toEqual(reference);
    });
    it.skipIf(!gpu.ctx)(`${gpu.label}: the same with K-permutation MinHash (--sketch minhash)`, async () => {
      const cpuMinhash = await dedupRun(CPU, 1, undefined, 'minhash');
      expect(await dedupRun({ kind: 'gpu', ctx: gpu.ctx! }, 2, 10_000, 'minhash')).toEqual(cpuMinhash);
    });
  });
});

describe('failures', () => {
  it('a bad record in a later part fails with the same one-line message as one thread', async () => {
    const path = join(root, 'bad.jsonl');
    const lines = Array.from({ length: 400 }, (_, i) => JSON.stringify({ id: `b${i}`, text: `document number ${i} with some words` }));
    lines[351] = '{"id": "b351", "text": 42}';
    writeFileSync(path, lines.join('\n') + '\n');
    const messages: string[] = [];
    for (const workers of [1, 3]) {
      const error = await dedup({ inputs: [{ path, source: 's' }], outDir: out(), workers, unitBytes: 1000 }, CPU).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      messages.push((error as Error).message);
    }
    expect(messages[0]).toMatch(/^tokenmix: .*bad\.jsonl:352: field "text"/);
    expect(messages[1]).toBe(messages[0]);
    expect(messages[0]).not.toContain('\n');
  });

  it('a crashed worker becomes one line naming the unit', () => {
    const crash = Object.assign(new Error('Worker terminated due to reaching memory limit: JS heap out of memory'), { code: 'ERR_WORKER_OUT_OF_MEMORY' });
    const message = taskError({ kind: 'curate-unit', label: 'data/a.jsonl (part 2 of 4, bytes 100-199)' }, crash, 512).message;
    expect(message).toBe('tokenmix: a worker ran out of memory (512 MiB heap) while processing data/a.jsonl (part 2 of 4, bytes 100-199); raise --memory-mb or lower --workers');
    const other = taskError({ kind: 'signature-unit', label: 'b.parquet' }, new Error('boom\n    at x (y.js:1:1)')).message;
    expect(other).toBe('tokenmix: a worker failed while processing b.parquet: boom (rerun to resume from the finished units)');
  });
});
