/**
 * Time source for everything that is not a pure core. Pure cores count ticks and never
 * see a Clock; drivers turn clock time into ticks. Injecting a {@link ManualClock} makes a
 * whole component deterministic in tests.
 */
import type { Clock, TimerHandle } from '../../catalog/runtime.js';

export type { Clock, TimerHandle };

/** The real clock: `Date.now`, `performance.now` and Node timers (unref'd never: callers own lifetimes). */
export class SystemClock implements Clock {
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  now(): number {
    return Date.now();
  }

  monotonic(): number {
    return performance.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const t = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, Math.max(0, ms));
    this.timers.set(id, t);
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const t = this.timers.get(handle.id);
    if (t) {
      clearTimeout(t);
      this.timers.delete(handle.id);
    }
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, setInterval(fn, Math.max(1, ms)));
    return { id };
  }

  clearInterval(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const t = this.timers.get(handle.id);
    if (t) {
      clearInterval(t);
      this.timers.delete(handle.id);
    }
  }
}

interface ManualTimer {
  id: number;
  at: number;
  seq: number;
  every: number | undefined;
  fn: () => void;
}

/**
 * A clock that moves only when told to. Timers fire in (due time, creation order) order,
 * so a run is reproducible from its inputs alone.
 */
export class ManualClock implements Clock {
  private time: number;
  private nextId = 1;
  private seq = 0;
  private readonly timers = new Map<number, ManualTimer>();

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  monotonic(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.time + Math.max(0, ms), seq: this.seq++, every: undefined, fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) this.timers.delete(handle.id);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const every = Math.max(1, ms);
    this.timers.set(id, { id, at: this.time + every, seq: this.seq++, every, fn });
    return { id };
  }

  clearInterval(handle: TimerHandle | undefined): void {
    this.clearTimeout(handle);
  }

  /** Number of timers waiting to fire. */
  pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('clock: cannot advance by a negative amount');
    const target = this.time + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers.values()) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.time = next.at;
      if (next.every !== undefined) {
        next.at += next.every;
        next.seq = this.seq++;
      } else {
        this.timers.delete(next.id);
      }
      next.fn();
    }
    this.time = target;
  }
}
