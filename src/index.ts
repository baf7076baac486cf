/**
 * tokenmix — browser-safe public API: backends, GPU runtime on `navigator.gpu`, the kernels
 * (GPU host code + CPU oracles), text, and the mixture engine. No Node imports here; the
 * Node entry (src/node.ts) adds Dawn, file readers and the pipeline.
 */
export { TokenmixError, GpuUnavailableError } from './errors.js';
export { VERSION } from './version.js';
export { type Backend, type BackendChoice, resolveBackend, describeBackend, releaseBackend, parseBackendChoice } from './backend.js';
export { GpuContext, type AdapterSummary, type GpuLimits } from './gpu/context.js';
export { browserGpuOpener, openOnGpu, type GpuOpener, type GpuAttempt } from './gpu/acquire.js';
export { type PhaseTimes, emptyPhaseTimes } from './gpu/timing.js';
export { selfTest, type SelfTestResult } from './selftest.js';

export { minhash, minhashGpu } from './kernels/minhash.js';
export { minhashCpu, estimateJaccard, minhashConstants, type MinhashParams } from './cpu/minhash.js';
export { threshold, thresholdGpu } from './kernels/threshold.js';
export { thresholdCpu, createThresholdTotals, mergeThresholdStats, histogramEdges, type ThresholdBatch, type ThresholdParams, type ThresholdResult } from './cpu/threshold.js';
export { topTokensThreshold, retainedTokensCurve } from './filters/top-tokens.js';
export { createHistogramAccumulator, GpuHistogramAccumulator } from './kernels/histogram.js';
export { histogramCpu, CpuHistogramAccumulator, type HistogramAccumulator, type HistogramConfig } from './cpu/histogram.js';
export { mixtureLosses, mixtureLossesGpu } from './kernels/mixing.js';
export { mixtureLossesCpu, smoothedDistributions, type MixtureLossInput } from './cpu/mixing.js';

export * from './text/index.js';
export * as mixture from './mixture/index.js';
export * as explore from './explore/index.js';
