/**
 * Shared by the curation and dedup map phases: completion markers of input shards (written
 * last, so a marker means a complete shard), the checks that a completed shard is still
 * current, and the manifest's description of the inputs.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { TokenmixError } from '../errors.js';
import type { ResolvedInput } from '../io/types.js';
import { dict } from '../dict.js';
import type { WorkUnit } from '../exec/units.js';
import { sampleFingerprint, statKey, type InputIdentity } from './fingerprint.js';
import { ON_THIS_THREAD, type FileHashing } from './file-hashing.js';
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
  const out: Record<string, T> = dict();
  for (const key of Object.keys(record).sort()) out[key] = record[key];
  return out;
}

/** What every map phase's marker records (curate's and dedup's add their own facts). */
export interface ShardMarkerBase extends InputCounts {
  shard: number;
  file: string;
  fingerprint: string;
}

/** A work unit's marker: which part of its input it was, and the input's bytes as the map read them. */
export interface UnitMarkerBase extends ShardMarkerBase {
  part: number;
  parts: number;
  range: WorkUnit['range'] | null;
  /** Size and sample of the whole file; SHA-256 of the unit's own bytes (unitInputIdentity). */
  input: InputIdentity;
  /** The session (process) that made the unit, when it recorded stat keys (signature-phase.ts). */
  session?: string;
}

export interface InputCounts {
  records: number;
  problems: number;
  blank_lines: number;
}

/** The fields that tie a unit's marker to its input, part, range and run (curate and dedup alike). */
export function unitIdentity(unit: WorkUnit, file: string, fingerprint: string) {
  return { shard: unit.input, part: unit.part, parts: unit.parts, range: unit.range ?? null, file, fingerprint };
}

/** An intermediate file of a unit and what its marker says it holds. */
export interface IntermediateCheck {
  path: string;
  bytes: number;
  sha256: string;
  /** Its statKey once described, recorded in a session. */
  stat?: string;
}

/**
 * What a reduce in the process that mapped the units may skip (inputStaleReason): files whose
 * stat keys its own markers recorded and that still have them.
 */
export interface SessionChecks {
  /** The session's token, as its markers record it (`session`). */
  id: string;
  /** A file's SHA-256 hashed earlier in the session, if its stat key is unchanged since (else null). */
  knownSha256?: (path: string) => Promise<string | null>;
}

function unitName(marker: { shard: number; part: number; parts: number }): string {
  return marker.parts > 1 ? `part ${marker.part + 1} of ${marker.parts} of shard ${marker.shard}` : `shard ${marker.shard}`;
}

/**
 * `read` (a unit's marker, or null) with the cheap check of a resume: a finished unit is
 * reused only while its input still has the recorded size and sampled fingerprint (one sample
 * per input, however many units it has). Temporary files that killed processes of this host
 * left in `shardsDir` go first.
 */
export async function freshMarkers<M extends UnitMarkerBase>(
  inputs: ResolvedInput[],
  read: (unit: WorkUnit) => Promise<M | null>,
  shardsDir: string,
  log: (text: string) => void,
): Promise<(unit: WorkUnit) => Promise<M | null>> {
  await removeDeadTemps([shardsDir]);
  const samples = new Map<number, Promise<{ bytes: number; sample_sha256: string }>>();
  const said = new Set<number>();
  return async (unit) => {
    const marker = await read(unit);
    if (!marker) return null;
    if (!samples.has(unit.input)) samples.set(unit.input, sampleFingerprint(inputs[unit.input].path));
    const now = await samples.get(unit.input)!;
    if (marker.input && marker.input.bytes === now.bytes && marker.input.sample_sha256 === now.sample_sha256) return marker;
    if (!said.has(unit.input)) log(`tokenmix: input ${inputs[unit.input].displayPath} changed since ${unitName(marker)} was made; redoing it`);
    said.add(unit.input);
    return null;
  };
}

