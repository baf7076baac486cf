/** The experiments table of `tokenmix fit` (SPEC §5, last item): reading the user's proxy-model runs. */
import { TokenmixError } from '../errors.js';

/**
 * Experiments CSV: a header row, then one row per run. Columns `w:<source>` hold the run's
 * mixture weights (>= 0, any scale: renormalized per row); columns `loss:<eval>` its measured
 * loss per eval domain; every other column (e.g. `run`) is ignored. Comma-separated, optional
 * double quotes around a cell ("" inside quotes is a quote), no line breaks inside cells; blank
 * lines are skipped. Example:
 *   run,w:web,w:code,loss:general,loss:code
 *   a,0.7,0.3,3.21,2.95
 */
export interface ExperimentTable {
  sourceNames: string[];
  evalNames: string[];
  numRuns: number;
  /** N×K weights, each row summing to 1. */
  weights: Float64Array;
  /** N×E measured losses. */
  losses: Float64Array;
  /** 1-based line number of each run in the file (for messages). */
  lines: number[];
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function parseExperimentsCsv(text: string, file = 'experiments.csv'): ExperimentTable {
  const rows = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((line, index) => ({ line: index + 1, cells: splitCsvLine(line, file, index + 1) }))
    .filter((row) => !(row.cells.length === 1 && row.cells[0].text.trim() === ''));
  if (rows.length === 0) throw new TokenmixError(`${file}: empty file; expected a header row with w:<source> and loss:<eval> columns`);
  const header = rows[0];
  const sourceColumns: number[] = [];
  const evalColumns: number[] = [];
  const seen = new Set<string>();
  header.cells.forEach((cell, index) => {
    const name = cell.text.trim();
    const where = `${file}:${header.line}:${cell.column}`;
    if (seen.has(name)) throw new TokenmixError(`${where}: column "${name}" appears twice; column names must be unique`);
    seen.add(name);
    for (const [prefix, columns] of [['w:', sourceColumns], ['loss:', evalColumns]] as const) {
      if (!name.startsWith(prefix)) continue;
      if (name.length === prefix.length) throw new TokenmixError(`${where}: column "${name}" has no name after "${prefix}"`);
      columns.push(index);
    }
  });
  const columnHint = 'the header needs w:<source> columns (mixture weights) and loss:<eval> columns (measured losses)';
  if (sourceColumns.length === 0) throw new TokenmixError(`${file}:${header.line}:1: no w:<source> column; ${columnHint}`);
  if (evalColumns.length === 0) throw new TokenmixError(`${file}:${header.line}:1: no loss:<eval> column; ${columnHint}`);
  const sourceNames = sourceColumns.map((c) => header.cells[c].text.trim().slice(2));
  const evalNames = evalColumns.map((c) => header.cells[c].text.trim().slice(5));
  const runs = rows.slice(1);
  if (runs.length === 0) throw new TokenmixError(`${file}: no runs after the header; add one row per proxy-model run`);
  const K = sourceNames.length;
  const E = evalNames.length;
  const weights = new Float64Array(runs.length * K);
  const losses = new Float64Array(runs.length * E);
  runs.forEach((row, n) => {
    if (row.cells.length !== header.cells.length) {
      const column = row.cells.length > header.cells.length ? row.cells[header.cells.length].column : row.cells[row.cells.length - 1].end;
      throw new TokenmixError(
        `${file}:${row.line}:${column}: ${row.cells.length} cells but the header has ${header.cells.length}; every run needs one cell per column`,
      );
    }
    const number = (c: number, what: string) => {
      const cell = row.cells[c];
      const value = cell.text.trim();
      if (!NUMBER.test(value)) {
        throw new TokenmixError(`${file}:${row.line}:${cell.column}: ${what} "${header.cells[c].text.trim()}" is ${JSON.stringify(cell.text)}, not a number`);
      }
      return Number(value);
    };
    let total = 0;
    sourceColumns.forEach((c, i) => {
      const value = number(c, 'weight');
      if (value < 0) throw new TokenmixError(`${file}:${row.line}:${row.cells[c].column}: weight "${header.cells[c].text.trim()}" is negative (${value}); weights must be >= 0`);
      weights[n * K + i] = value;
      total += value;
    });
    if (!(total > 0)) throw new TokenmixError(`${file}:${row.line}:${row.cells[sourceColumns[0]].column}: every weight of this run is 0; a run needs a mixture`);
    for (let i = 0; i < K; i++) weights[n * K + i] /= total;
    evalColumns.forEach((c, j) => (losses[n * E + j] = number(c, 'loss')));
  });
  return { sourceNames, evalNames, numRuns: runs.length, weights, losses, lines: runs.map((row) => row.line) };
}

interface CsvCell {
  text: string;
  /** 1-based column where the cell starts; `end` where it ends (for "missing cell" messages). */
  column: number;
  end: number;
}

function splitCsvLine(line: string, file: string, lineNumber: number): CsvCell[] {
  const cells: CsvCell[] = [];
  let position = 0;
  for (;;) {
    const start = position;
    let text = '';
    if (line[position] === '"') {
      position++;
      for (;;) {
        if (position >= line.length) throw new TokenmixError(`${file}:${lineNumber}:${start + 1}: unterminated quoted cell; close it with "`);
        if (line[position] === '"') {
          if (line[position + 1] === '"') {
            text += '"';
            position += 2;
            continue;
          }
          position++;
          break;
        }
        text += line[position++];
      }
      if (position < line.length && line[position] !== ',') {
        throw new TokenmixError(`${file}:${lineNumber}:${position + 1}: text after a closing quote; put the whole cell in quotes`);
      }
    } else {
      const comma = line.indexOf(',', position);
      position = comma === -1 ? line.length : comma;
      text = line.slice(start, position);
    }
    cells.push({ text, column: start + 1, end: position + 1 });
    if (position >= line.length) return cells;
    position++; // the comma
  }
}
