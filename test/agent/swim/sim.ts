import { SeededRng, type Rng } from '../../../agent/runtime/rng.js';
import { decodePacket, encodeDatagrams, encodePacket, MAX_DATAGRAM_BYTES, MAX_FRAME_BYTES, MAX_PLAIN_DATAGRAM } from '../../../agent/swim/codec.js';
import { makeConfig, type ProfileName, type SwimConfig } from '../../../agent/swim/core/config.js';
import type { Packet, Tags } from '../../../agent/swim/core/messages.js';
import { SwimCore, type SwimEvent } from '../../../agent/swim/core/swim.js';

/**
 * Deterministic in-process network for many {@link SwimCore}s. One global tick loop: due
 * deliveries first, then every running node ticks. UDP may be lost or delayed (from the
 * seed); streams (TCP) are delayed but not lost. Nodes can be killed, partitioned, or
 * starved (they stop ticking and processing; on resume they run the missed ticks in a
 * burst before reading their backlog, like a stalled event loop catching up).
 */
export interface SimOptions {
  seed: number;
  n: number;
  profile?: ProfileName;
  config?: Partial<SwimConfig>;
  loss?: number;
  minDelay?: number;
  maxDelay?: number;
  /** Round-trip every packet through the codec (slower; proves the core only emits encodable packets). */
  codec?: boolean;
  /** Tags of the member with index `i`; default `{ role: 'node' }`. */
  tags?: (i: number) => Tags;
}

/**
 * The Serf tags a Herald client agent carries (as `agent/agent.ts` sets them, Consul's
 * names), with a node ID derived from `i`: about 150 bytes of tags per alive message.
 */
export function consulTags(i: number): Tags {
  const r = new SeededRng(0x5eed0000 + i);
  const hex = (n: number): string => Array.from({ length: n }, () => r.int(16).toString(16)).join('');
  return {
    role: 'node',
    dc: 'dc1',
    id: `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`,
    vsn: '2',
    vsn_min: '2',
    vsn_max: '3',
    build: '0.1.0:herald',
  };
}

interface Delivery {
  to: string;
  from: string;
  kind: 'udp' | 'stream' | 'reply';
  packet: Packet;
}

export interface SimNode {
  name: string;
  addr: string;
  core: SwimCore;
  dead: boolean;
  group: number;
  starvedUntil: number;
  missedTicks: number;
  backlog: Delivery[];
  events: { tick: number; event: SwimEvent }[];
}

export class SwimSim {
  readonly seed: number;
  readonly rng: Rng;
  readonly config: SwimConfig;
  readonly nodes: SimNode[] = [];
  private readonly byAddr = new Map<string, SimNode>();
  private readonly inflight = new Map<number, Delivery[]>();
  now = 0;
  loss: number;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  delivered = 0;
  /**
   * UDP sent: datagrams, the messages in them, and their encoded bytes. Without `codec` a
   * packet counts as one datagram and bytes are not counted.
   */
  readonly udpStats = { packets: 0, msgs: 0, bytes: 0 };
  /** Addresses whose inbound UDP is all lost (TCP still works). */
  readonly udpBlackhole = new Set<string>();
  private readonly codec: boolean;
  private readonly tagsOf: (i: number) => Tags;

  constructor(opts: SimOptions) {
    this.seed = opts.seed;
    this.rng = new SeededRng(opts.seed);
    this.config = makeConfig(opts.profile ?? 'lan', opts.config ?? {});
    this.loss = opts.loss ?? 0;
    this.minDelay = opts.minDelay ?? 1;
    this.maxDelay = opts.maxDelay ?? 3;
    this.codec = opts.codec ?? false;
    this.tagsOf = opts.tags ?? ((): Tags => ({ role: 'node' }));
    for (let i = 0; i < opts.n; i++) this.addNode(`node-${i}`);
  }

  addNode(name: string): SimNode {
    const i = this.nodes.length;
    const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const core = new SwimCore({ name, addr: host, port: 7946, tags: this.tagsOf(i), config: this.config, rng: this.rng.fork() });
    const node: SimNode = { name, addr: `${host}:7946`, core, dead: false, group: 0, starvedUntil: 0, missedTicks: 0, backlog: [], events: [] };
    this.nodes.push(node);
    this.byAddr.set(node.addr, node);
    return node;
  }

