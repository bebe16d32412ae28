import type { Tags } from './messages.js';

/**
 * Member status as the application sees it. `failed` comes from a suspicion that expired,
 * `left` from the member's own leave message; both stay listed until reaped.
 */
export type MemberStatus = 'alive' | 'suspect' | 'failed' | 'left';

/** One member as known locally. Mutated only by the core. */
export interface Member {
  name: string;
  addr: string;
  port: number;
  tags: Tags;
  incarnation: number;
  status: MemberStatus;
  /** Tick of the last status change. */
  statusSince: number;
  /** [protocolMin, protocolMax, protocolCur] announced by the member. */
  vsn: [number, number, number];
}

/** Immutable snapshot of a member handed to the application. */
export interface MemberInfo {
  readonly name: string;
  readonly addr: string;
  readonly port: number;
  readonly tags: Readonly<Tags>;
  readonly status: MemberStatus;
  readonly incarnation: number;
  readonly protocolMin: number;
  readonly protocolMax: number;
  readonly protocolCur: number;
}

export function memberInfo(m: Member): MemberInfo {
  return {
    name: m.name,
    addr: m.addr,
    port: m.port,
    tags: { ...m.tags },
    status: m.status,
    incarnation: m.incarnation,
    protocolMin: m.vsn[0],
    protocolMax: m.vsn[1],
    protocolCur: m.vsn[2],
  };
}

/**
 * Consul's numeric member status (`/v1/agent/members` `Status`): 1 alive, 3 left, 4 failed.
 * A suspect member is still alive to Consul (Serf reports suspicion only as alive).
 */
export function consulStatusCode(status: MemberStatus): 1 | 3 | 4 {
  return status === 'left' ? 3 : status === 'failed' ? 4 : 1;
}

/** True for members still taking part in the protocol (probed, counted in n). */
export function isLive(status: MemberStatus): boolean {
  return status === 'alive' || status === 'suspect';
}

/**
 * The member table, keyed by name (identity is the name, not the address). Keeps a count of
 * live members so cluster-size estimates are O(1).
 */
export class MemberTable {
  private readonly byName = new Map<string, Member>();
  private live = 0;

  get(name: string): Member | undefined {
    return this.byName.get(name);
  }

  add(m: Member): void {
    if (this.byName.has(m.name)) throw new Error(`swim: member ${m.name} added twice`);
    this.byName.set(m.name, m);
    if (isLive(m.status)) this.live++;
  }

  remove(name: string): Member | undefined {
    const m = this.byName.get(name);
    if (!m) return undefined;
    this.byName.delete(name);
    if (isLive(m.status)) this.live--;
    return m;
  }

  /** Changes `m.status` keeping the live count right. */
  setStatus(m: Member, status: MemberStatus, now: number): void {
    if (m.status === status) return;
    if (isLive(m.status)) this.live--;
    if (isLive(status)) this.live++;
    m.status = status;
    m.statusSince = now;
  }

  /** Members that are alive or suspect, this node included. */
  liveCount(): number {
    return this.live;
  }

  size(): number {
    return this.byName.size;
  }

  all(): IterableIterator<Member> {
    return this.byName.values();
  }
}

/** Tags equal by content. */
export function sameTags(a: Tags, b: Tags): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}
