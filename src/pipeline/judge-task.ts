/**
 * One map unit's records judged on a worker thread by the curation steps of a pass (the step
 * runner's `judgePiece`, src/steps/runner.ts): the steps are rebuilt from their specs
 * (steps/curation.ts remoteStep), the unit's intermediate is read here, and what comes back is
 * the unit's fates and the runner's tallies for it. The reduce's judging pass thus spreads over
 * the cores, unit by unit, with the same accounting as on one thread. `curate-observe` does the
 * same for an observing step (the quality histograms of the records still kept).
 */
import type { Task } from '../exec/executor.js';
import { StepRunner, type PieceResult } from '../steps/runner.js';
import { remoteObserver, remoteStep, type RemoteObserveSpec, type RemoteSpec } from '../steps/curation.js';
import type { ThresholdTotals } from '../cpu/threshold.js';
import { chunked, stepRecords, type ReduceRecord } from './records.js';

export interface CurateJudgeTask extends Task {
  kind: 'curate-judge';
  /** The unit's intermediate file. */
  records: string;
  batchSize: number;
  /** The unit's fates so far, one per line. */
  fates: Uint8Array;
  steps: RemoteSpec[];
}

export function runCurateJudge(task: CurateJudgeTask): Promise<PieceResult> {
  return pieceRunner(task).judgeHere(task.steps.map((spec) => remoteStep<ReduceRecord>(spec)), task.fates);
}

export interface CurateObserveTask extends Task {
  kind: 'curate-observe';
  records: string;
  batchSize: number;
  fates: Uint8Array;
  spec: RemoteObserveSpec;
}

export async function runCurateObserve(task: CurateObserveTask): Promise<ThresholdTotals> {
  const observer = remoteObserver(task.spec);
  await pieceRunner(task).observeHere({ stage: 'quality', observe: (records) => observer.observe(records) }, task.fates);
  return observer.result();
}

/** A runner over the unit's intermediate alone (one shard). */
function pieceRunner(task: { records: string; batchSize: number; fates: Uint8Array }): StepRunner<ReduceRecord> {
  return new StepRunner<ReduceRecord>([{ length: task.fates.length, batches: () => chunked(stepRecords(task.records), task.batchSize) }]);
}
