/**
 * Shared by the curation and dedup map phases: completion markers of input shards (written
 * last, so a marker means a complete shard) and the manifest's description of the inputs.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { TokenmixError } from '../errors.js';
import { contentHash } from '../io/index.js';
import type { ResolvedInput } from '../io/types.js';
import { dict } from '../dict.js';
import type { WorkUnit } from '../exec/units.js';

/**
 * The marker at `path` if it was made with `fingerprint`; null when there is none. A marker of
 * another fingerprint means the directory holds a different run: `stale` says what to do.
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
    // Markers are renamed into place whole, so an unreadable one was damaged outside tokenmix.
    throw new TokenmixError(`${path} is not a valid shard marker (empty or damaged); delete it to redo that shard, or use a new --out directory`, { where: path });
  }
  if (marker === null || typeof marker !== 'object' || marker.fingerprint !== fingerprint) throw new TokenmixError(stale);
  return marker;
}

/** Write a shard's marker last and atomically: its presence means the shard is complete. */
export async function writeShardMarker(path: string, marker: { fingerprint: string }): Promise<void> {
  await writeFile(`${path}.partial`, `${JSON.stringify(marker, null, 2)}\n`);
  await rename(`${path}.partial`, path);
}

/** A copy of `record` with its keys in sorted order (stable JSON whatever the insertion order). */
export function sortedKeys<T>(record: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = dict();
  for (const key of Object.keys(record).sort()) out[key] = record[key];
  return out;
}

/** What every map phase's shard marker records (curate's and dedup's add their own facts). */
export interface ShardMarkerBase extends InputCounts {
  shard: number;
  file: string;
  fingerprint: string;
}

export interface InputCounts {
  records: number;
  problems: number;
  blank_lines: number;
}

/** The manifest's `inputs`: path, format, size, SHA-256 of the bytes, and what was read. */
export function describeInputs(inputs: ResolvedInput[], counts: InputCounts[]) {
  return Promise.all(
    inputs.map(async (input, i) => ({
      path: input.displayPath,
      format: input.format,
      compression: input.compression,
      bytes: statSync(input.path).size,
      sha256: await contentHash(input.path),
      records: counts[i].records,
      problems: counts[i].problems,
      blank_lines: counts[i].blank_lines,
    })),
  );
}

/** The fields that tie a unit's marker to its input, part, range and run (curate and dedup alike). */
export function unitIdentity(unit: WorkUnit, file: string, fingerprint: string) {
  return { shard: unit.input, part: unit.part, parts: unit.parts, range: unit.range ?? null, file, fingerprint };
}
