/**
 * The time and randomness interfaces every part of Herald is written against. They live in
 * catalog/ so that catalog/ and dns/ can depend on them without importing agent/ (the
 * dependency rule); implementations (SystemClock, ManualClock, SeededRng) are in
 * agent/runtime/, and the composition root passes them in.
 */
export interface TimerHandle {
  /** Opaque to callers. */
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the Unix epoch (wall clock). */
  now(): number;
  /** Milliseconds from an arbitrary origin; never goes backwards. */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
}

/** Seeded randomness; equal seeds give equal sequences. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). `n` must be a positive integer. */
  int(n: number): number;
  /** Shuffles `arr` in place (Fisher–Yates) and returns it. */
  shuffle<T>(arr: T[]): T[];
  /** A new independent generator derived from this one. */
  fork(): Rng;
}
