/**
 * The step contract (in the spirit of datatrove's PipelineStep): a curation stage is a step
 * that consumes batches of records and passes on the ones it does not drop. It declares its
 * stage (stages.ts: its name and drop reasons) and the counters it keeps; it never counts what
 * it keeps or drops: the runner (runner.ts) does, and checks kept + dropped = in per source in
 * documents and tokens. Steps run the same in `tokenmix curate`'s reduce (records read back
 * from the map phase's files) and in the explorer (records in memory).
 *
 * Most stages decide record by record (`judge`). Some need every entering record first:
 * a quantile threshold looks at them all before it cuts (`observe`), dedup decides once it has
 * seen every candidate (`finish`, dropping by position). A step may also decide from facts
 * gathered before the run over every record (the reduce groups ids and exact-dedup keys on
 * the workers before it builds the steps): duplicate ids judge from their repeats, exact dedup
 * finishes over the keys of the records still kept.
 */
import type { StageName } from './stages.js';

/** What the runner needs of every record to account for it (SPEC §2: documents and tokens, per source). */
export interface StepRecord {
  readonly source: string;
  readonly tokens: number;
}

/** The records of one batch that enter a step, in input order. */
export interface StepBatch<R> {
  readonly shard: number;
  readonly records: readonly R[];
  /** Each record's index in its shard (its position for a later drop). */
  readonly indices: readonly number[];
  /** Drop records[k] for `reason`, one of the step's declared reasons. */
  drop(k: number, reason: string): void;
  /** Count records[k] under one of the step's declared counters. */
  count(k: number, counter: string): void;
}

/** Drops the record at (shard, index), which must have entered the step and still be kept. */
export type Dropper = (shard: number, index: number, reason: string) => void;

export interface Step<R extends StepRecord> {
  readonly stage: StageName;
  /** Named per-source counts (documents and tokens) the step keeps beside kept and dropped. */
  readonly counters?: readonly string[];
  /** A first pass over every entering record, before any is judged. */
  observe?(records: readonly R[]): void | Promise<void>;
  /** Decide a batch: drop some, keep the rest. */
  judge?(batch: StepBatch<R>): void | Promise<void>;
  /**
   * What rebuilds this step's judging for the records [first, first + count) of a shard on
   * another thread (plain data; runner.ts `judgePiece`); absent: the step judges only here.
   */
  remote?(shard: number, first: number, count: number): unknown;
  /**
   * The same for `observe`: what rebuilds this step's observing of a piece elsewhere, whose
   * result comes back to `observed` (in piece order). Both or neither.
   */
  remoteObserve?(shard: number, first: number, count: number): unknown;
  observed?(result: unknown): void;
  /**
   * Decide once every entering record has been judged (dedup). `kept(shard, index)` says
   * whether a record is still kept: here, exactly the records that entered this step (a
   * finishing step ends its pass, so no later step has dropped any).
   */
  finish?(drop: Dropper, kept: (shard: number, index: number) => boolean): void | Promise<void>;
}
