import type { Rng } from '../../runtime/rng.js';

/**
 * Round-robin probe order (SWIM's "time-bounded completeness"): every member is probed once
 * per pass; the order is reshuffled at the start of each pass and new members are inserted
 * at a random position so they are probed within one pass.
 */
export class ProbeOrder {
  private order: string[] = [];
  private index = 0;

  constructor(private readonly rng: Rng) {}

  add(name: string): void {
    const at = this.rng.int(this.order.length + 1);
    this.order.splice(at, 0, name);
    if (at < this.index) this.index++;
  }

  /**
   * The next name for which `probeable` holds, or undefined after a full pass found none.
   * Names for which `known` is false are removed when a pass ends.
   */
  next(probeable: (name: string) => boolean, known: (name: string) => boolean): string | undefined {
    for (let checked = 0; checked <= this.order.length; checked++) {
      if (this.index >= this.order.length) {
        this.order = this.rng.shuffle(this.order.filter(known));
        this.index = 0;
        if (this.order.length === 0) return undefined;
      }
      const name = this.order[this.index++] as string;
      if (probeable(name)) return name;
    }
    return undefined;
  }

  length(): number {
    return this.order.length;
  }
}

/** State of the probe this node currently has in flight. */
export interface ProbeState {
  seq: number;
  target: string;
  /** Tick at which the direct ping times out and indirect probes start. */
  timeoutAt: number;
  /** Tick at which the probe as a whole fails. */
  deadline: number;
  acked: boolean;
  indirectSent: boolean;
  expectedNacks: number;
  nacks: number;
}

/** An indirect probe this node runs on behalf of another (ping-req). */
export interface RelayState {
  /** Requester's sequence number, used in the forwarded ack or nack. */
  originSeq: number;
  originAddr: string;
  wantNack: boolean;
  deadline: number;
}
