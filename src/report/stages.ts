/**
 * One view of "what each stage kept", whichever command wrote the manifest: `curate`/`mix`
 * write `stages[]` with `per_source` counts (SPEC §2); `dedup` writes one stage's worth of
 * counts as `totals` plus `sources: {name: counts}`. The funnel plots and stage tables read
 * only this view.
 */
import { asArray, asNumber, asRecord, asString, type JsonRecord } from './read.js';
import { dict } from '../dict.js';

export interface DropCount {
  docs: number;
  tokens: number | null;
}

export interface StageCounts {
  docsIn: number;
  docsOut: number;
  tokensIn: number;
  tokensOut: number;
  /** Reason → what it removed; empty when the manifest does not break drops down. */
  dropped: Record<string, DropCount>;
}

export interface StageView {
  name: string;
  total: StageCounts;
  perSource: Record<string, StageCounts>;
}

export interface StagesView {
  /** Source names in manifest order. */
  sources: string[];
  stages: StageView[];
}

function counts(value: unknown): StageCounts | undefined {
  const record = asRecord(value);
  if (!record) return undefined;
  const docsIn = asNumber(record.docs_in);
  const docsOut = asNumber(record.docs_out);
  if (docsIn === undefined || docsOut === undefined) return undefined;
  const dropped: Record<string, DropCount> = dict();
  for (const [reason, drop] of Object.entries(asRecord(record.dropped) ?? {})) {
    const docs = asNumber(asRecord(drop)?.docs) ?? asNumber(drop);
    if (docs !== undefined) dropped[reason] = { docs, tokens: asNumber(asRecord(drop)?.tokens) ?? null };
  }
  return { docsIn, docsOut, tokensIn: asNumber(record.tokens_in) ?? 0, tokensOut: asNumber(record.tokens_out) ?? 0, dropped };
}

function perSourceCounts(value: unknown): Record<string, StageCounts> {
  const out: Record<string, StageCounts> = dict();
  for (const [source, c] of Object.entries(asRecord(value) ?? {})) {
    const parsed = counts(c);
    if (parsed) out[source] = parsed;
  }
  return out;
}

/** Source names: `sources` as an array (curate/mix) or the keys of `sources` (dedup), else from the stages. */
function sourceNames(manifest: JsonRecord, stages: StageView[]): string[] {
  const list = asArray(manifest.sources);
  if (list) return list.map((s) => asString(s)).filter((s): s is string => s !== undefined);
  const record = asRecord(manifest.sources);
  if (record) return Object.keys(record);
  const seen = new Set<string>();
  for (const stage of stages) for (const source of Object.keys(stage.perSource)) seen.add(source);
  return [...seen];
}

function dedupStage(manifest: JsonRecord): StageView | undefined {
  const totals = asRecord(manifest.totals);
  const total = counts(totals);
  if (!totals || !total) return undefined;
  // The dedup manifest counts removals by rule, in documents only.
  for (const rule of ['exact', 'near'] as const) {
    const docs = asNumber(totals[`removed_${rule}`]);
    if (docs !== undefined && docs > 0) total.dropped[`${rule}_duplicate`] = { docs, tokens: null };
  }
  return { name: 'dedup', total, perSource: perSourceCounts(manifest.sources) };
}

export function readStages(manifest: JsonRecord): StagesView {
  const stages: StageView[] = [];
  const list = asArray(manifest.stages);
  if (list) {
    for (const [index, raw] of list.entries()) {
      const record = asRecord(raw);
      const total = counts(record);
      if (!record || !total) continue;
      stages.push({ name: asString(record.name) ?? `stage ${index + 1}`, total, perSource: perSourceCounts(record.per_source) });
    }
  } else if (asString(manifest.command) === 'dedup') {
    const stage = dedupStage(manifest);
    if (stage) stages.push(stage);
  }
  return { sources: sourceNames(manifest, stages), stages };
}
