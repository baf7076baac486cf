/**
 * tokenmix for Node: everything in the browser-safe API, plus the Dawn GPU opener, file
 * readers, the tokenizer.json loader and the curation pipeline.
 */
export * from './index.js';
export { dawnGpuOpener, type AdapterPreference } from './node/dawn.js';
export * as io from './io/index.js';
export { loadTokenizer } from './text/load-node.js';
export { curate, loadConfig, type CurateOptions, type CurateResult, type Manifest } from './pipeline/curate.js';
export { parseConfig, type CurateConfig } from './pipeline/config.js';
export { dedup, type DedupOptions, type DedupResult, type DedupManifest } from './dedup/index.js';
export { mix, type MixManifest, type MixResult } from './pipeline/mix.js';
export { writeReport } from './report/index.js';
