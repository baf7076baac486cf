/**
 * The map task of `tokenmix curate`: one work unit → its intermediate and marker (shard.ts),
 * runnable on any thread. What every unit of a run shares (the tokenizer, the eval sets'
 * contamination index) is built once per thread from the config (`curateResources`).
 */
import type { Task, TaskLink } from '../exec/executor.js';
import type { WorkUnit } from '../exec/units.js';
import { ContaminationIndex } from '../filters/contamination.js';
import type { FieldMap, ResolvedInput } from '../io/types.js';
import { loadTokenizer } from '../text/load-node.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { TokenmixError } from '../errors.js';
import type { CurateConfig } from './config.js';
import { readEvalSets, type EvalSet } from './evals.js';
import { processUnit, type UnitMarker } from './shard.js';

export interface CurateUnitTask extends Task {
  kind: 'curate-unit';
  config: CurateConfig;
  /** Directory of the config file: relative paths (tokenizer, evals) resolve against it. */
  baseDir: string;
  workDir: string;
  fingerprint: string;
  input: ResolvedInput;
  unit: WorkUnit;
  firstLine: number;
}

export interface CurateResources {
  tokenizer: Tokenizer;
  evals: EvalSet[];
  contamination: ContaminationIndex | null;
}

export function fieldMap(config: CurateConfig): FieldMap {
  return {
    id: config.fields.id,
    text: config.fields.text,
    ...(config.fields.source !== undefined ? { source: config.fields.source } : {}),
    quality: config.fields.quality,
  };
}

export async function curateResources(config: CurateConfig, baseDir: string, configPath = 'config'): Promise<CurateResources> {
  const tokenizer = await loadTokenizer(config.tokenizer, { baseDir });
  const evals = await readEvalSets(config.evals, baseDir);
  let contamination: ContaminationIndex | null = null;
  if (config.contamination) {
    if (evals.length === 0) throw new TokenmixError(`${configPath}: "contamination" needs eval sets: add "evals": { name: path } to the config`);
    contamination = new ContaminationIndex(config.contamination.ngram, config.contamination.min_overlap);
    for (const set of evals) for (const text of set.texts) contamination.addEvalText(text);
  }
  return { tokenizer, evals, contamination };
}

export function runCurateUnit(task: CurateUnitTask, link: TaskLink, resources: CurateResources): Promise<UnitMarker> {
  return processUnit(task.input, task.unit, task.firstLine, {
    config: task.config,
    fields: fieldMap(task.config),
    tokenizer: resources.tokenizer,
    workDir: task.workDir,
    fingerprint: task.fingerprint,
    progress: link,
    contamination: resources.contamination,
  });
}
