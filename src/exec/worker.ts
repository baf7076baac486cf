/**
 * Entry of a worker thread of the local executor: runs one task at a time, dispatching on its
 * kind. Per-run resources (tokenizer, contamination index) are built once per thread and kept
 * for the run's later units.
 */
import type { MessagePort } from 'node:worker_threads';
import { curateResources, runCurateUnit, type CurateResources, type CurateUnitTask } from '../pipeline/curate-task.js';
import { runSignatureUnit, type SignatureUnitTask } from '../dedup/signature-task.js';
import { runFirstPass, runGroupRange, runIntersectPairs, type FirstPassTask, type GroupRangeTask, type IntersectPairsTask } from '../dedup/group-phase.js';
import { runClusterScan, runClusterWrite, type ClusterScanTask, type ClusterWriteTask } from '../dedup/cluster-tasks.js';
import { invariant } from '../errors.js';
import { runIdRepeats, runIdScatter, type IdRepeatsTask, type IdScatterTask } from '../dedup/unique-ids.js';
import { runHashTask, type DescribeFileTask, type HashFileTask } from '../work/file-hashing.js';
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
  | DescribeFileTask
) & { port: MessagePort };

const resources = new Map<string, Promise<CurateResources>>();

export default async function runTask(task: AnyTask): Promise<unknown> {
  const link = portLink(task.port);
  try {
    switch (task.kind) {
      case 'count-newlines':
        return await countNewlines(task.path, task.start, task.end);
      case 'curate-unit': {
        let shared = resources.get(task.fingerprint);
        if (shared === undefined) {
          resources.clear();
          shared = curateResources(task.config, task.baseDir);
          resources.set(task.fingerprint, shared);
        }
        return await runCurateUnit(task, link, await shared);
      }
      case 'signature-unit':
        return await runSignatureUnit(task, link);
      case 'group-range':
        return await runGroupRange(task);
      case 'intersect-pairs':
        return runIntersectPairs(task);
      case 'first-pass':
        return runFirstPass(task);
      case 'cluster-scan':
        return await runClusterScan(task);
      case 'cluster-write':
        return await runClusterWrite(task);
      case 'id-scatter':
        return await runIdScatter(task);
      case 'id-repeats':
        return runIdRepeats(task);
      case 'hash-file':
      case 'describe-file':
        return await runHashTask(task);
      default:
        invariant(false, `unknown task kind ${(task as { kind: string }).kind}`);
    }
  } finally {
    task.port.close();
  }
}
