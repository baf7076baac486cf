/**
 * A lease on a path: at most one live holder among processes on any host that share the
 * directory (a local disk or a shared filesystem such as NFS or Lustre).
 *
 * - Creation is atomic and never torn: the content is written to a private file first and
 *   hard-linked to the lease name (link fails with EEXIST when someone holds it).
 * - The holder renews by rewriting the same bytes from a worker thread (heartbeat.ts), so a
 *   main thread busy in a long synchronous step still renews; a crashed holder stops.
 * - Expiry compares the lease file's mtime with the filesystem's own clock (the mtime of a
 *   probe file written now), never with this host's clock: hosts may disagree on the time.
 * - Only on the holder's own host is a dead pid proof of a crash (no pid checks across hosts).
 * - An empty or unparsable lease file cannot be one of ours (ours appear whole), so it never
 *   blocks: it is taken over at once.
 * - Taking over an expired lease is single-winner: contenders race to create a claim file
 *   named after the expired lease's inode and mtime, and the winner removes that lease only if
 *   it is still the same file.
 *
 * proper-lockfile (4.1.2) was considered and not used: its stale takeover is rmdir + mkdir,
 * which lets two processes hold the lock (moxystudio/node-proper-lockfile#121), it compares
 * mtimes with the local clock, and its timers run on the main thread.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { TokenmixError } from '../errors.js';
import { startHeartbeat, type Heartbeat } from './heartbeat.js';

export interface LeaseHolder {
  token: string;
  host: string;
  pid: number;
}

export interface LeaseOptions {
  /** A lease not renewed for this long is expired (default 30 s). */
  ttlMs?: number;
  /** How often the holder renews (default ttlMs / 6). */
  renewMs?: number;
  /** How often a waiter looks again (default 200 ms). */
  pollMs?: number;
  /** Called once when this process starts waiting for another holder. */
  onWait?: (holder: LeaseHolder | null) => void;
}

const DEFAULT_TTL_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Only errors that mean "not there" are expected between processes; others are real. */
function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}

export function parseHolder(text: string): LeaseHolder | null {
  try {
    const value = JSON.parse(text) as Partial<LeaseHolder>;
    if (typeof value.token === 'string' && typeof value.host === 'string' && typeof value.pid === 'number') {
      return { token: value.token, host: value.host, pid: value.pid };
    }
  } catch {
    // torn or foreign content: not a lease of ours
  }
  return null;
}

/** What a waiter sees at the lease path: the file's identity and, when readable, its holder. */
interface Seen {
  ino: number;
  mtimeMs: number;
  size: number;
  holder: LeaseHolder | null;
}

function look(path: string): Seen | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    return { ino: stat.ino, mtimeMs: stat.mtimeMs, size: stat.size, holder: parseHolder(readFileSync(fd, 'utf8')) };
  } finally {
    closeSync(fd);
  }
}

/** The filesystem's notion of now: the mtime it gives a file written now. */
export function filesystemNow(path: string, token: string): number {
  const probe = `${path}.clock-${token}`;
  writeFileSync(probe, '');
  try {
    return statSync(probe).mtimeMs;
  } finally {
    removeQuietly(probe);
  }
}

/** Whether a process of this host with that pid exists (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Lease {
  private heartbeat: Heartbeat | null;
  private released = false;

  constructor(
    readonly path: string,
    readonly holder: LeaseHolder,
    private readonly claim: string | null,
    renewMs: number,
  ) {
    this.heartbeat = startHeartbeat(path, holder.token, renewMs);
  }

  /** Why the lease was lost (another process took it over after it looked expired), or null. */
  get lost(): string | null {
    return this.heartbeat?.lost() ?? null;
  }

  /** Throws when the lease was lost: call before committing work only the holder may commit. */
  assertHeld(): void {
    const lost = this.lost;
    if (lost) {
      throw new TokenmixError(
        `lost the lease ${this.path} (${lost}): another process took over after it looked expired (was this one suspended?); rerun the command`,
      );
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.heartbeat?.stop();
    this.heartbeat = null;
    const seen = look(this.path);
    if (seen?.holder?.token === this.holder.token) removeQuietly(this.path);
    if (this.claim) removeQuietly(this.claim);
  }
}

export class LeaseManager {
  readonly ttlMs: number;
  readonly renewMs: number;
  readonly pollMs: number;
  /** Tokens of the holders this process saw while it waited. */
  readonly observed = new Set<string>();
  private readonly me: LeaseHolder;

  constructor(
    readonly path: string,
    private readonly options: LeaseOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.renewMs = options.renewMs ?? Math.max(10, Math.floor(this.ttlMs / 6));
    this.pollMs = options.pollMs ?? 200;
    this.me = { token: randomBytes(12).toString('hex'), host: hostname(), pid: process.pid };
  }

  /** Wait until this process holds the lease. */
  async acquire(): Promise<Lease> {
    let waiting = false;
    for (;;) {
      const lease = this.tryAcquire();
      if (lease) return lease;
      const seen = look(this.path);
      if (seen === null) continue; // released meanwhile: try again at once
      if (seen.holder) this.observed.add(seen.holder.token);
      if (this.expired(seen)) {
        const taken = this.takeOver(seen);
        if (taken) return taken;
        continue;
      }
      if (!waiting) {
        waiting = true;
        this.options.onWait?.(seen.holder);
      }
      await sleep(this.pollMs);
    }
  }

  /** Create the lease if nobody holds it. */
  tryAcquire(claim: string | null = null): Lease | null {
    const own = `${this.path}.${this.me.token}.new`;
    const fd = openSync(own, 'wx');
    try {
      const bytes = Buffer.from(`${JSON.stringify(this.me)}\n`);
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(own, this.path);
    } catch (error) {
      // Over NFS a retried link whose first reply was lost says EEXIST although it was made:
      // the private file's link count tells (the classic NFS lock-file recipe).
      const made = (error as NodeJS.ErrnoException).code === 'EEXIST' && statSync(own).nlink === 2;
      if (!made) {
        removeQuietly(own);
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
        throw error;
      }
    }
    removeQuietly(own);
    return new Lease(this.path, this.me, claim, this.renewMs);
  }

  private expired(seen: Seen): boolean {
    if (seen.holder === null) return true;
    if (seen.holder.host === this.me.host && seen.holder.pid !== this.me.pid && !processAlive(seen.holder.pid)) return true;
    return filesystemNow(this.path, this.me.token) - seen.mtimeMs > this.ttlMs;
  }

  private takeOver(seen: Seen): Lease | null {
    const claim = `${this.path}.claim-${seen.ino}-${Math.round(seen.mtimeMs)}-${seen.size}`;
    try {
      writeFileSync(claim, `${JSON.stringify(this.me)}\n`, { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      this.dropAbandonedClaim(claim);
      return null;
    }
    const now = look(this.path);
    if (now && now.ino === seen.ino && now.mtimeMs === seen.mtimeMs && now.size === seen.size) removeQuietly(this.path);
    const lease = this.tryAcquire(claim);
    if (!lease) removeQuietly(claim);
    return lease;
  }

  /** A claim whose taker crashed midway would block the takeover forever: it expires too. */
  private dropAbandonedClaim(claim: string): void {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(claim).mtimeMs;
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    if (filesystemNow(this.path, this.me.token) - mtimeMs > this.ttlMs) removeQuietly(claim);
  }
}
