import type { CheckSpecBase } from '../../../agent/checks/types.js';

/** Polls `cond` every 5 ms until true; fails after `ms` of real time (bounded loop). */
export async function waitFor(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 100_000; i++) {
    if (cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Common spec fields with no damping. */
export function base(checkId: string, over: Partial<CheckSpecBase> = {}): CheckSpecBase {
  return {
    checkId,
    timeoutMs: 2000,
    successBeforePassing: 0,
    failuresBeforeWarning: 0,
    failuresBeforeCritical: 0,
    outputMaxSize: 4096,
    ...over,
  };
}

/** A report sink that records (status, output) pairs. */
export function recorder(): { reports: Array<[string, string]>; report: (s: string, o: string) => void } {
  const reports: Array<[string, string]> = [];
  return { reports, report: (s, o) => reports.push([s, o]) };
}
