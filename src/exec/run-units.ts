/**
 * Runs a map phase: the units not finished yet, on an executor, biggest first (so that a
 * large unit does not start last and straggle), failing fast on the first error. JSONL parts
 * after the first need the number of the line they start at; it comes from the finished
 * previous parts' markers, or from counting newlines (as tasks, in parallel: ~1 GB/s per core,
 * a small fraction of the map's own cost).
 */
import type { ResolvedInput } from '../io/types.js';
import type { InputCounts } from '../work/markers.js';
import type { Executor, Task, TaskLink } from './executor.js';
import type { WorkUnit } from './units.js';

export interface CountNewlinesTask extends Task {
  kind: 'count-newlines';
  path: string;
  start: number;
  end: number;
}

export interface MapPhase<M extends InputCounts> {
  units: WorkUnit[];
  inputs: ResolvedInput[];
  /** Units this process runs (a rank's share); all when unset. */
  mine?: (unit: WorkUnit) => boolean;
  /** The finished unit's marker, or null. */
  finished(unit: WorkUnit): Promise<M | null>;
  task(unit: WorkUnit, firstLine: number): Task;
  /** The marker from what a task returned (default: the result itself). */
  unwrap?(result: unknown): M;
}

export interface MapOutcome<M> {
  /** Per unit (plan order): its marker, or null when it is not finished (another rank's). */
  markers: (M | null)[];
  ran: number;
  skipped: number;
}

/**
 * `executorFor(n)` makes the executor for n pending units (a pool of more workers than units
 * would only pay their start-up); it is closed when the phase ends, failed or not.
 */
export async function runMapPhase<M extends InputCounts>(
  executorFor: (units: number) => Executor,
  phase: MapPhase<M>,
  link: TaskLink,
  onStart?: (todoBytes: number) => void,
): Promise<MapOutcome<M>> {
  const markers: (M | null)[] = [];
  for (const unit of phase.units) markers.push(await phase.finished(unit));
  const todo = phase.units.filter((u) => markers[u.index] === null && (phase.mine?.(u) ?? true));
  const skipped = phase.units.filter((u) => markers[u.index] !== null && (phase.mine?.(u) ?? true)).length;
  onStart?.(todo.reduce((sum, u) => sum + u.bytes, 0));
  if (todo.length === 0) return { markers, ran: 0, skipped };
  const executor = executorFor(todo.length);
  try {
    await runUnits(executor, phase, todo, markers, link);
  } finally {
    await executor.close();
  }
  return { markers, ran: todo.length, skipped };
}

async function runUnits<M extends InputCounts>(executor: Executor, phase: MapPhase<M>, todo: WorkUnit[], markers: (M | null)[], link: TaskLink): Promise<void> {
  // Line numbers: parts before a pending part that are not finished get their newlines counted.
  const lineCounts = new Map<number, Promise<number>>();
  const countOf = (unit: WorkUnit): Promise<number> => {
    let count = lineCounts.get(unit.index);
    if (count === undefined) {
      const marker = markers[unit.index];
      const range = unit.range!;
      count = marker !== null
        ? Promise.resolve(marker.records + marker.problems + marker.blank_lines) // every line is one of these
        : executor.run<number>({ kind: 'count-newlines', label: `${phase.inputs[unit.input].displayPath} (counting lines)`, path: phase.inputs[unit.input].path, start: range.start, end: range.end } as CountNewlinesTask, link);
      lineCounts.set(unit.index, count);
    }
    return count;
  };
  const firstLine = async (unit: WorkUnit): Promise<number> => {
    if (unit.range?.kind !== 'bytes' || unit.part === 0) return 1;
    const before = phase.units.slice(unit.index - unit.part, unit.index);
    const counts = await Promise.all(before.map(countOf));
    return 1 + counts.reduce((a, b) => a + b, 0);
  };

  const order = [...todo].sort((a, b) => b.bytes - a.bytes || a.index - b.index);
  await Promise.all(
    order.map(async (unit) => {
      const start = await firstLine(unit);
      const result = await executor.run<unknown>(phase.task(unit, start), link);
      markers[unit.index] = phase.unwrap ? phase.unwrap(result) : (result as M);
    }),
  );
}
