/**
 * The effective distribution's top tokens as a uPlot bar chart: x = rank, y = q(v), tick
 * labels = the tokens. One chart per container, re-used across runs (setData), rebuilt only
 * when the number of bars or the container width changes.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { TopToken } from '../src/explore/index.js';

const charts = new WeakMap<HTMLElement, { plot: uPlot; labels: string[]; bars: number; width: number }>();

export function drawTopTokens(container: HTMLElement, top: TopToken[], decode?: (ids: number[]) => string): void {
  // A BPE id is shown as its text, quoted so that a leading space shows.
  const labels = top.map((t) => (typeof t.token === 'number' && decode ? JSON.stringify(decode([t.token])) : String(t.token)));
  const data: uPlot.AlignedData = [top.map((_, i) => i), top.map((t) => t.probability)];
  container.dataset.tokens = JSON.stringify(labels);
  const width = Math.max(320, container.clientWidth || 640);
  const existing = charts.get(container);
  if (existing && existing.bars === top.length && existing.width === width) {
    existing.labels.splice(0, existing.labels.length, ...labels);
    existing.plot.setData(data);
    return;
  }
  existing?.plot.destroy();
  const shown = labels;
  const options: uPlot.Options = {
    width,
    height: 260,
    legend: { show: false },
    cursor: { show: true, drag: { x: false, y: false } },
    scales: { x: { time: false, range: (_u, min, max) => [min - 0.6, max + 0.6] }, y: { range: (_u, _min, max) => [0, max * 1.08 || 1] } },
    axes: [
      { values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? (shown[t] ?? '') : '')), rotate: -35, size: 70, gap: 4 } as uPlot.Axis,
      { label: 'q(v)', values: (_u, ticks) => ticks.map((t) => t.toPrecision(2)) },
    ],
    series: [
      {},
      {
        label: 'q(v)',
        stroke: '#3b6ea8',
        fill: 'rgba(59, 110, 168, 0.55)',
        paths: uPlot.paths.bars!({ size: [0.7, 60] }),
        points: { show: false },
      },
    ],
  };
  const plot = new uPlot(options, data, container);
  charts.set(container, { plot, labels: shown, bars: top.length, width });
}
