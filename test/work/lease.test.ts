/**
 * The lease of src/work/lease.ts: one holder at a time, renewal while the main thread is
 * busy, expiry of a silent holder by the filesystem's clock, immediate takeover of a dead
 * local holder and of torn files, single-winner takeover, and loss detection.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TokenmixError } from '../../src/errors.js';
import { exclusively } from '../../src/work/exclusive.js';
import { LeaseManager } from '../../src/work/lease.js';

const root = mkdtempSync(join(tmpdir(), 'tokenmix-lease-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const freshDir = () => mkdtempSync(join(root, 'case-'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A pid that surely belongs to no running process: a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('lease', () => {
  it('has one holder at a time; a release lets the next one in', async () => {
    const path = join(freshDir(), 'x.lease');
    const first = await new LeaseManager(path).acquire();
    expect(new LeaseManager(path).tryAcquire()).toBeNull();
    await first.release();
    expect(existsSync(path)).toBe(false);
    const second = new LeaseManager(path).tryAcquire();
    expect(second).not.toBeNull();
    await second!.release();
  });

  it('many contenders in turn never overlap, and each gets the lease', async () => {
    const path = join(freshDir(), 'x.lease');
    const events: string[] = [];
    let inside = 0;
    let overlaps = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, k) => {
        const lease = await new LeaseManager(path, { pollMs: 5 }).acquire();
        inside++;
        if (inside > 1) overlaps++;
        events.push(`in ${k}`);
        await sleep(10);
        inside--;
        events.push(`out ${k}`);
        await lease.release();
      }),
    );
    expect(overlaps).toBe(0);
    expect(events.length).toBe(16);
    for (let i = 0; i < 16; i += 2) expect(events[i].slice(3)).toBe(events[i + 1].slice(4));
  });

  it('is renewed from a worker while the main thread is blocked', async () => {
    const path = join(freshDir(), 'x.lease');
    const lease = await new LeaseManager(path, { ttlMs: 600, renewMs: 30 }).acquire();
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    const before = statSync(path).mtimeMs;
    // A long synchronous step: no timer of the main thread can fire until it ends (at most
    // 10 s on a loaded machine, or as soon as the lease was renewed).
    const until = Date.now() + 10_000;
    while (Date.now() < until && statSync(path).mtimeMs < before + 30_000) {
      // busy
    }
    expect(statSync(path).mtimeMs).toBeGreaterThan(before + 30_000);
    // ... so a contender on another host does not take it over.
    expect(new LeaseManager(path, { ttlMs: 600 }).tryAcquire()).toBeNull();
    await lease.release();
  });

  it('a holder on another host that stops renewing expires after the TTL, by the file mtime', async () => {
    const dir = freshDir();
    const path = join(dir, 'x.lease');
    writeFileSync(path, `${JSON.stringify({ token: 'elsewhere-token', host: 'another-host', pid: process.pid })}\n`);
    const waited: unknown[] = [];
    const started = Date.now();
    const lease = await new LeaseManager(path, { ttlMs: 500, pollMs: 20, onWait: (holder) => waited.push(holder) }).acquire();
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(waited).toEqual([{ token: 'elsewhere-token', host: 'another-host', pid: process.pid }]);
    await lease.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a holder on this host whose process is gone is taken over at once', async () => {
    const path = join(freshDir(), 'x.lease');
    const { hostname } = await import('node:os');
    writeFileSync(path, `${JSON.stringify({ token: 'dead', host: hostname(), pid: deadPid() })}\n`);
    const started = Date.now();
    const lease = await new LeaseManager(path, { ttlMs: 60_000 }).acquire();
    expect(Date.now() - started).toBeLessThan(5_000);
    await lease.release();
  });

  it.each([
    ['empty', ''],
    ['torn', '{"token":"abc","ho'],
    ['not ours', 'locked by someone\n'],
  ])('an %s lease file never blocks', async (_name, text) => {
    const path = join(freshDir(), 'x.lease');
    writeFileSync(path, text);
    const lease = await new LeaseManager(path, { ttlMs: 60_000 }).acquire();
    expect(lease.lost).toBeNull();
    await lease.release();
  });

  it('an expired lease is taken over by exactly one of many contenders at a time', async () => {
    const dir = freshDir();
    const path = join(dir, 'x.lease');
    writeFileSync(path, `${JSON.stringify({ token: 'stale', host: 'another-host', pid: 1 })}\n`);
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(path, old, old);
    let inside = 0;
    let overlaps = 0;
    let done = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const lease = await new LeaseManager(path, { ttlMs: 5_000, pollMs: 5 }).acquire();
        if (++inside > 1) overlaps++;
        await sleep(15);
        inside--;
        done++;
        await lease.release();
      }),
    );
    expect([overlaps, done]).toEqual([0, 8]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a holder whose lease was taken over learns it and refuses to commit', async () => {
    const path = join(freshDir(), 'x.lease');
    const lease = await new LeaseManager(path, { renewMs: 20 }).acquire();
    unlinkSync(path);
    writeFileSync(path, `${JSON.stringify({ token: 'thief', host: 'another-host', pid: 1 })}\n`);
    for (let i = 0; i < 100 && lease.lost === null; i++) await sleep(20);
    expect(lease.lost).toMatch(/another process holds it/);
    expect(() => lease.assertHeld()).toThrow(TokenmixError);
    await lease.release();
    expect(existsSync(path)).toBe(true); // the thief's lease is not ours to remove
  });
});

describe('exclusively', () => {
  it('a process that waited for the finisher of the same step skips it; a later run does it again', async () => {
    const dir = freshDir();
    const ran: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = exclusively(dir, 'step', 'key-1', async () => {
      ran.push('first');
      await gate;
      return 1;
    });
    await sleep(50);
    const second = exclusively(dir, 'step', 'key-1', async () => {
      ran.push('second');
      return 2;
    }, { pollMs: 10 });
    await sleep(50);
    release();
    expect(await first).toEqual({ status: 'done', value: 1 });
    expect(await second).toEqual({ status: 'done-elsewhere' });
    expect(await exclusively(dir, 'step', 'key-1', async () => 3)).toEqual({ status: 'done', value: 3 });
    expect(ran).toEqual(['first']);
  });

  it('a waiter for a step with another key does its own step', async () => {
    const dir = freshDir();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = exclusively(dir, 'step', 'key-1', async () => gate.then(() => 1));
    await sleep(50);
    const second = exclusively(dir, 'step', 'key-2', async () => 2, { pollMs: 10 });
    await sleep(50);
    release();
    expect(await first).toEqual({ status: 'done', value: 1 });
    expect(await second).toEqual({ status: 'done', value: 2 });
  });

  it('a step that fails leaves no done record and frees the lease', async () => {
    const dir = freshDir();
    await expect(exclusively(dir, 'step', 'k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(readdirSync(dir)).toEqual([]);
    expect(await exclusively(dir, 'step', 'k', async () => 'ok')).toEqual({ status: 'done', value: 'ok' });
  });
});
