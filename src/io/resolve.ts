/**
 * Expands the config's `inputs` into concrete files (SPEC §1: inputs are sharded files).
 *
 * - Each spec's matches are sorted by path (code-unit order), specs keep their config order,
 *   and a file matched by several specs is listed once, under the first one: the list, and
 *   therefore shard numbering, is deterministic.
 * - A path without glob characters is a literal file name.
 * - `{source}` in a path is a capture: it globs like `*` (within one path segment) and its
 *   match becomes the source of every record in that file that carries no source field,
 *   e.g. `data/{source}/*.jsonl` reads `data/web/0.jsonl` as source `web`. A spec's explicit
 *   `source` beats the capture.
 * - The format comes from the extension unless the spec sets `format`.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { escapePath, globSync, isDynamicPattern } from 'tinyglobby';
import { TokenmixError } from '../errors.js';
import type { Compression, InputFormat, InputSpec, ResolvedInput } from './types.js';

const SOURCE_CAPTURE = '{source}';
/** `s3://`, `hf://`, `https://`…: a URL scheme, never a local name (two+ letters, so `C:/` stays local). */
const REMOTE_SCHEME = /^[a-z][a-z0-9+.-]+:\/\//i;
const FORMATS: readonly InputFormat[] = ['jsonl', 'parquet', 'arrow'];

/** Extension → format, longest first so `.jsonl.gz` wins over `.gz`. */
const EXTENSIONS: readonly [suffix: string, format: InputFormat, compression: Compression][] = [
  ['.jsonl.gz', 'jsonl', 'gzip'], ['.json.gz', 'jsonl', 'gzip'], ['.ndjson.gz', 'jsonl', 'gzip'],
  ['.jsonl.zst', 'jsonl', 'zstd'], ['.json.zst', 'jsonl', 'zstd'], ['.ndjson.zst', 'jsonl', 'zstd'],
  ['.jsonl.zstd', 'jsonl', 'zstd'],
  ['.jsonl', 'jsonl', 'none'], ['.json', 'jsonl', 'none'], ['.ndjson', 'jsonl', 'none'],
  ['.parquet', 'parquet', 'none'],
  ['.arrow', 'arrow', 'none'], ['.arrows', 'arrow', 'none'], ['.ipc', 'arrow', 'none'], ['.feather', 'arrow', 'none'],
];

/** Format and compression implied by a file name, or undefined when the extension is unknown. */
export function formatFromName(fileName: string): { format: InputFormat; compression: Compression } | undefined {
  const lower = fileName.toLowerCase();
  const hit = EXTENSIONS.find(([suffix]) => lower.endsWith(suffix));
  return hit && { format: hit[1], compression: hit[2] };
}

function compressionFromName(fileName: string): Compression {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.gz')) return 'gzip';
  if (lower.endsWith('.zst') || lower.endsWith('.zstd')) return 'zstd';
  return 'none';
}

export function resolveInputs(specs: readonly InputSpec[], baseDir: string): ResolvedInput[] {
  const base = path.resolve(baseDir);
  const resolved = new Map<string, ResolvedInput>();
  specs.forEach((spec, specIndex) => {
    checkSpec(spec, specIndex);
    for (const match of expandSpec(spec, base)) {
      if (resolved.has(match.file)) continue;
      resolved.set(match.file, describeFile(spec, specIndex, match.file, match.captured, base));
    }
  });
  return [...resolved.values()];
}

function checkSpec(spec: InputSpec, index: number): void {
  if (typeof spec?.path !== 'string' || spec.path.length === 0) {
    throw new TokenmixError(`inputs[${index}].path must be a non-empty string (a file or a glob such as "data/*.jsonl")`);
  }
  if (spec.format !== undefined && !FORMATS.includes(spec.format)) {
    throw new TokenmixError(`inputs[${index}].format is ${JSON.stringify(spec.format)}; expected "jsonl", "parquet" or "arrow"`);
  }
  if (spec.source !== undefined && (typeof spec.source !== 'string' || spec.source.length === 0)) {
    throw new TokenmixError(`inputs[${index}].source must be a non-empty string`);
  }
  const remote = REMOTE_SCHEME.exec(spec.path);
  if (remote) {
    throw new TokenmixError(`inputs[${index}].path "${spec.path}" is a remote path (${remote[0]}); remote paths are not supported yet: download the files and give a local path or glob`);
  }
  if (spec.path.split(SOURCE_CAPTURE).length > 2) {
    throw new TokenmixError(`inputs[${index}].path "${spec.path}" has more than one {source} capture; use one`);
  }
}

interface Match {
  file: string;
  captured?: string;
}

