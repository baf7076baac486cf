/**
 * The curation stages through `curate()` on small generated corpora whose expected outcome
 * is computed here from the records (SPEC §2): top-fraction thresholds keep >= p of each
 * source's tokens, `keep: best-quality` picks the highest score (ties: smallest id), and
 * heuristic drop reasons reach drops/, audit/ and the manifest.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { dropLines, keptIds, readJsonl, runComplete, run, snapshot, sum, tempDir, writeConfig } from './helpers.js';

const temp = tempDir();
afterAll(() => temp.cleanup());
let counter = 0;
function fresh(name: string): string {
  const dir = join(temp.dir, `${name}-${counter++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

interface Doc {
  id: string;
  source: string;
  text: string;
  quality: number;
}

function writeDocs(path: string, docs: Doc[]): void {
  writeFileSync(path, docs.map((d) => `${JSON.stringify(d)}\n`).join(''));
}

/** Lower-case ASCII words separated by single spaces: the words tokenizer's count is the word count. */
const WORDS = ['data', 'mixture', 'token', 'corpus', 'river', 'engine', 'garden', 'signal', 'forest', 'market'];
const words = (text: string) => text.split(' ').length;

describe('top_fraction: the token-weighted quantile per source', () => {
  const fractions: Record<string, number> = { alpha: 0.3, beta: 0.55, gamma: 0.9, delta: 1 };
  const random = rng(42);
  const docs: Doc[] = [];
  for (let i = 0; i < 900; i++) {
    const source = Object.keys(fractions)[random.int(4)];
    const length = 1 + random.int(60);
    const text = Array.from({ length }, () => WORDS[random.int(WORDS.length)]).join(' ');
    // Three decimals: many exact ties on bin edges; some scores outside [min, max).
    docs.push({ id: `d${String(i).padStart(4, '0')}`, source, text, quality: Math.round((random.next() * 1.1 - 0.05) * 1000) / 1000 });
  }

  it.each([10, 37, 100])('keeps >= p of tokens and is the highest bin edge that does (%i bins)', async (bins) => {
    const dir = fresh('top');
    writeDocs(join(dir, 'docs.jsonl'), docs);
    const config = writeConfig(dir, {
      inputs: ['docs.jsonl'],
      filters: { quality: { field: 'quality', top_fraction: fractions, histogram: { min: 0, max: 1, bins } } },
    });
    const manifest = await runComplete(config, join(dir, 'out'));
    const kept = new Set(keptIds(join(dir, 'out')));
    const quality = manifest.quality!;
    const edges = quality.histogram.edges;
    for (const [source, p] of Object.entries(fractions)) {
      const mine = docs.filter((d) => d.source === source);
      const total = sum(mine.map((d) => words(d.text)));
      // null: no cut (the quantile fell in bin 0, which also holds scores below min).
      const threshold = quality.thresholds[source] ?? -Infinity;
      // Kept = exactly the documents whose f32 score reaches the threshold (SPEC §2: score >= tau).
      const above = (t: number) => mine.filter((d) => Math.fround(d.quality) >= t);
      expect(mine.filter((d) => kept.has(d.id)).map((d) => d.id)).toEqual(above(threshold).map((d) => d.id));
      const keptTokens = sum(above(threshold).map((d) => words(d.text)));
      expect(manifest.stages[0].per_source[source].tokens_in).toBe(total);
      expect(manifest.stages[0].per_source[source].tokens_out).toBe(keptTokens);
      expect(keptTokens).toBeGreaterThanOrEqual(p * total);
      // The next higher edge would keep less than p (one-bin resolution).
      const k = threshold === -Infinity ? 0 : edges.indexOf(threshold);
      expect(k).toBeGreaterThanOrEqual(0);
      if (k + 1 < bins) expect(sum(above(edges[k + 1]).map((d) => words(d.text)))).toBeLessThan(p * total);
      // The reported histogram holds every token of the source once.
      expect(sum(quality.tokens_by_bin[source])).toBe(total);
    }
  });
});

