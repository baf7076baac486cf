import { describe, expect, it } from 'vitest';
import { DOCUMENT_BYTES, MAIN_THREAD_BYTES, MAX_RANGE_RECORDS, WORKER_THREAD_BYTES, defaultMemoryBytes, groupingBytes, planDedupMemory, runMemoryBytes } from '../../src/dedup/memory.js';

const MiB = 2 ** 20;

describe('planDedupMemory (dedup within --memory-mb)', () => {
  it('defaults to 512 MiB per worker, at least 1 GiB', () => {
    expect([1, 2, 3, 8].map((w) => defaultMemoryBytes(w) / MiB)).toEqual([1024, 1024, 1536, 4096]);
  });

  it('counts a table of twice its records (16 bytes a slot) and 12 bytes of reads per record', () => {
    expect(groupingBytes(2 ** 15)).toBe(2 ** 16 * 16 + 2 ** 15 * 12);
    expect(groupingBytes(2 ** 22)).toBe(184_549_376);
  });

  it('1 GiB, 1M documents, 2 workers grouping: numbers worked by hand', () => {
    // reserved = 192 + 2 × 96 MiB + 72 B × 1M = 474,653,184; free = 599,088,640;
    // caches = free / 4 = 149,772,160 over 3 stores; tables = (free − caches) / 2 = 224,658,240 each,
    // where 44 B × 2^22 = 184,549,376 would fit, but ranges stop at 2^18 records (a table that
    // stays in the caches): 2^19 × 16 + 2^18 × 12 = 11,534,336.
    expect([MAIN_THREAD_BYTES, WORKER_THREAD_BYTES, DOCUMENT_BYTES, MAX_RANGE_RECORDS]).toEqual([192 * MiB, 96 * MiB, 72, 2 ** 18]);
    // Sets read once for every thread may take 3/4 of what the tables leave: (599,088,640 − 2 ×
    // 11,534,336) × 3/4 = 432,014,976 (1M synthetic documents have ~405 MB of them).
    expect(planDedupMemory(1024 * MiB, 1_000_000, 2, 2)).toEqual({
      rangeRecords: 262_144, tableBytes: 11_534_336, cacheBytes: 49_924_053, reservedBytes: 474_653_184, sharedBytes: 432_014_976,
    });
    expect(planDedupMemory(64 * 1024 * MiB, 1_000_000, 8, 8).rangeRecords).toBe(2 ** 18);
  });

  it('everything it plans fits the budget, for any documents, workers and budget it accepts', () => {
    let checked = 0;
    for (const memoryMb of [256, 512, 1024, 2048, 8192]) {
      for (const workers of [1, 2, 3, 7]) {
        for (const documents of [0, 1, 100_000, 1_000_000, 8_000_000]) {
          for (const groupThreads of workers === 1 ? [1] : [1, workers]) {
            let plan;
            try {
              plan = planDedupMemory(memoryMb * MiB, documents, workers, groupThreads);
            } catch {
              continue;
            }
            const stores = workers > 1 ? workers + 1 : 1;
            expect(plan.reservedBytes + groupThreads * plan.tableBytes + stores * plan.cacheBytes).toBeLessThanOrEqual(memoryMb * MiB);
            // Or, with the sets read once for every thread (the caches then unused):
            expect(plan.reservedBytes + groupThreads * plan.tableBytes + plan.sharedBytes).toBeLessThanOrEqual(memoryMb * MiB);
            expect(Math.log2(plan.rangeRecords) % 1).toBe(0);
            expect(plan.tableBytes).toBe(groupingBytes(plan.rangeRecords));
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('more documents leave smaller (never larger) tables', () => {
    const sizes = [0, 1e6, 4e6, 8e6, 9e6].map((d) => planDedupMemory(1024 * MiB, d, 2, 2).rangeRecords);
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]).toBeLessThanOrEqual(sizes[i - 1]);
    expect(sizes.at(-1)).toBeLessThan(sizes[0]);
  });

  it('without --memory-mb, a corpus too large for the default gets what it needs plus 256 MiB', () => {
    expect(runMemoryBytes(1_000_000, 2)).toBe(1024 * MiB);
    expect(runMemoryBytes(1_000_000, 4)).toBe(2048 * MiB);
    // 1,842,653,184 reserved for 20M documents + 268,435,456.
    expect(runMemoryBytes(20_000_000, 2)).toBe(2_111_088_640);
    expect(planDedupMemory(runMemoryBytes(20_000_000, 2), 20_000_000, 2, 2).rangeRecords).toBe(MAX_RANGE_RECORDS);
  });

  it('a budget too small for the corpus says what it needs, in one line', () => {
    expect(() => planDedupMemory(1024 * MiB, 20_000_000, 2, 2)).toThrow(
      /^tokenmix: --memory-mb 1024 is too small for 20000000 documents on 2 workers: the threads and per-document arrays need 1758 MiB before any grouping table; raise --memory-mb to at least 1761 or lower --workers \(a rerun reuses the signatures\)$/,
    );
    // The figure it names is enough.
    expect(planDedupMemory(1761 * MiB, 20_000_000, 2, 2).rangeRecords).toBe(2 ** 15);
    // Also when grouping runs on the main thread (its table gets a quarter of what is left).
    const oneThread = /raise --memory-mb to at least (\d+)/.exec(String((() => {
      try {
        planDedupMemory(566 * MiB, 4_000_000, 1, 1);
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })()));
    expect(oneThread).not.toBeNull();
    expect(planDedupMemory(Number(oneThread![1]) * MiB, 4_000_000, 1, 1).rangeRecords).toBe(2 ** 15);
  });
});