/**
 * The full check of one input's units before a reduce, in one read of the input: every unit's
 * bytes hash to what its map read (a byte range its range's SHA-256, a whole file or the first
 * of its row-group parts the file's), and every intermediate is whole. Returns the input's
 * SHA-256 (the manifest's) and why its units must be redone, or null.
 *
 * In the session that mapped a unit (the same process, `session`), a file whose stat key is
 * still the one its marker recorded is not hashed again: the input's bytes were hashed by the
 * map and have not been written since (a write changes the ctime), and an intermediate is the
 * file the map wrote and hashed. The whole input is still hashed, for the manifest. A reduce in
 * another process (a resumed run, a cluster's reduce job) hashes everything.
 */
export async function inputStaleReason(
  input: ResolvedInput,
  units: WorkUnit[],
  markers: UnitMarkerBase[],
  intermediates: IntermediateCheck[][],
  hashing: FileHashing = ON_THIS_THREAD,
  session?: SessionChecks,
): Promise<{ bytes: number; sha256: string; stale: string | null }> {
  const ours = (j: number) => session !== undefined && markers[j].session === session.id;
  const inputKey = markers.some((_, j) => ours(j)) ? await statKey(input.path) : null;
  const unchanged = units.map((_, j) => ours(j) && inputKey !== null && markers[j].input?.stat === inputKey);
  const spans = units.map((u, j) => (u.range?.kind === 'bytes' && !unchanged[j] ? ([u.range.start, u.range.end] as [number, number]) : null));
  const toHash = spans.filter((s): s is [number, number] => s !== null);
  const hashInput = async () => {
    const whole = toHash.length === 0 && session?.knownSha256 ? await session.knownSha256(input.path) : null;
    return whole !== null ? { sha256: whole, ranges: [] } : hashing.fileAndRangeSha256(input.path, toHash);
  };
  const describeOne = async (j: number, want: IntermediateCheck) =>
    ours(j) && want.stat !== undefined && (await statKey(want.path)) === want.stat ? { bytes: want.bytes, sha256: want.sha256 } : hashing.describeIntermediate(want.path);
  const describeUnit = (j: number) => Promise.all(intermediates[j].map((want) => describeOne(j, want)));
  // Concurrent hashing asks for every file at once; otherwise each is read only when it is checked.
  const early = hashing.concurrent ? { input: hashInput(), units: units.map((_, j) => describeUnit(j)) } : null;
  early?.units.forEach((p) => p.catch(() => {})); // awaited below, in order
  const { sha256, ranges } = await (early?.input ?? hashInput());
  const bytes = markers[0]?.input?.bytes ?? 0;
  let k = 0;
  for (const [j, unit] of units.entries()) {
    const marker = markers[j];
    // A byte range is checked by its own hash unless it is unchanged; a whole file by the file's.
    const expected = spans[j] ? ranges[k++] : unit.range?.kind === 'bytes' || (unit.range?.kind === 'rows' && unit.part > 0) ? null : sha256;
    if (!marker.input || (expected !== null && marker.input.sha256 !== expected)) {
      return { bytes, sha256, stale: `input ${input.displayPath} changed since ${unitName(marker)} was made (its SHA-256 differs)` };
    }
    const found = await (early?.units[j] ?? describeUnit(j));
    for (const [w, want] of intermediates[j].entries()) {
      const where = `intermediate ${want.path} of ${unitName(marker)}`;
      const got = found[w];
      if (!got) return { bytes, sha256, stale: `${where} is missing` };
      if (got.bytes !== want.bytes) return { bytes, sha256, stale: `${where} has ${got.bytes} bytes, its marker says ${want.bytes}` };
      if (got.sha256 !== want.sha256) return { bytes, sha256, stale: `${where} does not match its marker's SHA-256 (damaged)` };
    }
  }
  return { bytes, sha256, stale: null };
}

/** Units and their markers (by unit index), as the map phase leaves them. */
export interface UnitPlan<M> {
  units: WorkUnit[];
  markers: (M | null)[];
}

