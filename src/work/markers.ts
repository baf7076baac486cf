/**
 * Shared by the curation and dedup map phases: completion markers of input shards (written
 * last, so a marker means a complete shard), the checks that a completed shard is still
 * current, and the manifest's description of the inputs.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { TokenmixError } from '../errors.js';
import type { ResolvedInput } from '../io/types.js';
import { describeIntermediate, fileSha256, looksChanged, type InputIdentity } from './fingerprint.js';
import { removeDeadTemps, tempPath } from './temp.js';

/**
 * The marker at `path` if it was made with `fingerprint`; null when there is none or it is
 * unreadable (markers appear whole, so an unreadable one was damaged: the shard is redone).
 * A marker of another fingerprint means the directory holds a different run: `stale` says
 * what to do.
 */
export async function readShardMarker<T extends { fingerprint: string }>(path: string, fingerprint: string, stale: string): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  let marker: T;
  try {
    marker = JSON.parse(text) as T;
  } catch {
    return null;
  }
  if (typeof marker !== 'object' || marker === null) return null;
  if (marker.fingerprint !== fingerprint) throw new TokenmixError(stale);
  return marker;
}

/** Write a shard's marker last and atomically: its presence means the shard is complete. */
export async function writeShardMarker(path: string, marker: { fingerprint: string }): Promise<void> {
  const temp = tempPath(path);
  await writeFile(temp, `${JSON.stringify(marker, null, 2)}\n`);
  await rename(temp, path);
}

/** A copy of `record` with its keys in sorted order (stable JSON whatever the insertion order). */
export function sortedKeys<T>(record: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key];
  return out;
}

/** What every map phase's shard marker records (curate's and dedup's add their own facts). */
export interface ShardMarkerBase extends InputCounts {
  shard: number;
  file: string;
  fingerprint: string;
  /** The input's bytes as the map read them (work/fingerprint.ts). */
  input: InputIdentity;
}

export interface InputCounts {
  records: number;
  problems: number;
  blank_lines: number;
}

/** An intermediate file of a shard and what its marker says it holds. */
export interface IntermediateCheck {
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * The cheap check when a rank resumes: a completed shard is reused only if its input still
 * has the recorded size and sampled fingerprint. Returns why the shard must be redone, or null.
 */
export async function inputLooksChanged(marker: ShardMarkerBase, input: ResolvedInput): Promise<string | null> {
  return (await looksChanged(input.path, marker.input)) ? `input ${input.displayPath} changed since shard ${marker.shard} was made` : null;
}

/**
 * Of `shards`, those still to do: no marker, or an input that changed since its marker (said
 * on `log`). Temporary files that killed processes of this host left in `shardsDir` go first.
 */
export async function shardsToDo(
  shards: number[],
  inputs: ResolvedInput[],
  readMarker: (shard: number) => Promise<ShardMarkerBase | null>,
  shardsDir: string,
  log: (text: string) => void,
): Promise<number[]> {
  await removeDeadTemps([shardsDir]);
  const todo: number[] = [];
  for (const i of shards) {
    const marker = await readMarker(i);
    const changed = marker && (await inputLooksChanged(marker, inputs[i]));
    if (changed) log(`tokenmix: ${changed}; redoing it`);
    if (!marker || changed) todo.push(i);
  }
  return todo;
}

/**
 * The full check before a reduce: every byte of the input hashes to what the map read, and
 * every intermediate file is whole. Returns why the shard must be redone, or null.
 */
export async function shardStaleReason(marker: ShardMarkerBase, input: ResolvedInput, intermediates: IntermediateCheck[]): Promise<string | null> {
  if (!marker.input || (await fileSha256(input.path)) !== marker.input.sha256) {
    return `input ${input.displayPath} changed since shard ${marker.shard} was made (its SHA-256 differs)`;
  }
  for (const expected of intermediates) {
    const found = await describeIntermediate(expected.path);
    if (!found) return `intermediate ${expected.path} of shard ${marker.shard} is missing`;
    if (found.bytes !== expected.bytes) return `intermediate ${expected.path} of shard ${marker.shard} has ${found.bytes} bytes, its marker says ${expected.bytes}`;
    if (found.sha256 !== expected.sha256) return `intermediate ${expected.path} of shard ${marker.shard} does not match its marker's SHA-256 (damaged)`;
  }
  return null;
}

/**
 * The markers of a reduce, checked in full (shardStaleReason). A shard that fails is redone
 * by `redo`; a second failure means the input is changing under us, and the run refuses.
 */
export async function currentMarkers<M extends ShardMarkerBase>(
  markers: M[],
  inputs: ResolvedInput[],
  intermediates: (shard: number, marker: M) => IntermediateCheck[],
  redo: (shard: number) => Promise<M>,
  log: (text: string) => void,
): Promise<M[]> {
  const current: M[] = [];
  for (const [i, marker] of markers.entries()) {
    const check = (m: M) => shardStaleReason(m, inputs[i], intermediates(i, m));
    const stale = await check(marker);
    if (!stale) {
      current.push(marker);
      continue;
    }
    log(`tokenmix: ${stale}; redoing shard ${i}`);
    const redone = await redo(i);
    const still = await check(redone);
    if (still) throw new TokenmixError(`${still}, again right after it was redone: is ${inputs[i].displayPath} being written? Rerun when it is complete`);
    current.push(redone);
  }
  return current;
}

/** The manifest's `inputs`: path, format, size, SHA-256 of the bytes (as the map read and the reduce checked them), and what was read. */
export function describeInputs(inputs: ResolvedInput[], markers: ShardMarkerBase[]) {
  return inputs.map((input, i) => ({
    path: input.displayPath,
    format: input.format,
    compression: input.compression,
    bytes: markers[i].input.bytes,
    sha256: markers[i].input.sha256,
    records: markers[i].records,
    problems: markers[i].problems,
    blank_lines: markers[i].blank_lines,
  }));
}
