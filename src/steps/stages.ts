/**
 * The curation stages and their drop reasons (SPEC §2), declared once: the step runner checks
 * every drop against them, the manifest and report name stages and reasons with them, the
 * explorer's funnel lists them, and a record's fate (one byte per record while a run decides)
 * is an index into them.
 *
 * `quarantine` comes first and is not a curation stage: it sets aside bad records (the readers'
 * problems, whose reasons are open-ended) and duplicate ids; the manifest counts it in its totals
 * and `quarantine` block, the explorer shows it as its first funnel row.
 */
import { HEURISTIC_REASONS } from '../filters/heuristics.js';
import { invariant } from '../errors.js';

export const STAGES = [
  { name: 'quarantine', reasons: null },
  { name: 'quality', reasons: ['below_threshold'] },
  { name: 'heuristics', reasons: HEURISTIC_REASONS },
  { name: 'contamination', reasons: ['eval_overlap'] },
  { name: 'exact_dedup', reasons: ['duplicate'] },
  { name: 'near_dedup', reasons: ['near_duplicate'] },
] as const;

export type StageName = (typeof STAGES)[number]['name'];
export const STAGE_NAMES: readonly StageName[] = STAGES.map((s) => s.name);
/** The stages the manifest reports (`stages`): every one but quarantine. */
export const CURATION_STAGES: readonly StageName[] = STAGE_NAMES.filter((name) => name !== 'quarantine');
/** The reason of a duplicate id (the other quarantine reasons are the readers' problems). */
export const DUPLICATE_ID = 'duplicate-id';

/** A record's fate: KEPT, or the code of the (stage, reason) that dropped it. */
export type Fate = number;
export const KEPT: Fate = 0;

interface FateEntry {
  stage: StageName;
  /** null for quarantine: its reason is the record's own (a problem, or duplicate-id). */
  reason: string | null;
}

/** Code c (1-based) → its (stage, reason); quarantine has one code for all its reasons. */
const FATES: FateEntry[] = STAGES.flatMap((s): FateEntry[] => (s.reasons === null ? [{ stage: s.name, reason: null }] : s.reasons.map((reason) => ({ stage: s.name, reason }))));
const CODES = new Map(FATES.map((f, i) => [`${f.stage}:${f.reason ?? ''}`, i + 1]));
invariant(FATES.length < 256, 'fates must fit a byte');

/** The reasons a stage may drop for (null: any, for quarantine). */
export function stageReasons(stage: StageName): readonly string[] | null {
  return STAGES.find((s) => s.name === stage)!.reasons;
}

/** The fate of a record `stage` drops for `reason` (throws for an undeclared reason: a bug). */
export function fateOf(stage: StageName, reason: string): Fate {
  const reasons = stageReasons(stage);
  const code = CODES.get(`${stage}:${reasons === null ? '' : reason}`);
  invariant(code !== undefined, `stage ${stage} declares no drop reason "${reason}"`);
  return code;
}

export const QUARANTINED: Fate = fateOf('quarantine', DUPLICATE_ID);

/** The stage and reason of a dropped record's fate (reason null for quarantine), or null when kept. */
export function dropOf(fate: Fate): FateEntry | null {
  if (fate === KEPT) return null;
  const entry = FATES[fate - 1];
  invariant(entry !== undefined, `unknown fate ${fate}`);
  return entry;
}
