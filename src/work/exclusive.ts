/**
 * "Exactly one process does this step": the step runs under a lease (lease.ts), and its
 * holder leaves a done record naming itself and the step's key before it lets go. A process
 * that waited for that very holder and then finds the record knows the step is done and
 * skips it; a process that saw no holder (a plain rerun) does the step again.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LeaseManager, type Lease, type LeaseOptions } from './lease.js';

export type ExclusiveOutcome<T> = { status: 'done'; value: T } | { status: 'done-elsewhere' };

interface DoneRecord {
  token: string;
  key: string;
}

export function donePath(dir: string, name: string): string {
  return join(dir, `${name}.done`);
}

/** The done record's token, or null when there is none (or it is unreadable). */
export function readDoneToken(dir: string, name: string, key: string): string | null {
  try {
    const record = JSON.parse(readFileSync(donePath(dir, name), 'utf8')) as Partial<DoneRecord>;
    return record.key === key && typeof record.token === 'string' ? record.token : null;
  } catch {
    return null;
  }
}

/**
 * Run `step` while holding the lease `dir/name.lease`, unless a process this one waited for
 * completed the same step (same `key`) meanwhile.
 */
export async function exclusively<T>(
  dir: string,
  name: string,
  key: string,
  step: (lease: Lease) => Promise<T>,
  options: LeaseOptions & { afterDone?: () => void } = {},
): Promise<ExclusiveOutcome<T>> {
  const manager = new LeaseManager(join(dir, `${name}.lease`), options);
  const lease = await manager.acquire();
  try {
    const finisher = readDoneToken(dir, name, key);
    if (finisher !== null && manager.observed.has(finisher)) return { status: 'done-elsewhere' };
    const value = await step(lease);
    lease.assertHeld();
    const record: DoneRecord = { token: lease.holder.token, key };
    const path = donePath(dir, name);
    writeFileSync(`${path}.${lease.holder.token}.partial`, `${JSON.stringify(record)}\n`);
    renameSync(`${path}.${lease.holder.token}.partial`, path);
    // Still under the lease, and after the record: whoever fails because of this clean-up
    // (a duplicate still working) can see that the step was done.
    options.afterDone?.();
    return { status: 'done', value };
  } finally {
    await lease.release();
  }
}
