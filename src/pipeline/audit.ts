/**
 * Audit samples (SPEC §2): per stage and reason (and of the kept records), the records
 * whose seeded sample key is smallest. The key depends only on the seed and the record id,
 * so the sample is the same whatever the sharding, order or backend.
 */
import { hash } from 'node:crypto';

export interface AuditCandidate {
  key: string;
  shard: number;
  row: number;
  id: string;
  source: string;
  tokens: number;
  stage: string;
  reason: string;
}

export function sampleKey(seed: number, id: string): string {
  return hash('sha256', `${seed}\u0000${id}`, 'hex').slice(0, 16);
}

/** Keeps the `limit` smallest-key candidates of each group (stage/reason). */
export class AuditSampler {
  private readonly groups = new Map<string, AuditCandidate[]>();

  constructor(private readonly seed: number, private readonly limit: number) {}

  offer(candidate: Omit<AuditCandidate, 'key'>): void {
    if (this.limit === 0) return;
    const group = `${candidate.stage}/${candidate.reason}`;
    let list = this.groups.get(group);
    if (!list) this.groups.set(group, (list = []));
    const key = sampleKey(this.seed, candidate.id);
    if (list.length >= this.limit && key >= list[list.length - 1].key) return;
    const entry = { ...candidate, key };
    let i = list.length;
    while (i > 0 && list[i - 1].key > key) i--;
    list.splice(i, 0, entry);
    if (list.length > this.limit) list.pop();
  }

  /** Groups sorted by name, each sorted by key. */
  result(): [string, AuditCandidate[]][] {
    return [...this.groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}
