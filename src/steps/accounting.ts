/**
 * Stage accounting (SPEC §2): every stage reports, per source and in total, documents and
 * tokens in and out, dropped by reason, and both acceptance rates. `kept + dropped = in`
 * is checked (checkCounts), not assumed. Counts are plain numbers: exact up to 2^53.
 */
import { invariant } from '../errors.js';
import { dict } from '../dict.js';
import { dropOf, type Fate, type StageName } from './stages.js';

export interface Count {
  docs: number;
  tokens: number;
}

export interface SourceCounts {
  in: Count;
  kept: Count;
  dropped: Record<string, Count>;
}

export class StageCounter {
  readonly perSource = new Map<string, SourceCounts>();

  constructor(readonly name: string) {}

  private entry(source: string): SourceCounts {
    let e = this.perSource.get(source);
    if (!e) this.perSource.set(source, (e = { in: zero(), kept: zero(), dropped: dict() }));
    return e;
  }

  /** Count `docs` documents (one by default) holding `tokens` tokens in all. */
  keep(source: string, tokens: number, docs = 1): void {
    const e = this.entry(source);
    add(e.in, tokens, docs);
    add(e.kept, tokens, docs);
  }

  drop(source: string, tokens: number, reason: string, docs = 1): void {
    const e = this.entry(source);
    add(e.in, tokens, docs);
    add((e.dropped[reason] ??= zero()), tokens, docs);
  }

  /** Its counts as plain data (to cross threads): [source, counts] pairs. */
  entries(): [string, SourceCounts][] {
    return [...this.perSource.entries()];
  }

  /** Add counts made elsewhere (another thread's counter of the same stage). */
  addEntries(entries: readonly [string, SourceCounts][]): void {
    for (const [source, counts] of entries) merge(this.entry(source), counts);
  }

  /** Sum over sources. */
  total(): SourceCounts {
    const t: SourceCounts = { in: zero(), kept: zero(), dropped: dict() };
    for (const e of this.perSource.values()) merge(t, e);
    return t;
  }
}

function zero(): Count {
  return { docs: 0, tokens: 0 };
}

function add(c: Count, tokens: number, docs = 1): void {
  c.docs += docs;
  c.tokens += tokens;
}

function merge(into: SourceCounts, from: SourceCounts): void {
  add(into.in, from.in.tokens, from.in.docs);
  add(into.kept, from.kept.tokens, from.kept.docs);
  for (const [reason, c] of Object.entries(from.dropped)) add((into.dropped[reason] ??= zero()), c.tokens, c.docs);
}

/** Throws if kept + dropped != in for documents or tokens, or a count left exact integers. */
export function checkCounts(stage: string, source: string, c: SourceCounts): void {
  const dropped = Object.values(c.dropped).reduce((s, d) => ({ docs: s.docs + d.docs, tokens: s.tokens + d.tokens }), zero());
  invariant(
    c.kept.docs + dropped.docs === c.in.docs && c.kept.tokens + dropped.tokens === c.in.tokens,
    `stage ${stage}, source ${source}: kept + dropped != in (${JSON.stringify(c)})`,
  );
  invariant(Number.isSafeInteger(c.in.tokens), `stage ${stage}: token count exceeds 2^53`);
}

/** a = n_out / n_in; 1 for an empty stage (nothing was rejected). Rounded for stable JSON. */
export function rate(out: number, input: number): number {
  return input === 0 ? 1 : round(out / input);
}

export function round(value: number, digits = 12): number {
  return Number(value.toPrecision(digits));
}

export interface StageReport {
  name: string;
  docs_in: number;
  docs_out: number;
  tokens_in: number;
  tokens_out: number;
  doc_acceptance: number;
  token_acceptance: number;
  dropped: Record<string, Count>;
  per_source: Record<string, Omit<StageReport, 'name' | 'per_source'>>;
}

function summarize(c: SourceCounts): Omit<StageReport, 'name' | 'per_source'> {
  const dropped: Record<string, Count> = dict();
  for (const reason of Object.keys(c.dropped).sort()) dropped[reason] = c.dropped[reason];
  return {
    docs_in: c.in.docs,
    docs_out: c.kept.docs,
    tokens_in: c.in.tokens,
    tokens_out: c.kept.tokens,
    doc_acceptance: rate(c.kept.docs, c.in.docs),
    token_acceptance: rate(c.kept.tokens, c.in.tokens),
    dropped,
  };
}

/** The stage's report for the manifest, after checking its invariant per source and in total. */
export function reportStage(counter: StageCounter, sources: string[]): StageReport {
  const perSource: StageReport['per_source'] = dict();
  for (const source of sources) {
    const c = counter.perSource.get(source) ?? { in: zero(), kept: zero(), dropped: dict() };
    checkCounts(counter.name, source, c);
    perSource[source] = summarize(c);
  }
  const total = counter.total();
  checkCounts(counter.name, '(all)', total);
  return { name: counter.name, ...summarize(total), per_source: perSource };
}

/**
 * Every stage's counts rebuilt from the records' final fates: a record passes each stage
 * before the one that dropped it and is dropped there with its reason (quarantine: the
 * record's own reason), so each stage's input is the previous one's output by construction.
 */
export class Ledger {
  readonly stages: StageCounter[];

  constructor(stages: readonly StageName[]) {
    this.stages = stages.map((name) => new StageCounter(name));
  }

  /**
   * Account for one record (or `docs` records of one source and fate, `tokens` in all);
   * `quarantineReason` names why a quarantined one was set aside.
   */
  add(source: string, tokens: number, fate: Fate, quarantineReason?: string, docs = 1): void {
    const drop = dropOf(fate);
    for (const counter of this.stages) {
      if (drop?.stage !== counter.name) {
        counter.keep(source, tokens, docs);
        continue;
      }
      const reason = drop.reason ?? quarantineReason;
      invariant(reason !== undefined, `a quarantined record of ${source} has no reason`);
      counter.drop(source, tokens, reason, docs);
      return;
    }
    invariant(drop === null, `a record dropped by ${drop?.stage} reached the ledger of ${this.stages.map((s) => s.name).join(', ')}`);
  }
}
