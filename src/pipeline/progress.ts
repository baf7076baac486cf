/**
 * Progress on stderr for long work: records/s, MB/s and an ETA from bytes. Only on a
 * terminal (a log file gets no carriage-return noise); at most a few updates a second.
 */
export interface Progress {
  advance(records: number, bytes: number): void;
  done(): void;
}

export const silentProgress: Progress = { advance() {}, done() {} };

export function terminalProgress(label: string, totalBytes: number, write: (text: string) => void): Progress {
  const start = performance.now();
  let records = 0;
  let bytes = 0;
  let last = 0;
  const render = () => {
    const seconds = (performance.now() - start) / 1000;
    const rate = records / Math.max(seconds, 1e-9);
    const mbps = bytes / 1e6 / Math.max(seconds, 1e-9);
    const eta = bytes > 0 && totalBytes > bytes ? ((totalBytes - bytes) / bytes) * seconds : 0;
    const pct = totalBytes > 0 ? Math.min(100, (100 * bytes) / totalBytes).toFixed(1) : '?';
    write(`\r${label}: ${records.toLocaleString('en-US')} records, ${pct}%, ${Math.round(rate).toLocaleString('en-US')} rec/s, ${mbps.toFixed(1)} MB/s, ETA ${Math.ceil(eta)} s   `);
  };
  return {
    advance(r, b) {
      records += r;
      bytes += b;
      const now = performance.now();
      if (now - last > 250) {
        last = now;
        render();
      }
    },
    done() {
      render();
      write('\n');
    },
  };
}
