/**
 * `--wait`: follow a submitted run until the scheduler holds none of its tasks, printing a
 * line whenever the counts change, and report whether it completed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { readLedger } from './ledger.js';
import type { RunPlan } from './plan.js';
import { isActive, runStatus, summaryLines, type StageReport } from './status.js';
import { schedulerView } from './submit.js';

export async function waitForRun(outDir: string, plan: RunPlan, log: (text: string) => void, pollMs = 2000): Promise<StageReport[]> {
  let last = '';
  for (;;) {
    const reports = await runStatus(outDir, plan, await readLedger(outDir), await schedulerView());
    const line = `tokenmix: ${summaryLines(reports).map((l) => l.replace(/\s+/, ' ')).join(' · ')}`;
    if (line !== last) log(line);
    last = line;
    if (!isActive(reports)) return reports;
    await sleep(pollMs);
  }
}
