/**
 * `--executor slurm`: pin the plan in the output directory (refusing one that differs from
 * the plan already there) and submit what is missing. Resubmitting the same plan is a retry.
 */
import { resolve } from 'node:path';
import { TokenmixError } from '../errors.js';
import { planDifferences, planPath, readPlan, samePlan, writePlan, type RunPlan } from './plan.js';
import { submitMissing, type SubmitOptions, type SubmitResult } from './submit.js';

export async function launch(outDir: string, plan: RunPlan, options: SubmitOptions): Promise<SubmitResult> {
  const existing = await readPlan(outDir);
  if (existing && !samePlan(existing, plan)) {
    throw new TokenmixError(
      `${resolve(outDir)} already holds a run planned with a different ${planDifferences(existing, plan).join(', ')} (${planPath(outDir)}); ` +
        `use a new --out directory, finish the planned run with tokenmix retry ${outDir}, or delete ${outDir} to start over`,
    );
  }
  if (!options.dryRun) await writePlan(outDir, existing ? { ...existing, run: plan.run } : plan);
  return submitMissing(outDir, existing ?? plan, options);
}
