/**
 * The explorer's engine (web/): `tokenmix mix` over records held in memory, browser-safe.
 * `ExploreCorpus` tokenizes once; `ExploreSession.run(config)` curates (cached), builds the
 * retained histograms on the backend and evaluates the mixture in f64, with the numbers the
 * CLI's manifest reports for the same config.
 */
export { ExploreCorpus, type ExploreRecord, type ExploreEvalSet, type TokenRows } from './corpus.js';
export { Curator, curationKey, STAGES, type Curation, type StageCounts, type StageName } from './curate.js';
export { NearDedupIndex, type NearDedupParams } from './near-dedup.js';
export type { NearOutcome } from '../steps/near-memory.js';
export { retainedData, type RetainedData } from './retained.js';
export { ExploreSession, parseExploreConfig, type ExploreConfig, type ExploreResult, type TopToken } from './session.js';
export { configFromSettings, settingsFromConfig, type ExploreSettings, type ExploreFields } from './settings.js';
export { openDroppedFile, fieldChoices, readDroppedFile, type DroppedFile, type DroppedFormat, type FieldChoices, type ReadOutcome } from './read.js';
