/**
 * Gossip timing and sizing, in milliseconds, plus the tick length that turns them into ticks.
 * `lan` is memberlist's DefaultLANConfig (with Serf's reconnect/reap defaults); `local` is a
 * fast profile for tests on one host.
 */
export interface SwimConfig {
  /** Length of one core tick in ms; every duration below is rounded up to whole ticks. */
  tickMs: number;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  /** Members asked to probe indirectly (ping-req) when a direct probe times out. */
  indirectChecks: number;
  gossipIntervalMs: number;
  gossipNodes: number;
  /**
   * Eager gossip: when a member queues first-hand news (its own state, its own probes' and
   * timers' verdicts, a join or push-pull received over TCP, a local event or keyring
   * operation), it runs an extra gossip round at the next tick, but never sooner than this
   * long after its previous round. That round sends each message once and counts no
   * transmission; relayed news and the timer's rounds are as in memberlist. 0 turns it off.
   */
  gossipEagerMs: number;
  /** Failed/left members still gossiped to for this long (memberlist GossipToTheDeadTime). */
  gossipToTheDeadMs: number;
  retransmitMult: number;
  suspicionMult: number;
  suspicionMaxTimeoutMult: number;
  /** Base interval of periodic push-pull; 0 disables it. Scaled above 32 members. */
  pushPullIntervalMs: number;
  /** Awareness score ranges over 0..awarenessMaxMultiplier-1. */
  awarenessMaxMultiplier: number;
  /** Serf: try to reconnect to a failed member this often. */
  reconnectIntervalMs: number;
  /** Serf: failed members are reaped after this long. */
  reconnectTimeoutMs: number;
  /** Serf: left members are reaped after this long. */
  tombstoneTimeoutMs: number;
  /** How often the reaper runs. */
  reapIntervalMs: number;
  /** Timeout the driver applies to a TCP exchange (push-pull, fallback ping). */
  tcpTimeoutMs: number;
  /** User events remembered for de-duplication (Serf EventBuffer). */
  eventBufferSize: number;
  /**
   * Deflate gossip datagrams (memberlist EnableCompression, on by default). The core then
   * fills a packet with up to `COMPRESSED_PACKET_BYTES` of messages instead of
   * `MAX_UDP_PACKET`; the codec splits one that does not compress below the UDP limit.
   * Receivers always accept both forms.
   */
  compression: boolean;
}

export type ProfileName = 'lan' | 'local';

const HOUR = 3_600_000;

export const PROFILES: Readonly<Record<ProfileName, Readonly<SwimConfig>>> = {
  lan: {
    tickMs: 10,
    probeIntervalMs: 1000,
    probeTimeoutMs: 500,
    indirectChecks: 3,
    gossipIntervalMs: 200,
    gossipNodes: 3,
    gossipEagerMs: 20,
    gossipToTheDeadMs: 30_000,
    retransmitMult: 4,
    suspicionMult: 4,
    suspicionMaxTimeoutMult: 6,
    pushPullIntervalMs: 30_000,
    awarenessMaxMultiplier: 8,
    reconnectIntervalMs: 30_000,
    reconnectTimeoutMs: 72 * HOUR,
    tombstoneTimeoutMs: 72 * HOUR,
    reapIntervalMs: 15_000,
    tcpTimeoutMs: 10_000,
    eventBufferSize: 512,
    compression: true,
  },
  local: {
    tickMs: 10,
    probeIntervalMs: 200,
    probeTimeoutMs: 100,
    indirectChecks: 3,
    gossipIntervalMs: 50,
    gossipNodes: 3,
    gossipEagerMs: 10,
    gossipToTheDeadMs: 5_000,
    retransmitMult: 4,
    suspicionMult: 4,
    suspicionMaxTimeoutMult: 6,
    pushPullIntervalMs: 5_000,
    awarenessMaxMultiplier: 8,
    reconnectIntervalMs: 2_000,
    reconnectTimeoutMs: 72 * HOUR,
    tombstoneTimeoutMs: 72 * HOUR,
    reapIntervalMs: 1_000,
    tcpTimeoutMs: 1_000,
    eventBufferSize: 512,
    compression: true,
  },
};

/** A profile by name with optional overrides; validated. */
export function makeConfig(profile: ProfileName = 'lan', overrides: Partial<SwimConfig> = {}): SwimConfig {
  const base = PROFILES[profile];
  if (!base) throw new SwimConfigError(`swim: unknown profile ${String(profile)}`);
  const c = { ...base, ...overrides };
  for (const [k, v] of Object.entries(c)) {
    if (k === 'compression') {
      if (typeof v !== 'boolean') throw new SwimConfigError('swim: config compression must be a boolean');
      continue;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new SwimConfigError(`swim: config ${k} must be a non-negative number`);
  }
  if (c.tickMs <= 0) throw new SwimConfigError('swim: config tickMs must be positive');
  if (c.probeIntervalMs <= 0 || c.probeTimeoutMs <= 0) throw new SwimConfigError('swim: probe interval and timeout must be positive');
  if (c.probeTimeoutMs > c.probeIntervalMs) throw new SwimConfigError('swim: probeTimeoutMs must not exceed probeIntervalMs');
  if (c.awarenessMaxMultiplier < 1) throw new SwimConfigError('swim: awarenessMaxMultiplier must be at least 1');
  if (c.eventBufferSize < 1) throw new SwimConfigError('swim: eventBufferSize must be at least 1');
  return c;
}

/** Milliseconds to whole ticks, rounding up, at least 1 for a positive duration. */
export function msToTicks(ms: number, tickMs: number): number {
  if (ms <= 0) return 0;
  return Math.max(1, Math.ceil(ms / tickMs));
}

export class SwimConfigError extends Error {
  override name = 'SwimConfigError';
}
