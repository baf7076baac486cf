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
import { KEPT } from '../steps/stages.js';
import type { ThresholdTotals } from '../cpu/threshold.js';
import { jsonLines } from '../work/json-lines.js';
import { chunked } from './records.js';
import type { ReduceRecord } from './reduce.js';
import type { ShardRecord } from './shard.js';

export interface CurateJudgeTask extends Task {
  kind: 'curate-judge';
  /** The unit's intermediate file. */
  records: string;
  batchSize: number;
  /** The unit's fates so far, one per line. */
  fates: Uint8Array;
  steps: RemoteSpec[];
}

function* unitRecords(path: string): Generator<ReduceRecord | null> {
  for (const record of jsonLines<ShardRecord>(path)) yield record.id === undefined ? null : record;
}

export function runCurateJudge(task: CurateJudgeTask): Promise<PieceResult> {
  const runner = new StepRunner<ReduceRecord>([{ length: task.fates.length, batches: () => chunked(unitRecords(task.records), task.batchSize) }]);
  return runner.judgeHere(task.steps.map((spec) => remoteStep<ReduceRecord>(spec)), task.fates);
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
  let batch: ReduceRecord[] = [];
  let index = 0;
  for (const record of unitRecords(task.records)) {
    if (record !== null && task.fates[index] === KEPT) batch.push(record);
    index++;
    if (batch.length >= task.batchSize) {
      await observer.observe(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await observer.observe(batch);
  if (index !== task.fates.length) throw new Error(`tokenmix internal error: ${task.records} has ${index} lines, its fates ${task.fates.length}`);
  return observer.result();
}
