/**
 * The near-dedup stage of `tokenmix curate` (config dedup.near): planted near duplicates at
 * known word-level edits are removed after exact dedup, distinct documents are kept, the
 * stage is accounted for, and clusters.jsonl lists the clusters.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from '../../fixtures/random.js';
import { runComplete, tempDir, writeConfig } from './helpers.js';

const WORDS = Array.from({ length: 500 }, (_, i) => `w${i.toString(36)}`);
const { dir, cleanup } = tempDir();
afterAll(cleanup);

function corpus() {
  const r = rng(3);
  const doc = () => Array.from({ length: 200 }, () => WORDS[r.int(WORDS.length)]);
  const records: { id: string; source: string; text: string }[] = [];
  const base = doc();
  records.push({ id: 'a', source: 'web', text: base.join(' ') });
  // One word replaced: 5-shingle Jaccard ≈ (196-5)/(196+5) ≈ 0.95 — a near duplicate.
  const edited = [...base];
  edited[100] = 'changed';
  records.push({ id: 'a-edit', source: 'web', text: edited.join(' ') });
  // Exact copy with other whitespace: exact dedup's job, not near dedup's.
  records.push({ id: 'a-copy', source: 'web', text: base.join('  ') });
  // Half rewritten: Jaccard well below 0.8 — kept.
  const half = [...base.slice(0, 100), ...doc().slice(0, 100)];
  records.push({ id: 'a-half', source: 'web', text: half.join(' ') });
  for (let i = 0; i < 20; i++) records.push({ id: `other-${i}`, source: i % 2 ? 'code' : 'web', text: doc().join(' ') });
  writeFileSync(join(dir, 'corpus.jsonl'), records.map((x) => JSON.stringify(x)).join('\n') + '\n');
  return records.length;
}

describe('curate with dedup.near', () => {
  it('drops the planted near duplicate after exact dedup and accounts for it', async () => {
    const total = corpus();
    const config = writeConfig(dir, { inputs: [{ path: 'corpus.jsonl' }], dedup: { exact: true, near: { threshold: 0.8 } }, seed: 5 });
    const out = join(dir, 'out');
    const manifest = await runComplete(config, out);
    expect(manifest.stages.map((s) => s.name)).toEqual(['exact_dedup', 'near_dedup']);
    expect(manifest.totals).toEqual({ input: total, kept: total - 2, dropped: { 'exact_dedup:duplicate': 1, 'near_dedup:near_duplicate': 1 }, quarantined: 0 });
    const drops = readFileSync(join(out, 'drops', '00000-corpus.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(drops.map((d) => [d.id, d.stage])).toEqual([
      ['a-edit', 'near_dedup'],
      ['a-copy', 'exact_dedup'],
    ]);
    const clusters = readFileSync(join(out, 'clusters.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // One word of ~200 replaced changes at most 5 of ~196 shingles: J >= 191/201 ≈ 0.950.
    expect(clusters).toEqual([
      { id: 'a', cluster: clusters[0].cluster, kept: true },
      { id: 'a-edit', cluster: clusters[0].cluster, kept: false, of: 'a', jaccard: expect.any(Number) },
    ]);
    expect(clusters[1].jaccard).toBeGreaterThan(0.94);
    expect(clusters[1].jaccard).toBeLessThan(1);
    expect(manifest.near_dedup).toMatchObject({ removed: 1, cluster_rule: { rule: 'cover', removed_cover: 1, removed_components: 1 } });
    expect(manifest.outputs.map((o) => o.path)).toContain('clusters.jsonl');
    const near = manifest.stages[1];
    expect(near.docs_in - near.docs_out).toBe(1);
  });
});
