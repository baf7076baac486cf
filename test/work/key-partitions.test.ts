/**
 * Key partitions (src/work/key-partitions.ts): every line lands in exactly one partition,
 * all lines of a key in the same one, and a partition reads back in input order (runs in the
 * order given, lines in the order added) whatever the partition count and segment size; the
 * unique-key rule keeps the first occurrence and reports every later one against it.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inInputOrder, partitionCount, partitionLines, PartitionWriter, repeatedLines, type PartitionedRun, type Repeat } from '../../src/work/key-partitions.js';
import { rng } from '../../fixtures/random.js';
import { tempDir } from '../pipeline/helpers.js';

const { dir, cleanup } = tempDir('tokenmix-key-partitions-');
afterAll(cleanup);

type Entry = [string, number, string];

// 3 runs of 40 lines, 25 distinct keys (some with non-ASCII text), repeats across runs.
const runsOfEntries: Entry[][] = [0, 1, 2].map((r) => Array.from({ length: 40 }, (_, i): Entry => {
  const order = r * 40 + i;
  return [`key-${(order * 7) % 25}${order % 5 === 0 ? 'é' : ''}`, order, `payload ${order}`];
}));

function write(count: number, segmentLines: number, name: string): PartitionedRun[] {
  return runsOfEntries.map((entries, r) => {
    const writer = new PartitionWriter(join(dir, `${name}-${r}`), count, segmentLines);
    for (const entry of entries) writer.add(entry[0], JSON.stringify(entry));
    return writer.close();
  });
}

describe('key partitions', () => {
  for (const [count, segmentLines] of [[1, 1000], [3, 7], [17, 1], [64, 40]] as const) {
    it(`${count} partition(s), segments of ${segmentLines} lines: complete, one partition per key, input order`, () => {
      const runs = write(count, segmentLines, `p${count}-${segmentLines}`);
      const seen: Entry[] = [];
      const partitionOfKey = new Map<string, number>();
      for (let p = 0; p < count; p++) {
        const entries = [...partitionLines(runs, p)].map((line) => JSON.parse(line) as Entry);
        expect(entries.map((e) => e[1])).toEqual([...entries.map((e) => e[1])].sort((a, b) => a - b));
        for (const e of entries) {
          expect(partitionOfKey.get(e[0]) ?? p).toBe(p);
          partitionOfKey.set(e[0], p);
        }
        seen.push(...entries);
      }
      expect(seen.sort((a, b) => a[1] - b[1])).toEqual(runsOfEntries.flat());
    });
  }

  it('partition counts: enough for the records, at least the workers, at most 1024', () => {
    expect(partitionCount(0)).toBe(1);
    expect(partitionCount(10, 4)).toBe(3);
    expect(partitionCount(10, 4, 7)).toBe(7);
    expect(partitionCount(1e12, 1)).toBe(1024);
  });

  it('unique keys: the first occurrence wins; repeats name it, in input order across partitions', () => {
    const a: Entry[] = [['x', 0, 'a'], ['y', 2, 'b'], ['x', 5, 'c'], ['x', 6, 'd']];
    const b: Entry[] = [['z', 1, 'e'], ['z', 3, 'f']];
    const lines = (entries: Entry[]) => entries.map((e) => JSON.stringify(e));
    const repeats = inInputOrder([repeatedLines<Entry>(lines(a)), repeatedLines<Entry>(lines(b))]);
    expect(repeats.map(({ repeat, first }) => [repeat[2], first[2]])).toEqual([['f', 'e'], ['c', 'a'], ['d', 'a']]);
  });

  it('repeatedLines (keys compared as written) finds exactly what a map of parsed keys finds, on keys with quotes, backslashes, prefixes, non-ASCII and unpaired surrogates', () => {
    const keys = ['a', 'a"', 'a\\', 'a\\"', '"', '\\', '', 'é', 'e\u0301', '\ud800', '\udc00', '\ud83d\ude00', 'a b', 'ab', 'a\n', 'a\u0000'];
    const r = rng(3);
    const entries: Entry[] = Array.from({ length: 2000 }, (_, order): Entry => [keys[r.int(keys.length)] + (r.next() < 0.5 ? '' : keys[r.int(keys.length)]), order, `p${order}`]);
    // The reference: the rule on parsed keys, first occurrence kept in a Map.
    const firstOf = new Map<string, Entry>();
    const expected: Repeat<Entry>[] = [];
    for (const entry of entries) {
      const seen = firstOf.get(entry[0]);
      if (seen === undefined) firstOf.set(entry[0], entry);
      else expected.push({ repeat: entry, first: seen });
    }
    expect(expected.length).toBeGreaterThan(1000);
    expect(repeatedLines<Entry>(entries.map((e) => JSON.stringify(e)))).toEqual(expected);
  });
});
