/**
 * The multi-shard corpus of kill-resume.test.ts: 8 shards of seeded records in every
 * input format (fixtures/io/generate.ts), a few bad lines for quarantine, and a config that
 * switches every stage on. Ids are unique across shards (prefix per shard).
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticRecords, writeArrow, writeJsonl, writeParquet } from '../../fixtures/io/generate.js';
import { writeConfig } from './helpers.js';

const SHARDS = [
  'part-0.jsonl', 'part-1.jsonl.gz', 'part-2.jsonl.zst', 'part-3.parquet',
  'part-4.arrow', 'part-5.arrows', 'part-6.jsonl', 'part-7.parquet',
] as const;

/** Writes the corpus and its config into `dir`; returns the config path. */
export async function writeKillCorpus(dir: string, recordsPerShard = 2000): Promise<string> {
  for (const [k, name] of SHARDS.entries()) {
    const path = join(dir, name);
    const records = syntheticRecords({ seed: 100 + k, count: recordsPerShard, meanWords: 40, idPrefix: `s${k}` });
    if (name.endsWith('.jsonl')) await writeJsonl(path, records);
    else if (name.endsWith('.jsonl.gz')) await writeJsonl(path, records, { compression: 'gzip' });
    else if (name.endsWith('.jsonl.zst')) await writeJsonl(path, records, { compression: 'zstd', zstd: 'raw' });
    else if (name.endsWith('.parquet')) await writeParquet(path, records, { rowGroupRows: 500 });
    else await writeArrow(path, records, { format: name.endsWith('.arrows') ? 'stream' : 'file', batchRows: 500 });
  }
  appendFileSync(
    join(dir, 'part-6.jsonl'),
    [
      '{"id": "bad-1", "source": "web", "text": "no score"}',
      '{"id": "bad-2", "source": "web", "text": "", "quality": 0.5}',
      '{"id": "bad-3", "source": "web", "text": "cut", "quality": 0.',
      '{"id": "s0-5", "source": "web", "text": "a duplicate id of part-0", "quality": 0.9}',
    ].join('\n') + '\n',
  );
  return writeConfig(dir, {
    inputs: ['part-*'],
    fields: { quality: 'quality' },
    filters: {
      quality: { field: 'quality', thresholds: { web: 0.2 }, top_fraction: { code: 0.7 }, histogram: { min: 0, max: 1, bins: 50 } },
      heuristics: { min_words: 2, max_words: 1000, min_mean_word_length: 1, max_mean_word_length: 20, max_symbol_ratio: 1, max_duplicate_line_fraction: 0.5 },
    },
    dedup: { exact: true, keep: 'best-quality' },
    audit: { per_reason: 10, excerpt_chars: 80 },
    batch_size: 500,
    seed: 3,
    on_error: 'quarantine',
  });
}
