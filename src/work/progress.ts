/**
 * Progress on stderr for long work: how far (a percentage of a known total), how fast and an
 * ETA. Only on a terminal (a log file gets no carriage-return noise); at most a few updates a
 * second. The total is counted in `unit`: input bytes for the phases that read shards (rates
 * in records/s and MB/s), or the phase's own work items (bucket ranges, planned tokens).
 */
export interface Progress {
  /** `records` processed and `amount` of the total done since the last call. */
  advance(records: number, amount: number): void;
  done(): void;
}

export const silentProgress: Progress = { advance() {}, done() {} };

export interface ProgressOptions {
  /** What the total counts: 'bytes' (the default) or a plural noun ('ranges', 'tokens'). */
  unit?: string;
  /** Milliseconds clock (tests pass a fake one). */
  now?: () => number;
}

const REFRESH_MS = 250;

/** `7 s`, `3 min 05 s`, `2 h 10 min`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

export function terminalProgress(label: string, total: number, write: (text: string) => void, options: ProgressOptions = {}): Progress {
  const unit = options.unit ?? 'bytes';
  const now = options.now ?? (() => performance.now());
  const start = now();
  let records = 0;
  let amount = 0;
  let last = -Infinity;
  const render = () => {
    const seconds = Math.max((now() - start) / 1000, 1e-9);
    const parts = [];
    if (unit === 'bytes' || records > 0) parts.push(`${count(records)} records`);
    if (unit !== 'bytes') parts.push(`${count(Math.min(amount, total))}/${count(total)} ${unit}`);
    if (total > 0) {
      parts.push(`${Math.min(100, (100 * amount) / total).toFixed(1)}%`);
    }
    if (records > 0) parts.push(`${count(records / seconds)} rec/s`);
    if (unit === 'bytes') parts.push(`${(amount / 1e6 / seconds).toFixed(1)} MB/s`);
    if (total > 0) {
      // Remaining work at the average rate so far; unknown until something is done.
      parts.push(amount > 0 ? `ETA ${formatDuration(amount >= total ? 0 : ((total - amount) / amount) * seconds)}` : 'ETA …');
    } else {
      parts.push(`${formatDuration(seconds)} elapsed`);
    }
    write(`\r${label}: ${parts.join(', ')}   `);
  };
  return {
    advance(r, a) {
      records += r;
      amount += a;
      const t = now();
      if (t - last >= REFRESH_MS) {
        last = t;
        render();
      }
    },
    done() {
      render();
      write('\n');
    },
  };
}

/** Starts the progress display of one phase; the CLI passes one on a terminal. */
export type ProgressFactory = (label: string, total: number, unit: string) => Progress;

export function terminalProgressFactory(write: (text: string) => void): ProgressFactory {
  return (label, total, unit) => terminalProgress(label, total, write, { unit });
}
