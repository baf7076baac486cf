/**
 * Runs steps (step.ts) over records split into shards, and owns their accounting.
 *
 * The runner keeps one fate byte per record (stages.ts) and reads the records as few times as
 * the steps allow: consecutive steps share a pass over the records, except that a step that
 * observes everything first starts a new pass and a step that decides at the end (`finish`)
 * ends one. Each pass hands a step the records still kept, batch by batch; every drop goes
 * through the runner, which checks the reason is one the step declares and the record is still
 * kept, and records the fate.
 *
 * Accounting has two independent halves that must agree: while the steps run, the runner
 * tallies what enters each step (documents and tokens per source) and how many documents it
 * drops per reason; afterwards a Ledger (accounting.ts) rebuilds every stage's counts from the
 * final fates, one record at a time. `report()` checks kept + dropped = in for every stage and
 * source and that both halves give the same numbers.
 */
import { invariant } from '../errors.js';
import { dict } from '../dict.js';
import { reportStage, StageCounter, type Ledger, type SourceCounts, type StageReport } from './accounting.js';
import { dropOf, fateOf, KEPT, QUARANTINED, stageReasons, type StageName } from './stages.js';
import type { Dropper, Step, StepBatch, StepRecord } from './step.js';

/**
 * One shard of records: how many there are, and their batches in index order. A null is a
 * line that holds no record (input a reader could not use): it is quarantined before any step
 * sees it, and whoever reports quarantine knows its problem.
 */
export interface RecordShard<R> {
  length: number;
  batches(): AsyncIterable<readonly (R | null)[]> | Iterable<readonly (R | null)[]>;
  /**
   * Consecutive pieces covering the shard (e.g. the map units' files), which a pass may judge
   * elsewhere (`judgePiece`), one piece each.
   */
  pieces?: readonly { first: number; count: number }[];
}

/** One piece of a shard to judge elsewhere: its records' fates so far, and the pass's step specs. */
export interface PieceRequest {
  shard: number;
  /** The piece's index in its shard's `pieces`, its first record and its length. */
  piece: number;
  first: number;
  count: number;
  fates: Uint8Array;
  /** Each step's `remote(shard, first, count)`, in pass order. */
  steps: unknown[];
}

/** What judging a piece gave (judgeHere): the piece's fates, and per step what the runner tallies. */
export interface PieceResult {
  fates: Uint8Array;
  tallies: { entered: [string, SourceCounts][]; droppedDocs: Record<string, number>; counters: [string, [string, SourceCounts][]][] }[];
}

interface Tally {
  entered: StageCounter;
  /** Documents dropped per reason (tokens come from the ledger). */
  droppedDocs: Record<string, number>;
  counters: Map<string, StageCounter>;
}

export class StepRunner<R extends StepRecord> {
  /** Per shard, per record: its fate (KEPT until a step drops it). */
  readonly fates: Uint8Array[];
  private readonly tallies = new Map<StageName, Tally>();

  /**
   * `judgePiece`, when given, judges one piece of a shard elsewhere (on a worker thread) with
   * the pass's steps rebuilt from their `remote` specs: a judging pass whose steps all have
   * one then runs piece by piece, all at once, and the runner takes their fates and tallies.
   */
  constructor(
    private readonly shards: readonly RecordShard<R>[],
    private readonly judgePiece?: (request: PieceRequest) => Promise<PieceResult>,
    /** Likewise for an observing step with `remoteObserve`: its result for one piece. */
    private readonly observePiece?: (request: PieceRequest) => Promise<unknown>,
  ) {
    this.fates = shards.map((s) => new Uint8Array(s.length));
  }

  /** Run the steps in order; each stage may run once per runner. */
  async run(steps: readonly Step<R>[]): Promise<void> {
    const stages = steps.map((s) => s.stage);
    invariant(new Set(stages).size === stages.length && !stages.some((s) => this.tallies.has(s)), `a stage runs once per runner (${stages.join(', ')})`);
    for (const pass of passes(steps)) {
      if (pass[0].observe) await this.observe(pass[0]);
      await this.judge(pass);
      const last = pass[pass.length - 1];
      if (last.finish) await last.finish(this.dropper(last, this.tally(last)), (shard, index) => this.fates[shard][index] === KEPT);
    }
  }

