/**
 * The mixture engine (SPEC §3–§6): weights and schedules, baselines, diagnostics, batched
 * candidate evaluation, optimization (weighted and minimax) and the sampling plan. Pure
 * TypeScript, browser-safe.
 */
export * from './weights.js';
export * from './diagnostics.js';
export * from './data.js';
export * from './evaluate.js';
export * from './baselines.js';
export * from './project.js';
export * from './optimize.js';
export * from './minimax.js';
export * from './prng.js';
export * from './sampling.js';
export * from './sweep.js';
export * from './fit.js';
export * from './fitted-law.js';