describe('exact dedup keep rules', () => {
  // Two shards; copies of one text differ only in whitespace (exact dedup normalizes it).
  const shardA: Doc[] = [
    { id: 'd2', source: 'web', text: 'alpha beta gamma', quality: 0.5 },
    { id: 'x1', source: 'web', text: 'unique words here', quality: 0.1 },
    { id: 'd3', source: 'web', text: 'alpha  beta\ngamma', quality: 0.9 },
    { id: 't2', source: 'web', text: 'delta epsilon', quality: 0.4 },
  ];
  const shardB: Doc[] = [
    { id: 'd1', source: 'web', text: ' alpha beta gamma ', quality: 0.9 }, // ties d3 on score: smaller id wins
    { id: 't1', source: 'web', text: 'delta epsilon', quality: 0.4 }, // ties t2: smaller id wins, though later
    { id: 't0', source: 'web', text: 'delta epsilon', quality: 0.3 }, // smallest id but lower score
    { id: 'Case', source: 'web', text: 'Delta epsilon', quality: 1 }, // case differs: not an exact copy
  ];
  const setup = (keep: string) => {
    const dir = fresh(`keep-${keep}`);
    writeDocs(join(dir, 'a.jsonl'), shardA);
    writeDocs(join(dir, 'b.jsonl'), shardB);
    return writeConfig(dir, {
      inputs: ['a.jsonl', 'b.jsonl'],
      filters: { quality: { field: 'quality', thresholds: { web: 0 } } },
      dedup: { exact: true, keep },
    });
  };

  it('"first" keeps the first copy in input order', async () => {
    const config = setup('first');
    await runComplete(config, join(config, '..', 'out'));
    expect(keptIds(join(config, '..', 'out'))).toEqual(['d2', 'x1', 't2', 'Case']);
  });

  it('"best-quality" keeps the highest score, ties by smallest id, across shards and any sharding', async () => {
    const config = setup('best-quality');
    const single = join(config, '..', 'out');
    await runComplete(config, single);
    expect(keptIds(single)).toEqual(['x1', 'd1', 't1', 'Case']);
    const drops = dropLines(single).filter((d) => d.stage === 'exact_dedup').map((d) => d.id);
    expect(drops.sort()).toEqual(['d2', 'd3', 't0', 't2']);
    const sharded = join(config, '..', 'out-sharded');
    expect((await run(config, sharded, { rank: 1, worldSize: 2 })).status).toBe('partial');
    expect((await run(config, sharded, { rank: 0, worldSize: 2 })).status).toBe('complete');
    expect(snapshot(sharded)).toEqual(snapshot(single));
  });
});

describe('heuristic rules: reasons in drops/, audit/ and the manifest', () => {
  const expected: Record<string, string | null> = {
    ok1: null,
    ok2: null,
    few: 'too_few_words',
    many: 'too_many_words',
    short: 'mean_word_length',
    long: 'mean_word_length',
    hashes: 'symbol_ratio',
    repeated: 'duplicate_lines',
  };
  const texts: Record<string, string> = {
    ok1: 'the quick brown fox jumps over the lazy dog today',
    ok2: 'rivers carry water from distant mountains into the quiet valley below',
    few: 'too short text',
    many: Array.from({ length: 60 }, () => 'word').join(' '),
    short: 'a b c d e f g',
    long: 'incomprehensibilities internationalization counterrevolutionaries electroencephalographic uncharacteristically',
    hashes: '### heading ### more ### text here now',
    repeated: 'same line here again\nsame line here again\nsame line here again\nother line is fine',
  };

  it('each rule drops its document with its reason', async () => {
    const dir = fresh('heuristics');
    const docs = Object.keys(expected).map((id, i) => ({ id, source: i % 2 ? 'web' : 'code', text: texts[id], quality: 0.5 }));
    writeDocs(join(dir, 'docs.jsonl'), docs);
    const config = writeConfig(dir, {
      inputs: ['docs.jsonl'],
      filters: {
        heuristics: { min_words: 5, max_words: 50, min_mean_word_length: 3, max_mean_word_length: 10, max_symbol_ratio: 0.1, max_duplicate_line_fraction: 0.3 },
      },
      audit: { per_reason: 5 },
    });
    const out = join(dir, 'out');
    const manifest = await runComplete(config, out);
    expect(keptIds(out)).toEqual(['ok1', 'ok2']);
    const drops = Object.fromEntries(dropLines(out).map((d) => [d.id, [d.stage, d.reason]]));
    for (const [id, reason] of Object.entries(expected)) {
      if (reason) expect(drops[id]).toEqual(['heuristics', reason]);
    }
    const reasons = [...new Set(Object.values(expected).filter((r): r is string => r !== null))].sort();
    const stage = manifest.stages[0];
    expect(stage.name).toBe('heuristics');
    expect(Object.keys(stage.dropped)).toEqual(reasons);
    expect(stage.dropped.mean_word_length).toEqual({ docs: 2, tokens: words(texts.short) + words(texts.long) });
    for (const reason of reasons) {
      const ids = Object.keys(expected).filter((id) => expected[id] === reason).sort();
      const audit = readJsonl<{ id: string; reason: string; stage: string }>(join(out, 'audit', `heuristics_${reason}.jsonl`));
      expect(audit.map((a) => a.id).sort()).toEqual(ids);
      expect(audit.every((a) => a.stage === 'heuristics' && a.reason === reason)).toBe(true);
      expect(manifest.totals.dropped[`heuristics:${reason}`]).toBe(ids.length);
    }
    expect(readJsonl<{ id: string }>(join(out, 'audit', 'kept_kept.jsonl')).map((a) => a.id).sort()).toEqual(['ok1', 'ok2']);
  });
});

