import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusJsonl, generateNearPairs } from '../../fixtures/dedup/near-pairs.js';
import type { Backend } from '../../src/backend.js';
import { openTestGpu } from '../helpers/gpu.js';
import { cpu, runComplete, snapshot, tempDir } from './helpers.js';

const gpu = await openTestGpu();
afterAll(() => gpu.ctx?.destroy());
const root = tempDir('dedup-backends');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const corpus = generateNearPairs({ seed: 9, templates: 3, familiesPerTemplate: 6, chainsPerTemplate: 1 });
const path = join(root, 'corpus.jsonl');
writeFileSync(path, corpusJsonl(corpus.docs));

describe.skipIf(!gpu.ctx)(`dedup outputs are byte-identical on GPU and CPU (${gpu.label})`, () => {
  const cases = [
    { name: 'defaults (cover rule)', options: {} },
    { name: 'components rule', options: { cluster: 'components' as const } },
    { name: 'small batches and another seed', options: { batchSize: 7, seed: 12345 } },
    { name: 'signature verification, 64 hashes, 3-grams', options: { verify: 'signature' as const, numHashes: 64, ngram: 3 } },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const backend: Backend = { kind: 'gpu', ctx: gpu.ctx! };
      const onGpu = join(root, `gpu-${c.name}`);
      const onCpu = join(root, `cpu-${c.name}`);
      const a = await runComplete({ inputs: [{ path, source: 'syn' }], outDir: onGpu, ...c.options }, backend);
      await runComplete({ inputs: [{ path, source: 'syn' }], outDir: onCpu, ...c.options }, cpu);
      expect(a.manifest.totals.clusters).toBeGreaterThan(10);
      expect(snapshot(onGpu)).toEqual(snapshot(onCpu));
    });
  }
});
