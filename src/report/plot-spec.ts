/**
 * A plot as data: everything the page's script needs to build one uPlot chart. The Node side
 * decides what is plotted (and is unit-tested); the page only maps these specs to uPlot
 * options, so the browser code stays small and generic.
 */

export type SeriesStyle = 'bars' | 'line' | 'stepped' | 'points';
/** How values on an axis (and in the legend) are written. */
export type ValueFormat = 'count' | 'number' | 'percent';

export interface SeriesSpec {
  label: string;
  /** One value per x position; null = no value there. */
  values: Array<number | null>;
  style: SeriesStyle;
  color: string;
  axis?: 'y' | 'y2';
  dash?: boolean;
  /** Fill the area under a line or stepped series (stacked areas). */
  fill?: boolean;
  /** Legend values when they differ from the drawn ones (stacked bars draw cumulative sums). */
  legend?: Array<number | null>;
}

export interface MarkerSpec {
  /** 'x': a vertical line at an x value; 'y': a horizontal line at a y value. */
  axis: 'x' | 'y';
  value: number;
  label: string;
  color: string;
}

export interface AxisSpec {
  label: string;
  format: ValueFormat;
  /** Whether the scale must include 0 (bars and counts do; losses need not). */
  zero?: boolean;
}

export interface PlotSpec {
  /** The container is `data-testid="plot-<name>"`; names are made by the report, never from data. */
  name: string;
  title: string;
  caption: string;
  x: { label: string; values: number[]; format: ValueFormat; categories?: string[] };
  y: AxisSpec;
  y2?: AxisSpec;
  series: SeriesSpec[];
  markers: MarkerSpec[];
}

/** Colors by source index (Tableau 10), so a source has one color in every plot. */
const SOURCE_PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
/** Colors of series that are not sources (mixtures, curves). */
export const SERIES_PALETTE = ['#1b1b1b', '#8e44ad', '#17becf', '#8c564b', '#d62728', '#bcbd22', '#7f7f7f'];
export const MARKER_COLOR = '#c0392b';
export const MUTED_COLOR = '#7f7f7f';

export function sourceColor(sources: readonly string[], source: string): string {
  const index = sources.indexOf(source);
  return SOURCE_PALETTE[(index < 0 ? sources.length : index) % SOURCE_PALETTE.length];
}

/** Positions 0..n-1 for a categorical x axis. */
export function categoryPositions(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/**
 * One bar series per category, each non-null only at its own position: the page draws one
 * colored bar per source and the legend names each source.
 */
export function barPerCategory(categories: readonly string[], values: ReadonlyArray<number | null>, colorOf: (category: string) => string): SeriesSpec[] {
  return categories.map((category, i) => ({
    label: category,
    values: categories.map((_, j) => (j === i ? values[i] : null)),
    style: 'bars' as const,
    color: colorOf(category),
  }));
}

/**
 * Stacked layers for uPlot, which draws every series from 0: each layer becomes the
 * cumulative sum of itself and the layers below, drawn tallest first, with its own values
 * kept for the legend.
 */
export function stackLayers(layers: ReadonlyArray<{ label: string; values: ReadonlyArray<number | null>; color: string }>, style: 'bars' | 'stepped'): SeriesSpec[] {
  const series: SeriesSpec[] = [];
  for (let layer = layers.length - 1; layer >= 0; layer--) {
    const cumulative = layers[layer].values.map((_, k) => {
      let sum = 0;
      for (let below = 0; below <= layer; below++) sum += layers[below].values[k] ?? 0;
      return sum;
    });
    series.push({ label: layers[layer].label, values: cumulative, legend: [...layers[layer].values], style, color: layers[layer].color, fill: style === 'stepped' || undefined });
  }
  return series;
}

/**
 * x positions for groups of points side by side within each category (a dot plot that
 * does not hide equal values): category i, group g sits at i + offset(g). Ascending, as
 * uPlot needs.
 */
export function groupedPositions(categoryCount: number, groupCount: number): { x: number[]; slot: (category: number, group: number) => number } {
  const step = groupCount > 1 ? Math.min(0.6 / (groupCount - 1), 0.15) : 0;
  const x: number[] = [];
  for (let i = 0; i < categoryCount; i++) for (let g = 0; g < groupCount; g++) x.push(i + (g - (groupCount - 1) / 2) * step);
  return { x, slot: (category, group) => category * groupCount + group };
}