describe('edge cases', () => {
  it('an empty shard, a shard of blank lines and a shard of only bad records are accounted for', async () => {
    const dir = fresh('edges');
    writeDocs(join(dir, 'a.jsonl'), [{ id: 'a1', source: 'web', text: 'one good document', quality: 0.5 }]);
    writeFileSync(join(dir, 'b.jsonl'), '');
    writeFileSync(join(dir, 'c.jsonl'), '\n   \n\n');
    writeFileSync(join(dir, 'd.jsonl'), '{"id": "d1", "source": "code", "text": ""}\n[1, 2]\n');
    const config = writeConfig(dir, { inputs: ['*.jsonl'], dedup: { exact: true }, on_error: 'quarantine' });
    const manifest = await runComplete(config, join(dir, 'out'));
    expect(manifest.inputs.map((i) => [i.path, i.records, i.problems, i.blank_lines])).toEqual([
      ['a.jsonl', 1, 0, 0], ['b.jsonl', 0, 0, 0], ['c.jsonl', 0, 0, 3], ['d.jsonl', 0, 2, 0],
    ]);
    expect(manifest.totals).toEqual({ input: 3, kept: 1, dropped: {}, quarantined: 2 });
    expect(manifest.totals_tokens).toEqual({ input: 3, kept: 3, dropped: {}, quarantined: 0 });
    expect(manifest.quarantine).toEqual({ 'empty-text': 1, 'not-an-object': 1 });
    // Only sources with a valid record exist; the all-bad "code" source is not one.
    expect(manifest.sources).toEqual(['web']);
    expect(keptIds(join(dir, 'out'))).toEqual(['a1']);
  });

  it('a corpus where every record is bad still completes with all of them quarantined', async () => {
    const dir = fresh('all-bad');
    writeFileSync(join(dir, 'x.jsonl'), '{"id": "x1"}\n{"id": "x2", "text": 5, "source": "web"}\nnot json\n');
    const config = writeConfig(dir, { inputs: ['x.jsonl'], filters: { heuristics: true }, dedup: { exact: true }, on_error: 'quarantine' });
    const manifest = await runComplete(config, join(dir, 'out'));
    expect(manifest.totals).toEqual({ input: 3, kept: 0, dropped: {}, quarantined: 3 });
    expect(manifest.stages.map((s) => [s.name, s.docs_in, s.docs_out, s.doc_acceptance, s.token_acceptance])).toEqual([
      ['heuristics', 0, 0, 1, 1],
      ['exact_dedup', 0, 0, 1, 1],
    ]);
  });
});
