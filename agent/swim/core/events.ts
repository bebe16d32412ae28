/**
 * Serf-style user events: a Lamport clock orders them across the cluster, and a ring of the
 * last `size` Lamport times de-duplicates re-gossiped copies. Events older than the window
 * are dropped as too old to tell apart from duplicates.
 */
export class LamportClock {
  private time = 0;

  now(): number {
    return this.time;
  }

  /** Returns the current time and advances the clock (the time of a new local event). */
  increment(): number {
    return this.time++;
  }

  /** Moves the clock past a time seen in a message. */
  witness(t: number): void {
    if (t >= this.time) this.time = t + 1;
  }
}

interface Slot {
  ltime: number;
  seen: string[];
}

/** De-duplication window for user events. */
export class EventDedup {
  private readonly slots: (Slot | undefined)[];

  constructor(private readonly size: number) {
    this.slots = new Array<Slot | undefined>(size);
  }

  /**
   * Records an event; returns true when it is new and should be delivered and re-gossiped,
   * false for a duplicate or an event older than the window ending at `clockNow`.
   */
  record(ltime: number, name: string, payload: Uint8Array, clockNow: number): boolean {
    if (clockNow > this.size && ltime < clockNow - this.size) return false;
    const idx = ltime % this.size;
    const id = eventId(name, payload);
    let slot = this.slots[idx];
    if (slot && slot.ltime === ltime) {
      if (slot.seen.includes(id)) return false;
      slot.seen.push(id);
      return true;
    }
    if (slot && slot.ltime > ltime) return false;
    slot = { ltime, seen: [id] };
    this.slots[idx] = slot;
    return true;
  }
}

function eventId(name: string, payload: Uint8Array): string {
  let hex = '';
  for (const b of payload) hex += b.toString(16).padStart(2, '0');
  return `${name}\u0000${hex}`;
}
