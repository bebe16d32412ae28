import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Rng } from '../runtime/rng.js';
import type { RpcClient } from './client.js';
import { RpcError, isRetryable } from './errors.js';

/** A server as the RPC layer knows it: name and "ip:port" of its server port. */
export interface PoolServer {
  name: string;
  address: string;
}

export interface PoolOptions {
  client: RpcClient;
  clock: Clock;
  rng: Rng;
  /** Total time a call keeps retrying retryable failures (no leader, server down). Default 7 s (Consul's RPC hold timeout). */
  holdTimeoutMs?: number;
  /** Deadline of one attempt. Default 30 s; blocking reads pass their own. */
  attemptTimeoutMs?: number;
}

/**
 * The servers a client agent forwards to, learnt from gossip. Calls go to one preferred
 * server (shuffled order, like Consul's server manager); a retryable failure rotates to the
 * next and retries with a short backoff until the hold timeout, then the last error is
 * thrown ("No cluster leader" when that was the cause).
 */
export class ServerPool {
  private servers: PoolServer[] = [];
  private readonly holdMs: number;
  private closed = false;
  /** Back-off waits in progress; {@link close} ends them at once. */
  private readonly waits = new Set<{ timer: TimerHandle; wake: () => void }>();

  constructor(private readonly opts: PoolOptions) {
    this.holdMs = opts.holdTimeoutMs ?? 7000;
  }

  /** Replaces the server list; keeps the current preferred server first if it is still there. */
  update(servers: PoolServer[]): void {
    const current = this.servers[0];
    const next = this.opts.rng.shuffle([...servers]);
    if (current) {
      const i = next.findIndex((s) => s.address === current.address);
      if (i > 0) next.unshift(...next.splice(i, 1));
    }
    this.servers = next;
  }

  list(): PoolServer[] {
    return [...this.servers];
  }

  /**
   * @param safeToRepeat whether the call may be sent again after an attempt of unknown outcome
   *   (`Timeout`): true for reads; false for writes, which would otherwise be applied twice
   *   (and a repeated write landing after another client's write is a lost update).
   */
  async call<T>(method: string, args: unknown, attemptTimeoutMs = this.opts.attemptTimeoutMs ?? 30_000, safeToRepeat = true): Promise<T> {
    const deadline = this.opts.clock.monotonic() + this.holdMs;
    let lastErr: RpcError | undefined;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new RpcError('Unavailable', 'rpc: agent is shutting down');
      const server = this.servers[0];
      if (!server) {
        lastErr = new RpcError('NoLeader', 'No known Herald servers');
      } else {
        try {
          return await this.opts.client.call<T>(server.address, method, args, attemptTimeoutMs);
        } catch (e) {
          if (!(e instanceof RpcError) || !isRetryable(e.code)) throw e;
          if (e.code === 'Timeout' && !safeToRepeat) throw e;
          lastErr = e;
          if (e.code === 'Unavailable' || e.code === 'Timeout') this.rotate(server);
        }
      }
      const wait = Math.min(1000, 50 * 2 ** attempt) * (0.5 + this.opts.rng.next() / 2);
      if (this.opts.clock.monotonic() + wait > deadline) throw lastErr;
      await new Promise<void>((wake) => {
        const w = { timer: this.opts.clock.setTimeout(() => done(), wait), wake: () => done() };
        const done = (): void => {
          this.opts.clock.clearTimeout(w.timer);
          this.waits.delete(w);
          wake();
        };
        this.waits.add(w);
      });
    }
  }

  /**
   * Ends every call that is waiting to retry, and any later call, with an `Unavailable`
   * RpcError, so that no back-off timer outlives the agent (a client agent without servers
   * otherwise kept its process alive for up to the hold timeout after shutdown). Attempts
   * already on the wire end when the RPC client is closed.
   */
  close(): void {
    this.closed = true;
    for (const w of [...this.waits]) w.wake();
  }

  private rotate(failed: PoolServer): void {
    const i = this.servers.indexOf(failed);
    if (i >= 0) this.servers.push(...this.servers.splice(i, 1));
  }
}
