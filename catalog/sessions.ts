/**
 * The leader's KV duties: session TTL timers and tombstone reaping. Started when this server
 * becomes leader and stopped when it stops being leader (see catalog/server.ts).
 *
 * Contract:
 * - On start every TTL session gets a fresh timer of TTL × {@link SESSION_TTL_MULTIPLIER}
 *   (Consul resets all TTLs on a leader change, since the old leader's timers are gone).
 *   A create or renew applied while leader (re)arms the session's timer; a destroy clears it.
 * - On expiry the leader proposes a session destroy carrying its wall-clock time (the
 *   lock-delay of released locks counts from it). A failed proposal (leadership lost) is
 *   dropped: the next leader starts its own timers.
 * - Tombstones are reaped once they are older than `tombstoneTtlMs`, checked every
 *   `tombstoneGranularityMs`: the leader notes (time, last index) at each check and reaps up
 *   to the newest index noted at least a TTL ago, so a blocking query has had that long to
 *   see a deletion move its index.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from './runtime.js';
import { CommandType, type ApplyResult, type Command, type StateStore } from './state/index.js';

/** Consul destroys a TTL session after twice its TTL without a renewal. */
export const SESSION_TTL_MULTIPLIER = 2;
/** Consul's default tombstone TTL (15 minutes) and GC granularity (30 s). */
export const DEFAULT_TOMBSTONE_TTL_MS = 15 * 60_000;
export const DEFAULT_TOMBSTONE_GRANULARITY_MS = 30_000;

export interface LeaderKVDutiesOptions {
  store: StateStore;
  clock: Clock;
  /** Commits a command through Raft (leader only). */
  propose: (cmd: Command) => Promise<ApplyResult>;
  logger: Logger;
  tombstoneTtlMs?: number;
  tombstoneGranularityMs?: number;
}

export class LeaderKVDuties {
  private readonly timers = new Map<string, TimerHandle>();
  private unsubscribe: (() => void) | undefined;
  private reaper: TimerHandle | undefined;
  private hints: Array<{ at: number; index: number }> = [];
  private readonly log: Logger;

  constructor(private readonly opts: LeaderKVDutiesOptions) {
    this.log = opts.logger.child({ component: 'sessions' });
  }

  get running(): boolean {
    return this.unsubscribe !== undefined;
  }

  /** Number of armed session timers. */
  get timerCount(): number {
    return this.timers.size;
  }

  start(): void {
    if (this.running) return;
    this.unsubscribe = this.opts.store.onSessionEvent((ev) => {
      if (ev.kind === 'reset') this.resetAll();
      else if (ev.kind === 'destroy') this.clear(ev.id);
      else this.arm(ev.id);
    });
    this.resetAll();
    this.hints = [];
    this.reaper = this.opts.clock.setInterval(() => this.reap(), this.opts.tombstoneGranularityMs ?? DEFAULT_TOMBSTONE_GRANULARITY_MS);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const t of this.timers.values()) this.opts.clock.clearTimeout(t);
    this.timers.clear();
    this.opts.clock.clearInterval(this.reaper);
    this.reaper = undefined;
  }

  private resetAll(): void {
    for (const t of this.timers.values()) this.opts.clock.clearTimeout(t);
    this.timers.clear();
    for (const s of this.opts.store.sessionList().value) this.arm(s.ID);
  }

  private clear(id: string): void {
    const t = this.timers.get(id);
    if (t !== undefined) this.opts.clock.clearTimeout(t);
    this.timers.delete(id);
  }

  private arm(id: string): void {
    this.clear(id);
    const s = this.opts.store.sessionGet(id).value;
    if (s === null || s.TTL <= 0) return;
    this.timers.set(id, this.opts.clock.setTimeout(() => this.expire(id), s.TTL * SESSION_TTL_MULTIPLIER));
  }

  private expire(id: string): void {
    this.timers.delete(id);
    this.log.info(`session ${id} expired (TTL)`);
    this.opts.propose({ type: CommandType.Session, req: { Op: 'destroy', Session: { ID: id }, Now: this.opts.clock.now() } }).catch((e: Error) => {
      this.log.warn(`session ${id}: expiry not committed (${e.message})`);
    });
  }

  private reap(): void {
    const now = this.opts.clock.monotonic();
    const ttl = this.opts.tombstoneTtlMs ?? DEFAULT_TOMBSTONE_TTL_MS;
    this.hints.push({ at: now, index: this.opts.store.lastIndex });
    let reapIndex = 0;
    while (this.hints.length > 0 && now - this.hints[0]!.at >= ttl) reapIndex = this.hints.shift()!.index;
    if (reapIndex === 0 || this.opts.store.tombstonesUpTo(reapIndex) === 0) return;
    this.opts.propose({ type: CommandType.Tombstone, req: { Op: 'reap', ReapIndex: reapIndex } }).catch((e: Error) => {
      this.log.warn(`tombstone reap not committed (${e.message})`);
    });
  }
}