  /** The stages that ran, in order. */
  get stages(): StageName[] {
    return [...this.tallies.keys()];
  }

  /** Named counts a step kept (per source, documents and tokens). */
  counter(stage: StageName, name: string): StageCounter | undefined {
    return this.tallies.get(stage)?.counters.get(name);
  }

  /**
   * The manifest's stage reports from a ledger built over the final fates, after checking it
   * against what the runner saw while the steps ran.
   */
  report(ledger: Ledger, sources: string[]): StageReport[] {
    return ledger.stages.map((counter) => {
      const stage = counter.name as StageName;
      const tally = this.tallies.get(stage);
      invariant(tally !== undefined, `stage ${stage} is in the ledger but never ran`);
      for (const source of new Set([...counter.perSource.keys(), ...tally.entered.perSource.keys()])) {
        const seen = tally.entered.perSource.get(source)?.in;
        const counted = counter.perSource.get(source)?.in;
        invariant(
          seen?.docs === counted?.docs && seen?.tokens === counted?.tokens,
          `stage ${stage}, source ${source}: ${JSON.stringify(seen)} entered the step but the fates account for ${JSON.stringify(counted)}`,
        );
      }
      const dropped = counter.total().dropped;
      for (const reason of new Set([...Object.keys(dropped), ...Object.keys(tally.droppedDocs)])) {
        invariant((dropped[reason]?.docs ?? 0) === (tally.droppedDocs[reason] ?? 0), `stage ${stage}: drops for "${reason}" do not match the fates`);
      }
      return reportStage(counter, sources);
    });
  }

  private tally(step: Step<R>): Tally {
    let tally = this.tallies.get(step.stage);
    if (!tally) {
      tally = { entered: new StageCounter(step.stage), droppedDocs: dict(), counters: new Map((step.counters ?? []).map((n) => [n, new StageCounter(n)])) };
      this.tallies.set(step.stage, tally);
    }
    return tally;
  }

  private async observe(step: Step<R>): Promise<void> {
    if (this.observePiece && step.remoteObserve && step.observed && this.shards.every((shard) => shard.pieces !== undefined)) {
      const requests = this.pieceRequests((s, first, count) => [step.remoteObserve!(s, first, count)]);
      const results = await Promise.all(requests.map((request) => this.observePiece!(request)));
      for (const result of results) step.observed(result);
      return;
    }
    for (const [shard, input] of this.shards.entries()) {
      const fates = this.fates[shard];
      let index = 0;
      for await (const batch of input.batches()) {
        const entering = batch.filter((r, k): r is R => r !== null && fates[index + k] === KEPT);
        index += batch.length;
        if (entering.length > 0) await step.observe!(entering);
      }
    }
  }

  private async judge(pass: readonly Step<R>[]): Promise<void> {
    const tallies = pass.map((step) => this.tally(step));
    if (this.judgePiece && pass.every((step) => step.remote !== undefined) && this.shards.every((shard) => shard.pieces !== undefined)) {
      await this.judgeInPieces(pass, tallies);
      return;
    }
    for (const [shard, input] of this.shards.entries()) {
      const fates = this.fates[shard];
      let start = 0;
      for await (const batch of input.batches()) {
        const base = start;
        let indices: number[] = [];
        for (let k = 0; k < batch.length; k++) {
          if (fates[base + k] !== KEPT) continue;
          if (batch[k] === null) fates[base + k] = QUARANTINED;
          else indices.push(base + k);
        }
        start += batch.length;
        for (const [s, step] of pass.entries()) {
          if (indices.length === 0) break;
          const records = indices.map((i) => batch[i - base]!);
          for (const r of records) tallies[s].entered.keep(r.source, r.tokens);
          if (!step.judge) continue;
          await step.judge(this.batchFor(step, tallies[s], shard, records, indices));
          indices = indices.filter((i) => fates[i] === KEPT);
        }
      }
      invariant(start === input.length, `shard ${shard} yielded ${start} records, expected ${input.length}`);
    }
  }