/**
 * The markers of a reduce, checked in full (inputStaleReason). The units of an input that
 * fails are redone by `redo` (given the inputs to redo; it returns the new plan); a second
 * failure means the input is changing under us, and the run refuses. Returns the plan and
 * every input's size and SHA-256.
 */
export async function currentUnitMarkers<M extends UnitMarkerBase>(
  inputs: ResolvedInput[],
  plan: UnitPlan<M>,
  intermediates: (unit: WorkUnit, marker: M) => IntermediateCheck[],
  redo: (stale: Set<number>) => Promise<UnitPlan<M>>,
  log: (text: string) => void,
  /** Where files are hashed: here, or on the run's workers (work/file-hashing.ts). */
  hashing: FileHashing = ON_THIS_THREAD,
  /** This process's session (inputStaleReason): its own units' unchanged files are not hashed again. */
  session?: SessionChecks,
): Promise<{ units: WorkUnit[]; markers: M[]; identities: { bytes: number; sha256: string }[] }> {
  const check = async (p: UnitPlan<M>, i: number) => {
    const own = p.units.filter((u) => u.input === i);
    const found = own.map((u) => p.markers[u.index]);
    if (found.some((m) => m === null)) return { bytes: 0, sha256: '', stale: `a unit of ${inputs[i].displayPath} has no marker after it was redone` };
    return inputStaleReason(inputs[i], own, found as M[], own.map((u, j) => intermediates(u, found[j] as M)), hashing, session);
  };
  const identities: { bytes: number; sha256: string }[] = [];
  const stale = new Set<number>();
  // With concurrent hashing every input's files are asked for at once; results are read in input order.
  const early = hashing.concurrent ? inputs.map((_, i) => check(plan, i)) : null;
  early?.forEach((p) => p.catch(() => {}));
  for (let i = 0; i < inputs.length; i++) {
    const result = await (early?.[i] ?? check(plan, i));
    identities.push({ bytes: result.bytes, sha256: result.sha256 });
    if (result.stale) {
      log(`tokenmix: ${result.stale}; redoing shard ${i}`);
      stale.add(i);
    }
  }
  if (stale.size === 0) return { units: plan.units, markers: plan.markers as M[], identities };
  const redone = await redo(stale);
  for (const i of stale) {
    const result = await check(redone, i);
    if (result.stale) throw new TokenmixError(`${result.stale}, again right after it was redone: is ${inputs[i].displayPath} being written? Rerun when it is complete`);
    identities[i] = { bytes: result.bytes, sha256: result.sha256 };
  }
  return { units: redone.units, markers: redone.markers as M[], identities };
}

/**
 * The redo of currentUnitMarkers for a map phase: forget the markers of the stale inputs'
 * units (as planned before and now: a changed input may split differently), plan again, and
 * map those units again.
 */
export async function redoInputs<M>(
  stale: Set<number>,
  units: WorkUnit[],
  markerPath: (unit: WorkUnit) => string,
  plan: () => Promise<WorkUnit[]>,
  map: (plan: WorkUnit[], mine: (unit: WorkUnit) => boolean) => Promise<{ markers: (M | null)[] }>,
): Promise<UnitPlan<M>> {
  const forget = (list: WorkUnit[]) => Promise.all(list.filter((u) => stale.has(u.input)).map((u) => rm(markerPath(u), { force: true })));
  await forget(units);
  const again = await plan();
  await forget(again);
  return { units: again, markers: (await map(again, (u) => stale.has(u.input))).markers };
}

/** The manifest's `inputs`: path, format, size, SHA-256 of the bytes (as the map read and the reduce checked them), and what was read. */
export function describeInputs(inputs: ResolvedInput[], counts: InputCounts[], identities: { bytes: number; sha256: string }[]) {
  return inputs.map((input, i) => ({
    path: input.displayPath,
    format: input.format,
    compression: input.compression,
    bytes: identities[i].bytes,
    sha256: identities[i].sha256,
    records: counts[i].records,
    problems: counts[i].problems,
    blank_lines: counts[i].blank_lines,
  }));
}
