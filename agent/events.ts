import { randomUUID } from 'node:crypto';
import { pack, unpack } from 'msgpackr';
import type { Clock, TimerHandle } from './runtime/clock.js';
import type { Gossip, UserEvent } from './swim/gossip.js';

/** Events kept for `/v1/event/list`, like Consul's agent. */
export const EVENT_HISTORY = 256;

/** A user event in Consul's `/v1/event/*` JSON form. */
export interface ConsulEvent {
  ID: string;
  Name: string;
  /** base64, or null when empty. */
  Payload: string | null;
  NodeFilter: string;
  ServiceFilter: string;
  TagFilter: string;
  Version: number;
  LTime: number;
}

export interface FireRequest {
  name: string;
  payload: Uint8Array;
  nodeFilter?: string;
  serviceFilter?: string;
  tagFilter?: string;
}

/** What travels in the gossip event payload: Consul's envelope around the user's payload. */
interface Envelope {
  v: 1;
  id: string;
  p: Uint8Array;
  nf: string;
  sf: string;
  tf: string;
}

export class EventError extends Error {
  override name = 'EventError';
}

/**
 * The agent's user-event log: fires events through gossip wrapped in an envelope with an ID
 * and filters, keeps those that match this agent (node name regex, and a service/tag this
 * agent runs), and lets readers block until a new one arrives. The index is a counter of
 * events kept, starting at 1 before any arrives.
 */
export class UserEventLog {
  private readonly events: ConsulEvent[] = [];
  private index = 1;
  private readonly waiters = new Set<() => void>();
  /** Answers whether this agent runs a service matching the filters; none registered → false. */
  serviceMatcher: (service: string, tag: string) => boolean = () => false;

  constructor(
    private readonly gossip: Gossip,
    private readonly nodeName: string,
    private readonly clock: Clock,
  ) {
    gossip.on('user-event', (ev) => this.receive(ev));
  }

  /** Fires an event cluster-wide; throws EventError for a bad filter or a payload over the size limit. */
  fire(req: FireRequest): ConsulEvent {
    for (const [what, re] of [
      ['node', req.nodeFilter],
      ['service', req.serviceFilter],
      ['tag', req.tagFilter],
    ] as const) {
      if (!re) continue;
      try {
        new RegExp(re);
      } catch {
        throw new EventError(`Invalid ${what} filter regexp "${re}"`);
      }
    }
    if (req.tagFilter && !req.serviceFilter) throw new EventError('Cannot provide tag filter without service filter');
    const env: Envelope = { v: 1, id: randomUUID(), p: req.payload, nf: req.nodeFilter ?? '', sf: req.serviceFilter ?? '', tf: req.tagFilter ?? '' };
    let ltime: number;
    try {
      ltime = this.gossip.fireEvent(req.name, pack(env), false);
    } catch (e) {
      throw new EventError(`Failed to fire event: ${(e as Error).message}`);
    }
    return toConsul(req.name, env, ltime);
  }

  /** Events kept, oldest first, optionally only those named `name`. */
  list(name?: string): { events: ConsulEvent[]; index: number } {
    return { events: name ? this.events.filter((e) => e.Name === name) : [...this.events], index: this.index };
  }

  /** Resolves once the index moves past `minIndex` or `waitMs` passes. */
  wait(minIndex: number, waitMs: number): Promise<void> {
    if (this.index > minIndex) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined = undefined;
      const done = (): void => {
        this.clock.clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      timer = this.clock.setTimeout(done, waitMs);
      this.waiters.add(done);
    });
  }

  private receive(ev: UserEvent): void {
    let env: Envelope;
    try {
      env = unpack(ev.payload) as Envelope;
      if (env?.v !== 1 || typeof env.id !== 'string') return;
    } catch {
      return;
    }
    if (env.nf && !safeTest(env.nf, this.nodeName)) return;
    if (env.sf && !this.serviceMatcher(env.sf, env.tf)) return;
    if (this.events.some((e) => e.ID === env.id)) return;
    this.events.push(toConsul(ev.name, env, ev.ltime));
    if (this.events.length > EVENT_HISTORY) this.events.shift();
    this.index++;
    for (const w of [...this.waiters]) w();
  }
}

function safeTest(re: string, s: string): boolean {
  try {
    return new RegExp(re).test(s);
  } catch {
    return false;
  }
}

function toConsul(name: string, env: Envelope, ltime: number): ConsulEvent {
  const p = env.p instanceof Uint8Array ? env.p : new Uint8Array(0);
  return {
    ID: env.id,
    Name: name,
    Payload: p.length ? Buffer.from(p).toString('base64') : null,
    NodeFilter: env.nf,
    ServiceFilter: env.sf,
    TagFilter: env.tf,
    Version: 1,
    LTime: ltime,
  };
}
