/**
 * How long the device was busy: the union of the intervals during which at least one
 * submitted piece of work was outstanding. The GPU's idle fraction of a phase is
 * 1 − busyMs / wall time (benchmarks report it).
 */
export class BusyClock {
  busyMs = 0;
  private outstanding = 0;
  private since = 0;

  track<T>(work: Promise<T>): Promise<T> {
    if (this.outstanding++ === 0) this.since = performance.now();
    const settle = () => {
      if (--this.outstanding === 0) this.busyMs += performance.now() - this.since;
    };
    work.then(settle, settle);
    return work;
  }
}
