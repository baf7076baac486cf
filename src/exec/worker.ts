/**
 * Entry of a worker thread of the local executor: runs one task at a time, dispatching on its
 * kind. Per-run resources (tokenizer, contamination index) are built once per thread and kept
 * for the run's later units. A kind's modules are loaded by its first task, so a dedup worker
 * does not start by compiling curate's (and the other way round): a third of its start-up.
 */
import type { MessagePort } from 'node:worker_threads';
import type { CurateResources, CurateUnitTask } from '../pipeline/curate-task.js';
import type { SignatureUnitTask } from '../dedup/signature-task.js';
import type { FirstPassTask, GroupRangeTask, IntersectPairsTask } from '../dedup/group-phase.js';
import type { ClusterScanTask, ClusterWriteTask } from '../dedup/cluster-tasks.js';
import { invariant } from '../errors.js';
import type { IdScatterTask } from '../dedup/unique-ids.js';
import type { IdRepeatsTask } from '../work/key-partitions.js';
import type { ExactDecideTask, KeyScatterTask } from '../pipeline/key-scatter.js';
import type { UnitOutputsTask } from '../pipeline/unit-outputs.js';
import type { CurateJudgeTask, CurateObserveTask } from '../pipeline/judge-task.js';
import type { DescribeFileTask, HashFileTask } from '../work/file-hashing.js';
import type { CountNewlinesTask } from './run-units.js';
import { countNewlines } from './units.js';
import { portLink } from './worker-link.js';

type AnyTask = (
  | CurateUnitTask
  | SignatureUnitTask
  | CountNewlinesTask
  | GroupRangeTask
  | IntersectPairsTask
  | FirstPassTask
  | ClusterScanTask
  | ClusterWriteTask
  | HashFileTask
  | IdScatterTask
  | IdRepeatsTask
  | KeyScatterTask
  | ExactDecideTask
  | UnitOutputsTask
  | CurateJudgeTask
  | CurateObserveTask
  | DescribeFileTask
) & { port: MessagePort };

const resources = new Map<string, Promise<CurateResources>>();

/** Grouping's module, once a group-range task loaded it: its bucket table goes when other work comes. */
let grouping: typeof import('../dedup/group-phase.js') | null = null;

export default async function runTask(task: AnyTask): Promise<unknown> {
  const link = portLink(task.port);
  if (task.kind !== 'group-range') grouping?.releaseGroupingMemory();
  try {
    switch (task.kind) {
      case 'count-newlines':
        return await countNewlines(task.path, task.start, task.end);
      case 'curate-unit': {
        const { curateResources, runCurateUnit } = await import('../pipeline/curate-task.js');
        let shared = resources.get(task.fingerprint);
        if (shared === undefined) {
          resources.clear();
          shared = curateResources(task.config, task.baseDir);
          resources.set(task.fingerprint, shared);
        }
        return await runCurateUnit(task, link, await shared);
      }
      case 'signature-unit':
        return await (await import('../dedup/signature-task.js')).runSignatureUnit(task, link);
      case 'group-range':
        grouping = await import('../dedup/group-phase.js');
        return await grouping.runGroupRange(task);
      case 'intersect-pairs':
        return (await import('../dedup/group-phase.js')).runIntersectPairs(task);
      case 'first-pass':
        return (await import('../dedup/group-phase.js')).runFirstPass(task);
      case 'cluster-scan':
        return await (await import('../dedup/cluster-tasks.js')).runClusterScan(task);
      case 'cluster-write':
        return await (await import('../dedup/cluster-tasks.js')).runClusterWrite(task);
      case 'id-scatter':
        return (await import('../dedup/unique-ids.js')).runIdScatter(task);
      case 'id-repeats':
        return (await import('../work/key-partitions.js')).runIdRepeats(task);
      case 'key-scatter':
        return (await import('../pipeline/key-scatter.js')).runKeyScatter(task);
      case 'exact-decide':
        return (await import('../pipeline/key-scatter.js')).runExactDecide(task);
      case 'curate-judge':
        return await (await import('../pipeline/judge-task.js')).runCurateJudge(task);
      case 'curate-observe':
        return await (await import('../pipeline/judge-task.js')).runCurateObserve(task);
      case 'unit-outputs':
        return (await import('../pipeline/unit-outputs.js')).runUnitOutputs(task);
      case 'hash-file':
      case 'describe-file':
        return await (await import('../work/file-hashing.js')).runHashTask(task);
      default:
        invariant(false, `unknown task kind ${(task as { kind: string }).kind}`);
    }
  } finally {
    task.port.close();
  }
}
