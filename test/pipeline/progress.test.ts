/**
 * Progress lines (issue 13): every long phase shows a real percentage and an ETA on a
 * terminal. Unit tests with a fake clock; CLI runs with a fake terminal (interactive io).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { formatDuration, terminalProgress } from '../../src/work/progress.js';
import { FIXTURE_CORPUS, fixtureMixConfig } from '../helpers/fixture-config.js';

function fakeClock() {
  let t = 0;
  return { now: () => t, tick: (ms: number) => (t += ms) };
}

describe('terminalProgress', () => {
  it('bytes: percentage of the total and ETA at the average rate so far', () => {
    const clock = fakeClock();
    const lines: string[] = [];
    const p = terminalProgress('curate', 1_000_000, (t) => lines.push(t), { now: clock.now });
    clock.tick(5000);
    p.advance(2000, 250_000); // a quarter in 5 s: 15 s to go
    expect(lines.at(-1)).toBe('\rcurate: 2,000 records, 25.0%, 400 rec/s, 0.1 MB/s, ETA 15 s   ');
    clock.tick(100);
    p.advance(0, 0); // throttled: no new line within 250 ms
    expect(lines).toHaveLength(1);
    clock.tick(174_900);
    p.advance(0, 250_000); // half in 180 s: as long again
    expect(lines.at(-1)).toMatch(/, 50\.0%, .*ETA 3 min 00 s {3}$/);
    p.done();
    expect(lines.at(-1)).toBe('\n');
  });

  it('other units: done/total, percentage, ETA; before any progress the ETA is unknown, never 0 s', () => {
    const clock = fakeClock();
    const lines: string[] = [];
    const p = terminalProgress('dedup grouping', 8, (t) => lines.push(t), { unit: 'bucket ranges', now: clock.now });
    p.advance(0, 0);
    expect(lines.at(-1)).toBe('\rdedup grouping: 0/8 bucket ranges, 0.0%, ETA …   ');
    clock.tick(2000);
    p.advance(0, 2);
    expect(lines.at(-1)).toBe('\rdedup grouping: 2/8 bucket ranges, 25.0%, ETA 6 s   ');
  });

  it('without a total: elapsed time, no "?%", no ETA', () => {
    const clock = fakeClock();
    const lines: string[] = [];
    const p = terminalProgress('read', 0, (t) => lines.push(t), { now: clock.now });
    clock.tick(3000);
    p.advance(30, 3e6);
    expect(lines.at(-1)).toBe('\rread: 30 records, 10 rec/s, 1.0 MB/s, 3 s elapsed   ');
  });

  it.each([[0, '0 s'], [0.2, '1 s'], [59, '59 s'], [61, '1 min 01 s'], [3600, '1 h 00 min'], [7385, '2 h 03 min']])('formatDuration(%d) = %s', (s, text) => {
    expect(formatDuration(s)).toBe(text);
  });
});

describe('the CLI on a (fake) terminal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenmix-progress-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const corpus = FIXTURE_CORPUS;

  async function interactive(args: string[]): Promise<string[]> {
    const err: string[] = [];
    const io: CliIo = { out: () => {}, err: (t) => err.push(t), interactive: true };
    expect(await main(args, io)).toBe(0);
    return err.filter((t) => t.startsWith('\r'));
  }
  /** The last progress line of each phase. */
  function finals(lines: string[]): Map<string, string> {
    const byPhase = new Map<string, string>();
    for (const line of lines) byPhase.set(line.slice(1).replace(/: \d.*$/s, ''), line);
    return byPhase;
  }

  it('dedup: signatures and grouping end at 100% with ETA 0 s', async () => {
    const lines = await interactive(['dedup', '--input', join(corpus, 'web.jsonl.zst'), '--input', join(corpus, 'web-extra.jsonl'), '--source', 'web', '--on-error', 'quarantine', '--out', join(dir, 'dedup'), '--backend', 'cpu', '--no-report']);
    expect(lines.join('')).not.toContain('?%');
    const phases = finals(lines);
    expect([...phases.keys()]).toEqual(['dedup signatures', 'dedup grouping']);
    for (const line of phases.values()) expect(line).toMatch(/, 100\.0%, .*ETA 0 s {3}$/);
  });

  it('mix: after curation, the histogram pass and the sampling plan show progress too', async () => {
    const config = fixtureMixConfig(dir, 'mix', (c) => {
      delete c.sweep;
      delete c.optimize;
      c.budget_tokens = 20000;
    });
    const lines = await interactive(['mix', '--config', config, '--out', join(dir, 'mix'), '--backend', 'cpu', '--no-report']);
    const phases = finals(lines);
    expect([...phases.keys()]).toEqual(['curate', 'mix: token histograms', 'mix: sampling plan']);
    for (const line of phases.values()) expect(line).toMatch(/, 100\.0%, .*ETA 0 s {3}$/);
  });
});
