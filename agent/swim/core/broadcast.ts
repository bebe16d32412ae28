import { estimateSize, type Message } from './messages.js';

/**
 * Transmit-limited broadcast queue (memberlist TransmitLimitedQueue). Messages are
 * piggybacked on probes and acks and sent by the gossip timer; each goes out at most
 * `retransmitLimit` times. A newer message with the same key (e.g. about the same node)
 * replaces the older one. Least-transmitted, then newest, messages go first.
 */
export interface QueuedBroadcast {
  readonly key: string;
  readonly msg: Message;
  readonly size: number;
  transmits: number;
  readonly id: number;
  /** The eager gossip round that sent this message; undefined until one has. */
  eagerRound?: number;
}

export class BroadcastQueue {
  private readonly items = new Map<string, QueuedBroadcast>();
  private nextId = 0;

  /** @param maxItems bound on queued messages (Serf's MaxQueueDepth); the oldest go first. */
  constructor(private readonly maxItems = 4096) {}

  /** Queues `msg` under `key`, replacing any message already queued under that key. */
  push(key: string, msg: Message): void {
    this.items.delete(key);
    this.items.set(key, { key, msg, size: estimateSize(msg), transmits: 0, id: this.nextId++ });
    while (this.items.size > this.maxItems) {
      const oldest = this.items.keys().next().value as string;
      this.items.delete(oldest);
    }
  }

  /** Drops the message under `key`, if any. */
  invalidate(key: string): void {
    this.items.delete(key);
  }

  /** Transmit count of the message under `key`, or undefined when it is not queued. */
  transmits(key: string): number | undefined {
    return this.items.get(key)?.transmits;
  }

  size(): number {
    return this.items.size;
  }

  /**
   * Takes messages whose estimated sizes sum to at most `budget` bytes, counting one
   * transmission each; messages that reach `limit` transmissions leave the queue.
   *
   * With `eagerRound` (an eager gossip round's number) it takes only messages that no other
   * eager round has sent, and counts no transmission: an eager round is an extra first push
   * of news, on top of the retransmit schedule, never at its expense. (Counting it would let
   * a member that still knows few peers, early in a join, use up a message's transmissions
   * before most members have it.)
   */
  take(budget: number, limit: number, eagerRound?: number): Message[] {
    if (this.items.size === 0 || budget <= 0) return [];
    const sorted = [...this.items.values()].sort((a, b) => a.transmits - b.transmits || b.id - a.id);
    const out: Message[] = [];
    let used = 0;
    for (const b of sorted) {
      if (eagerRound !== undefined && b.eagerRound !== undefined && b.eagerRound !== eagerRound) continue;
      if (used + b.size > budget) continue;
      used += b.size;
      out.push(b.msg);
      if (eagerRound !== undefined) {
        b.eagerRound = eagerRound;
        continue;
      }
      b.transmits++;
      if (b.transmits >= limit) this.items.delete(b.key);
    }
    return out;
  }
}

/** memberlist `retransmitLimit`: `mult × ⌈log10(n + 1)⌉`. */
export function retransmitLimit(mult: number, n: number): number {
  const nodeScale = Math.ceil(Math.log10(n + 1));
  return mult * nodeScale;
}
