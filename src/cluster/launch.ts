/**
 * `--executor slurm`: pin the plan in the output directory (refusing one that differs from
 * the plan already there) and submit what is missing. Resubmitting the same plan is a retry.
 */
import { resolve } from 'node:path';
import { TokenmixError } from '../errors.js';
import { planDifferences, planPath, readPlan, samePlan, writePlan, type RunPlan } from './plan.js';
import { submitMissing, type SubmitOptions, type SubmitResult } from './submit.js';

/**
 * Write the plan into the output directory, or keep the identical one already there (with
 * this submission's backend and report choice); a different one is refused.
 */
export async function pinPlan(outDir: string, plan: RunPlan, write = true): Promise<RunPlan> {
  const existing = await readPlan(outDir);
  if (existing && !samePlan(existing, plan)) {
    throw new TokenmixError(
      `${resolve(outDir)} already holds a run planned with a different ${planDifferences(existing, plan).join(', ')} (${planPath(outDir)}); ` +
        `use a new --out directory, finish the planned run with tokenmix retry ${outDir}, or delete ${outDir} to start over`,
    );
  }
  const pinned = existing ? { ...existing, run: plan.run } : plan;
  if (write) await writePlan(outDir, pinned);
  return pinned;
}

export async function launch(outDir: string, plan: RunPlan, options: SubmitOptions): Promise<SubmitResult> {
  return submitMissing(outDir, await pinPlan(outDir, plan, !options.dryRun), options);
}
