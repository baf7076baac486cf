/**
 * One map unit's share of curate's outputs (outputs.ts), as a task on any thread: its keep,
 * drop and quarantine lines into part files (outputs.ts joins them in unit order), and what the
 * manifest sums over units: totals per fate, the ledger's counts per (source, fate), eval-like
 * counts, and the unit's audit candidates (its smallest sample keys per group: the smallest of
 * the run's are among them). Everything is either in record order within the unit or a sum, so
 * the outputs do not depend on which thread wrote which unit.
 */
import type { Task } from '../exec/executor.js';
import { dict, own } from '../dict.js';
import type { Count } from '../steps/accounting.js';
import { dropOf, QUARANTINED } from '../steps/stages.js';
import { jsonLines } from '../work/json-lines.js';
import { LineFile } from '../work/line-file.js';
import { AuditSampler, type AuditCandidate } from './audit.js';
import type { ShardRecord } from './shard.js';

export interface UnitOutputsTask extends Task {
  kind: 'unit-outputs';
  /** The unit's intermediate file. */
  records: string;
  /** Part files: `${parts}.keep`, `.drops`, `.quarantine`. */
  parts: string;
  shard: number;
  /** The input's name, as the quarantine lines give it. */
  file: string;
  position: 'line' | 'row';
  idField: string;
  /** The fate of each of the unit's lines. */
  fates: Uint8Array;
  /** The unit's records quarantined for a duplicate id (by index in the unit), with their messages. */
  duplicates: [index: number, message: string][];
  seed: number;
  perReason: number;
}

interface Totals {
  input: number;
  kept: number;
  dropped: Record<string, number>;
  quarantined: number;
}

export interface UnitOutputs {
  totals: Totals;
  tokens: Omit<Totals, 'quarantined'>;
  quarantineReasons: Record<string, number>;
  /** Non-quarantined records per (source, fate): documents and tokens, for the ledger. */
  ledger: [source: string, fate: number, docs: number, tokens: number][];
  flagged: Record<string, Count>;
  retained: Record<string, Count>;
  samples: AuditCandidate[];
}

export function runUnitOutputs(task: UnitOutputsTask): UnitOutputs {
  const keep = new LineFile(`${task.parts}.keep`);
  const drops = new LineFile(`${task.parts}.drops`);
  const quarantine = new LineFile(`${task.parts}.quarantine`);
  const duplicates = new Map(task.duplicates);
  const sampler = new AuditSampler(task.seed, task.perReason);
  const totals: Totals = { input: 0, kept: 0, dropped: dict(), quarantined: 0 };
  const tokens: UnitOutputs['tokens'] = { input: 0, kept: 0, dropped: dict() };
  const quarantineReasons: Record<string, number> = dict();
  const ledger = new Map<string, UnitOutputs['ledger'][number]>();
  const flagged: Record<string, Count> = dict();
  const retained: Record<string, Count> = dict();
  const position = task.position;
  let index = 0;
  for (const record of jsonLines<ShardRecord>(task.records)) {
    const line = index++;
    const fate = task.fates[line];
    totals.input++;
    if (fate === QUARANTINED) {
      const reason = record.id === undefined ? record.problem : 'duplicate-id';
      const message = record.id === undefined ? record.message : duplicates.get(line)!;
      const field = record.id === undefined ? record.field : task.idField;
      quarantineReasons[reason] = (own(quarantineReasons, reason) ?? 0) + 1;
      totals.quarantined++;
      quarantine.line(JSON.stringify({ file: task.file, [position]: record.row, field, reason, message }));
      continue;
    }
    if (record.id === undefined) continue; // unreachable: problems are always quarantined
    tokens.input += record.tokens;
    if (record.eval_like) addFlag(flagged, record.source, record.tokens);
    const key = `${fate}\u0000${record.source}`;
    const counts = ledger.get(key);
    if (counts) {
      counts[2]++;
      counts[3] += record.tokens;
    } else ledger.set(key, [record.source, fate, 1, record.tokens]);
    const drop = dropOf(fate);
    const candidate = { shard: task.shard, row: record.row, id: record.id, source: record.source, tokens: record.tokens };
    if (drop) {
      const reason = drop.reason!;
      const name = `${drop.stage}:${reason}`;
      totals.dropped[name] = (own(totals.dropped, name) ?? 0) + 1;
      tokens.dropped[name] = (own(tokens.dropped, name) ?? 0) + record.tokens;
      drops.line(JSON.stringify({ [position]: record.row, id: record.id, stage: drop.stage, reason }));
      sampler.offer({ ...candidate, stage: drop.stage, reason });
    } else {
      totals.kept++;
      tokens.kept += record.tokens;
      keep.line(JSON.stringify({ [position]: record.row, id: record.id, ...(record.eval_like ? { eval_like: true } : {}) }));
      if (record.eval_like) addFlag(retained, record.source, record.tokens);
      sampler.offer({ ...candidate, stage: 'kept', reason: 'kept' });
    }
  }
  if (index !== task.fates.length) throw new Error(`tokenmix internal error: ${task.records} has ${index} lines, its fates ${task.fates.length}`);
  for (const file of [keep, drops, quarantine]) file.close('');
  return {
    totals, tokens, quarantineReasons, ledger: [...ledger.values()], flagged, retained,
    samples: sampler.result().flatMap(([, list]) => list),
  };
}

function addFlag(into: Record<string, Count>, source: string, tokens: number): void {
  const c = (into[source] ??= { docs: 0, tokens: 0 });
  c.docs++;
  c.tokens += tokens;
}
