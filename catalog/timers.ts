/**
 * The timer source the catalog's server-side services use. Declared here so `catalog/` never
 * imports from `agent/`; the agent's `Clock` satisfies it structurally, and tests pass a
 * ManualClock or real timers.
 */
export interface Timers {
  /** Runs `fn` once after `ms` milliseconds; the handle is opaque to the caller. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a pending timer; a handle that already fired (or undefined) is ignored. */
  clearTimeout(handle: unknown): void;
}

/** Node's own timers, for callers that have nothing to inject. */
export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