function expandSpec(spec: InputSpec, base: string): Match[] {
  const hasCapture = spec.path.includes(SOURCE_CAPTURE);
  const relativePattern = toPosix(spec.path).replace(SOURCE_CAPTURE, '*');
  if (!hasCapture) {
    // A file that exists under the exact name wins, even if the name has glob characters.
    if (isFile(path.resolve(base, spec.path)) || !isDynamicPattern(relativePattern)) return [literalFile(spec.path, base)];
  }

  // tinyglobby does not follow `..` in relative patterns: anchor them at the (escaped) base.
  const anchored = path.posix.isAbsolute(toPosix(spec.path))
    ? toPosix(spec.path)
    : `${escapePath(toPosix(base))}/${toPosix(spec.path)}`;
  const pattern = path.posix.normalize(anchored);
  const files = globSync(pattern.replace(SOURCE_CAPTURE, '*'), {
    absolute: true, onlyFiles: true, expandDirectories: false, followSymbolicLinks: true,
  }).map((file) => path.resolve(file));
  if (files.length === 0) throw noMatch(spec.path, base);
  files.sort(compareCodeUnits);
  if (!hasCapture) return files.map((file) => ({ file }));

  const capture = globToRegExp(pattern);
  return files.map((file) => {
    const found = capture.exec(toPosix(file));
    if (!found || found[1] === undefined || found[1].length === 0) {
      throw new TokenmixError(`could not take {source} from "${displayPathOf(file, base)}" with the pattern "${spec.path}"; simplify the pattern around {source}`);
    }
    return { file, captured: found[1] };
  });
}

function literalFile(given: string, base: string): Match {
  const file = path.resolve(base, given);
  let stats;
  try {
    stats = statSync(file);
  } catch {
    throw noMatch(given, base);
  }
  if (stats.isDirectory()) {
    throw new TokenmixError(`input path "${given}" is a directory (relative to ${base}); use a glob such as "${toPosix(given).replace(/\/$/, '')}/*.jsonl"`);
  }
  return { file };
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function describeFile(spec: InputSpec, specIndex: number, file: string, captured: string | undefined, base: string): ResolvedInput {
  const displayPath = displayPathOf(file, base);
  const inferred = formatFromName(file);
  const format = spec.format ?? inferred?.format;
  if (format === undefined) {
    throw new TokenmixError(`input "${displayPath}" has an unknown extension; add "format": "jsonl", "parquet" or "arrow" to the input "${spec.path}"`, { where: displayPath });
  }
  const compression = format === 'jsonl' ? compressionFromName(file) : 'none';
  return { path: file, displayPath, format, compression, source: spec.source ?? captured, specIndex };
}

/** Relative to the base directory when inside it (POSIX separators), else absolute. */
/** Where a record is, as the readers print it: `file:LINE` for JSONL, `file row N` for Parquet/Arrow. */
export function recordLocation(input: ResolvedInput, row: number): string {
  return input.format === 'jsonl' ? `${input.displayPath}:${row}` : `${input.displayPath} row ${row}`;
}

export function displayPathOf(file: string, base: string): string {
  const relative = path.relative(base, file);
  if (relative.length === 0 || relative.startsWith('..') || path.isAbsolute(relative)) return toPosix(file);
  return toPosix(relative);
}

function noMatch(given: string, base: string): TokenmixError {
  return new TokenmixError(`input path "${given}" matches no file (relative to ${base})`);
}

function toPosix(p: string): string {
  return path.sep === '/' ? p : p.split(path.sep).join('/');
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A regular expression matching the same paths as `pattern` (which tinyglobby already
 * matched), with `{source}` as group 1. Covers the glob syntax picomatch documents for
 * paths: `**`, `*`, `?`, `[...]`, `{a,b}` and backslash escapes.
 */
export function globToRegExp(pattern: string): RegExp {
  let out = '';
  let braceDepth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (pattern.startsWith(SOURCE_CAPTURE, i)) {
      out += '([^/]+)';
      i += SOURCE_CAPTURE.length - 1;
    } else if (c === '\\' && i + 1 < pattern.length) {
      out += escapeRegExp(pattern[++i]);
    } else if (c === '*' && pattern[i + 1] === '*') {
      const wholeSegment = (i === 0 || pattern[i - 1] === '/') && pattern[i + 2] === '/';
      out += wholeSegment ? '(?:[^/]*/)*' : '.*';
      i += wholeSegment ? 2 : 1;
    } else if (c === '*') {
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) out += '\\[';
      else {
        const body = pattern.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\');
        out += `[${body}]`;
        i = close;
      }
    } else if (c === '{') {
      braceDepth++;
      out += '(?:';
    } else if (c === '}' && braceDepth > 0) {
      braceDepth--;
      out += ')';
    } else if (c === ',' && braceDepth > 0) {
      out += '|';
    } else {
      out += escapeRegExp(c);
    }
  }
  return new RegExp(`^${out}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
