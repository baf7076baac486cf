/**
 * Optional phase timing for benchmarks. When a `PhaseTimes` object is passed to a kernel,
 * the kernel waits for the queue at phase boundaries so each phase's wall time is real;
 * without it, nothing waits and nothing is measured.
 */
export interface PhaseTimes {
  compileMs: number;
  uploadMs: number;
  dispatchMs: number;
  readbackMs: number;
}

export type Phase = keyof PhaseTimes;

export function emptyPhaseTimes(): PhaseTimes {
  return { compileMs: 0, uploadMs: 0, dispatchMs: 0, readbackMs: 0 };
}

/**
 * Run `work` as phase `phase`. With `times` given, waits for the device queue to drain so
 * GPU work is attributed to the phase that submitted it.
 */
export async function timed<T>(
  times: PhaseTimes | undefined,
  phase: Phase,
  queue: GPUQueue,
  work: () => T | Promise<T>,
): Promise<T> {
  if (!times) return work();
  const start = performance.now();
  const result = await work();
  await queue.onSubmittedWorkDone();
  times[phase] += performance.now() - start;
  return result;
}