  /** One request per piece of every shard, with the piece's fates and the specs `steps` gives. */
  private pieceRequests(steps: (shard: number, first: number, count: number) => unknown[]): PieceRequest[] {
    return this.shards.flatMap((shard, s) => shard.pieces!.map((p, piece): PieceRequest => ({
      shard: s, piece, first: p.first, count: p.count, fates: this.fates[s].slice(p.first, p.first + p.count), steps: steps(s, p.first, p.count),
    })));
  }

  private async judgeInPieces(pass: readonly Step<R>[], tallies: Tally[]): Promise<void> {
    const requests = this.pieceRequests((s, first, count) => pass.map((step) => step.remote!(s, first, count)));
    const results = await Promise.all(requests.map((request) => this.judgePiece!(request)));
    results.forEach((result, r) => {
      const { shard, first, count } = requests[r];
      invariant(result.fates.length === count, `piece ${requests[r].piece} of shard ${shard} came back with ${result.fates.length} fates, not ${count}`);
      this.fates[shard].set(result.fates, first);
      result.tallies.forEach((t, s) => {
        tallies[s].entered.addEntries(t.entered);
        for (const [reason, n] of Object.entries(t.droppedDocs)) tallies[s].droppedDocs[reason] = (tallies[s].droppedDocs[reason] ?? 0) + n;
        for (const [name, entries] of t.counters) tallies[s].counters.get(name)!.addEntries(entries);
      });
    });
  }

  /**
   * The judging half of a pass over one piece (a shard of its own here), for `judgePiece` on
   * the other side: `fates` are the piece's fates so far.
   */
  async judgeHere(pass: readonly Step<R>[], fates: Uint8Array): Promise<PieceResult> {
    this.takePiece(fates);
    await this.judge(pass);
    return {
      fates: this.fates[0],
      tallies: pass.map((step) => {
        const t = this.tally(step);
        return { entered: t.entered.entries(), droppedDocs: { ...t.droppedDocs }, counters: [...t.counters].map(([name, c]) => [name, c.entries()]) };
      }),
    };
  }

  /** `step` observes one piece's records still kept (`observePiece`'s other side); its result is the step's to give. */
  async observeHere(step: Step<R>, fates: Uint8Array): Promise<void> {
    this.takePiece(fates);
    await this.observe(step);
  }

  private takePiece(fates: Uint8Array): void {
    invariant(this.shards.length === 1 && fates.length === this.fates[0].length, 'a piece is run as one shard of its length');
    this.fates[0].set(fates);
  }

  private batchFor(step: Step<R>, tally: Tally, shard: number, records: R[], indices: number[]): StepBatch<R> {
    const drop = this.dropper(step, tally);
    return {
      shard,
      records,
      indices,
      drop: (k, reason) => drop(shard, indices[k], reason),
      count: (k, name) => {
        const counter = tally.counters.get(name);
        invariant(counter !== undefined, `stage ${step.stage} declares no counter "${name}"`);
        counter.keep(records[k].source, records[k].tokens);
      },
    };
  }

  private dropper(step: Step<R>, tally: Tally): Dropper {
    const reasons = stageReasons(step.stage);
    return (shard, index, reason) => {
      invariant(reasons === null || reasons.includes(reason), `stage ${step.stage} declares no drop reason "${reason}"`);
      const fates = this.fates[shard];
      invariant(index >= 0 && index < fates.length, `stage ${step.stage}: no record ${index} in shard ${shard}`);
      invariant(fates[index] === KEPT, `stage ${step.stage}: record ${index} of shard ${shard} was already dropped by ${dropOf(fates[index])?.stage}`);
      fates[index] = fateOf(step.stage, reason);
      tally.droppedDocs[reason] = (tally.droppedDocs[reason] ?? 0) + 1;
    };
  }
}

/** Steps grouped into passes: an observing step starts one, a finishing step ends one. */
function passes<R extends StepRecord>(steps: readonly Step<R>[]): Step<R>[][] {
  const out: Step<R>[][] = [];
  let current: Step<R>[] = [];
  for (const step of steps) {
    if (step.observe && current.length > 0) {
      out.push(current);
      current = [];
    }
    current.push(step);
    if (step.finish) {
      out.push(current);
      current = [];
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}
