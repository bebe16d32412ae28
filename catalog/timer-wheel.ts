/**
 * A shared timer wheel for many long, mostly cancelled timeouts (one per blocked query):
 * timers are grouped into slots `resolutionMs` wide and only one timer of the underlying
 * {@link Timers} is ever armed, for the earliest non-empty slot.
 *
 * Contract:
 * - A timer set at time `t` for `ms` fires no earlier than `t + ms` and, given a punctual
 *   base timer, at most `resolutionMs` later (it fires with its slot).
 * - Timers of one slot fire in the order they were set; slots fire in time order.
 * - `clearTimeout` is O(1) and idempotent; it ignores handles it does not know.
 * - A timer is due no sooner than the next slot boundary, so a callback that keeps
 *   re-arming with 0 ms fires once per slot and cannot starve the event loop.
 * - While no timer is pending, no base timer is armed (nothing keeps the process alive).
 * - If callbacks throw, the sweep still runs every due callback, re-arms, then rethrows the
 *   first error (a broken invariant in a caller is not swallowed).
 */
import type { Timers } from './timers.js';

export interface TimerWheelOptions {
  /** Where the wheel's single real timer comes from (the agent's Clock, or Node timers). */
  base: Timers;
  /** Monotonic milliseconds, on the same time base as `base`. */
  now: () => number;
  /** Slot width in ms, the most a timer fires late; default {@link DEFAULT_WHEEL_RESOLUTION_MS}. */
  resolutionMs?: number;
}

export const DEFAULT_WHEEL_RESOLUTION_MS = 10;

/** A pending timer; opaque to callers. */
class WheelTimer {
  live = true;
  constructor(
    readonly slot: number,
    readonly fn: () => void,
  ) {}
}

export class TimerWheel implements Timers {
  private readonly base: Timers;
  private readonly now: () => number;
  private readonly res: number;
  /** Pending timers by slot (slot `s` is due at time `s * res`); empty slots are deleted. */
  private readonly slots = new Map<number, Set<WheelTimer>>();
  /** Min-heap of slot numbers; may hold slots emptied by cancels (skipped lazily). */
  private readonly heap: number[] = [];
  private readonly inHeap = new Set<number>();
  private pending = 0;
  private armed: unknown;
  private armedSlot = Infinity;

  constructor(opts: TimerWheelOptions) {
    if (!(opts.resolutionMs === undefined || opts.resolutionMs > 0)) throw new RangeError('timer-wheel: resolutionMs must be positive');
    this.base = opts.base;
    this.now = opts.now;
    this.res = opts.resolutionMs ?? DEFAULT_WHEEL_RESOLUTION_MS;
  }

  /** Number of timers waiting to fire. */
  get size(): number {
    return this.pending;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const now = this.now();
    const slot = Math.max(Math.ceil((now + Math.max(0, ms)) / this.res), Math.floor(now / this.res) + 1);
    let set = this.slots.get(slot);
    if (set === undefined) {
      this.slots.set(slot, (set = new Set()));
      if (!this.inHeap.has(slot)) this.push(slot);
    }
    const t = new WheelTimer(slot, fn);
    set.add(t);
    this.pending++;
    if (slot < this.armedSlot) this.arm();
    return t;
  }

  clearTimeout(handle: unknown): void {
    if (!(handle instanceof WheelTimer) || !handle.live) return;
    handle.live = false;
    const set = this.slots.get(handle.slot);
    if (set?.delete(handle) && set.size === 0) this.slots.delete(handle.slot);
    this.pending--;
    if (this.pending === 0) this.disarm();
  }

  private readonly fire = (): void => {
    const limit = Math.max(this.armedSlot, Math.floor(this.now() / this.res));
    this.armed = undefined;
    this.armedSlot = Infinity;
    const due: Set<WheelTimer>[] = [];
    while (this.heap.length > 0 && this.heap[0]! <= limit) {
      const slot = this.pop();
      const set = this.slots.get(slot);
      if (set === undefined) continue;
      this.slots.delete(slot);
      due.push(set);
    }
    let first: unknown;
    let failed = false;
    for (const set of due) {
      for (const t of set) {
        if (!t.live) continue;
        t.live = false;
        this.pending--;
        try {
          t.fn();
        } catch (err) {
          if (!failed) (failed = true), (first = err);
        }
      }
    }
    this.arm();
    if (failed) throw first;
  };

  /** Arms the base timer for the earliest live slot (or nothing when there is none). */
  private arm(): void {
    while (this.heap.length > 0 && !this.slots.has(this.heap[0]!)) this.pop();
    if (this.heap.length === 0) {
      this.disarm();
      return;
    }
    const slot = this.heap[0]!;
    if (this.armed !== undefined && slot === this.armedSlot) return;
    if (this.armed !== undefined) this.base.clearTimeout(this.armed);
    this.armedSlot = slot;
    this.armed = this.base.setTimeout(this.fire, Math.max(0, slot * this.res - this.now()));
  }

  private disarm(): void {
    if (this.armed !== undefined) this.base.clearTimeout(this.armed);
    this.armed = undefined;
    this.armedSlot = Infinity;
  }

  private push(slot: number): void {
    const h = this.heap;
    this.inHeap.add(slot);
    let i = h.push(slot) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]! <= slot) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = slot;
  }

  private pop(): number {
    const h = this.heap;
    const top = h[0]!;
    this.inHeap.delete(top);
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const c = l + 1 < h.length && h[l + 1]! < h[l]! ? l + 1 : l;
        if (h[c]! >= last) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