  node(name: string): SimNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`sim: no node ${name}`);
    return n;
  }

  /** `node` sends a join request to `seed`. */
  join(node: SimNode, seed: SimNode): void {
    const out = node.core.joinRequest(seed.addr);
    this.send(node, { to: out.to, from: node.addr, kind: 'stream', packet: out.packet });
  }

  kill(node: SimNode): void {
    node.dead = true;
  }

  starve(node: SimNode, ticks: number): void {
    node.starvedUntil = this.now + ticks;
  }

  running(): SimNode[] {
    return this.nodes.filter((n) => !n.dead);
  }

  /** Runs `ticks` ticks, or until `until()` holds (checked every `every` ticks). Returns ticks run. */
  run(ticks: number, until?: () => boolean, every = 10): number {
    for (let i = 1; i <= ticks; i++) {
      this.step();
      if (until && i % every === 0 && until()) return i;
    }
    return ticks;
  }

  step(): void {
    this.now++;
    const due = this.inflight.get(this.now);
    if (due) {
      this.inflight.delete(this.now);
      for (const d of due) this.deliver(d);
    }
    for (const n of this.nodes) {
      if (n.dead) continue;
      if (this.now < n.starvedUntil) {
        n.missedTicks++;
        continue;
      }
      if (n.missedTicks > 0) {
        // Catch up: the stalled loop first fires all overdue timers, then reads its sockets.
        for (let k = 0; k < n.missedTicks; k++) {
          n.core.tick();
          this.flush(n);
        }
        n.missedTicks = 0;
        const backlog = n.backlog;
        n.backlog = [];
        for (const d of backlog) this.process(n, d);
      }
      n.core.tick();
      this.flush(n);
    }
  }

  private deliver(d: Delivery): void {
    const n = this.byAddr.get(d.to);
    if (!n || n.dead) return;
    if (this.now < n.starvedUntil) {
      if (n.backlog.length < 4096) n.backlog.push(d);
      return;
    }
    this.process(n, d);
  }

  private process(n: SimNode, d: Delivery): void {
    this.delivered++;
    if (d.kind === 'stream') {
      const reply = n.core.handleStream(d.from, d.packet);
      this.flush(n);
      if (reply) this.send(n, { to: d.from, from: n.addr, kind: 'reply', packet: reply });
    } else {
      n.core.handle(d.from, d.packet);
      this.flush(n);
    }
  }

  private flush(n: SimNode): void {
    for (const o of n.core.takeOutputs()) {
      if (o.kind === 'event') n.events.push({ tick: this.now, event: o.event });
      else this.send(n, { to: o.to, from: n.addr, kind: o.kind === 'udp' ? 'udp' : 'stream', packet: o.packet });
    }
  }

  private send(src: SimNode, d: Delivery): void {
    const dst = this.byAddr.get(d.to);
    if (!dst || dst.group !== src.group) return;
    if (d.kind === 'udp' && this.udpBlackhole.has(d.to)) return;
    if (d.kind === 'udp' && this.codec) {
      // As the driver does: one packet may become several datagrams, each lost on its own.
      for (const bytes of encodeDatagrams(d.packet, this.config.compression)) {
        if (bytes.length > MAX_PLAIN_DATAGRAM) throw new Error(`sim seed ${this.seed}: datagram of ${bytes.length} bytes exceeds ${MAX_PLAIN_DATAGRAM}`);
        const r = decodePacket(bytes, MAX_DATAGRAM_BYTES);
        if (!r.ok) throw new Error(`sim seed ${this.seed}: core emitted an undecodable packet: ${r.error}`);
        this.udpStats.packets++;
        this.udpStats.msgs += r.packet.msgs.length;
        this.udpStats.bytes += bytes.length;
        if (this.loss > 0 && this.rng.next() < this.loss) continue;
        this.enqueue({ ...d, packet: r.packet });
      }
      return;
    }
    if (d.kind === 'udp') {
      if (this.loss > 0 && this.rng.next() < this.loss) return;
      this.udpStats.packets++;
      this.udpStats.msgs += d.packet.msgs.length;
    }
    if (this.codec) {
      const r = decodePacket(encodePacket(d.packet), MAX_FRAME_BYTES);
      if (!r.ok) throw new Error(`sim seed ${this.seed}: core emitted an undecodable packet: ${r.error}`);
      d = { ...d, packet: r.packet };
    }
    this.enqueue(d);
  }

  private enqueue(d: Delivery): void {
    const at = this.now + this.minDelay + this.rng.int(this.maxDelay - this.minDelay + 1);
    let q = this.inflight.get(at);
    if (!q) this.inflight.set(at, (q = []));
    q.push(d);
  }

  /** Names of running nodes whose view differs from "every running node alive". */
  unconverged(): string[] {
    const live = this.running();
    const bad: string[] = [];
    for (const n of live) {
      if (n.core.numLive() !== live.length) {
        bad.push(n.name);
        continue;
      }
      for (const m of live) {
        if (n.core.member(m.name)?.status !== 'alive') {
          bad.push(n.name);
          break;
        }
      }
    }
    return bad;
  }

  ticksToMs(ticks: number): number {
    return ticks * this.config.tickMs;
  }
}
