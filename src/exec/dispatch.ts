/**
 * Every task kind, run on the current thread: a worker thread's entry (worker.ts) runs its tasks
 * here, and so does the calling thread of a run without workers, so each kind is dispatched in
 * one place. A kind's modules are loaded by its first task, so a dedup worker does not start by
 * compiling curate's (and the other way round): a third of its start-up. Per-run resources
 * (tokenizer, contamination index) are built once per thread and kept for the run's later units.
 */
import type { Task, TaskHandler, TaskLink } from './executor.js';
import type { CurateResources, CurateUnitTask } from '../pipeline/curate-task.js';
import type { SignatureUnitTask } from '../dedup/signature-task.js';
import type { FirstPassTask, GroupRangeTask, IntersectPairsTask } from '../dedup/group-phase.js';
import type { ClusterScanTask, ClusterWriteTask } from '../dedup/cluster-tasks.js';
import { invariant } from '../errors.js';
import type { IdCollisionsTask, IdHashesTask, IdScatterTask } from '../dedup/unique-ids.js';
import type { IdRepeatsTask } from '../work/key-partitions.js';
import type { ExactDecideTask, KeyScatterTask } from '../pipeline/key-scatter.js';
import type { UnitOutputsTask } from '../pipeline/unit-outputs.js';
import type { CurateJudgeTask, CurateObserveTask } from '../pipeline/judge-task.js';
import type { DescribeFileTask, HashFileTask } from '../work/file-hashing.js';
import type { CountNewlinesTask } from './run-units.js';
import type { EncodeBatchTask } from '../pipeline/encode-task.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { countNewlines } from './units.js';

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
  | IdHashesTask
  | IdCollisionsTask
  | IdRepeatsTask
  | KeyScatterTask
  | ExactDecideTask
  | UnitOutputsTask
  | CurateJudgeTask
  | CurateObserveTask
  | DescribeFileTask
  | EncodeBatchTask
);

const resources = new Map<string, Promise<CurateResources>>();
/** Tokenizers of encode-batch tasks, by spec and directory (one at a time: a run has one). */
const tokenizers = new Map<string, Promise<Tokenizer>>();

/** The cached value of `key`, made once per thread; a new key replaces it (a run has one tokenizer, one set of resources). */
function latest<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let value = cache.get(key);
  if (value === undefined) {
    cache.clear();
    value = make();
    cache.set(key, value);
  }
  return value;
}

/** Grouping's module, once a group-range task loaded it: its bucket table goes when other work comes. */
let grouping: typeof import('../dedup/group-phase.js') | null = null;

/** Runs any task kind on this thread (a worker's, or the calling thread of a run without workers). */
export async function runTaskHere(task: Task, link: TaskLink): Promise<unknown> {
  const any = task as AnyTask;
  if (any.kind !== 'group-range') grouping?.releaseGroupingMemory();
  switch (any.kind) {
    case 'count-newlines':
      return await countNewlines(any.path, any.start, any.end);
    case 'curate-unit': {
      const { curateResources, runCurateUnit } = await import('../pipeline/curate-task.js');
      return await runCurateUnit(any, link, await latest(resources, any.fingerprint, () => curateResources(any.config, any.baseDir)));
    }
    case 'signature-unit':
      return await (await import('../dedup/signature-task.js')).runSignatureUnit(any, link);
    case 'group-range':
      grouping = await import('../dedup/group-phase.js');
      return await grouping.runGroupRange(any);
    case 'intersect-pairs':
      return (await import('../dedup/group-phase.js')).runIntersectPairs(any);
    case 'first-pass':
      return (await import('../dedup/group-phase.js')).runFirstPass(any);
    case 'cluster-scan':
      return await (await import('../dedup/cluster-tasks.js')).runClusterScan(any);
    case 'cluster-write':
      return await (await import('../dedup/cluster-tasks.js')).runClusterWrite(any);
    case 'id-scatter':
      return (await import('../dedup/unique-ids.js')).runIdScatter(any);
    case 'id-hashes':
      return (await import('../dedup/unique-ids.js')).runIdHashes(any);
    case 'id-collisions':
      return (await import('../dedup/unique-ids.js')).runIdCollisions(any);
    case 'id-repeats':
      return (await import('../work/key-partitions.js')).runIdRepeats(any);
    case 'key-scatter':
      return (await import('../pipeline/key-scatter.js')).runKeyScatter(any);
    case 'exact-decide':
      return (await import('../pipeline/key-scatter.js')).runExactDecide(any);
    case 'curate-judge':
      return await (await import('../pipeline/judge-task.js')).runCurateJudge(any);
    case 'curate-observe':
      return await (await import('../pipeline/judge-task.js')).runCurateObserve(any);
    case 'unit-outputs':
      return (await import('../pipeline/unit-outputs.js')).runUnitOutputs(any);
    case 'encode-batch': {
      const { loadTokenizer } = await import('../text/load-node.js');
      const tokenizer = await latest(tokenizers, `${any.baseDir}\0${any.tokenizer}`, () => loadTokenizer(any.tokenizer, { baseDir: any.baseDir }));
      return (await import('../pipeline/encode-task.js')).encodeTexts(tokenizer, any.texts);
    }
    case 'hash-file':
    case 'describe-file':
      return await (await import('../work/file-hashing.js')).runHashTask(any);
    default:
      invariant(false, `unknown task kind ${(any as { kind: string }).kind}`);
  }
}

/** A handler for the calling thread: `kind`'s tasks to `own` (they need this thread's state), the rest as on a worker. */
export function ownKind(kind: string, own: TaskHandler): TaskHandler {
  return (task, link) => (task.kind === kind ? own(task, link) : runTaskHere(task, link));
}
