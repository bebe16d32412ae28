/**
 * Raft write-path model: three `RaftNode`s in one process, an in-process network (one
 * setImmediate hop per message) and storage whose `save()` takes a fixed simulated fsync
 * time (optionally jittered ×0.25–1.75, as when servers share or contend for a disk). It
 * measures how many storage round trips a commit costs in the driver, free of real-disk
 * noise: with early AppendEntries and apply-while-writing, a write's latency should be
 * about one fsync, not three.
 *
 *   node dist/bench/raft/pipeline.js [--fsync-ms 4] [--clients 1,32,128] [--ms 3000] [--jitter]
 *
 * Prints one JSON line per client count (closed loop: each client proposes again as soon as
 * its previous proposal was applied on the leader).
 */
import { parseArgs } from 'node:util';
import { SystemClock } from '../../agent/runtime/clock.js';
import { SeededRng } from '../../agent/runtime/rng.js';
import { RaftNode, type StateMachine } from '../../catalog/raft/node.js';
import { MemoryStorage } from '../../catalog/raft/memory-storage.js';
import type { Message } from '../../catalog/raft/core/messages.js';
import type { Entry, HardState, RaftTransport } from '../../catalog/raft/types.js';

class SlowStorage extends MemoryStorage {
  constructor(
    private readonly fsyncMs: number,
    private readonly jitter: SeededRng | undefined,
  ) {
    super();
  }
  override async save(hs: HardState | undefined, es: Entry[]): Promise<void> {
    const ms = this.jitter ? this.fsyncMs * (0.25 + 1.5 * this.jitter.next()) : this.fsyncMs;
    await new Promise((r) => setTimeout(r, ms));
    return super.save(hs, es);
  }
}

async function measure(clients: number, fsyncMs: number, ms: number, jitter: boolean): Promise<void> {
  const handlers = new Map<string, (m: Message) => void>();
  const transport = (id: string): RaftTransport<Message> => ({
    send: (m) => void setImmediate(() => handlers.get(m.to)?.(m)),
    setPeer: () => undefined,
    removePeer: () => undefined,
    onMessage: (h) => void handlers.set(id, h),
    close: async () => undefined,
  });
  const sm = (): StateMachine => {
    let n = 0;
    return { apply: () => ++n, snapshot: () => new Uint8Array(), restore: () => undefined };
  };
  const ids = ['n1', 'n2', 'n3'];
  const nodes: RaftNode[] = [];
  for (const [k, id] of ids.entries()) {
    const storage = new SlowStorage(fsyncMs, jitter ? new SeededRng(100 + k) : undefined);
    const node = new RaftNode({ id, storage, transport: transport(id), stateMachine: sm(), clock: new SystemClock(), rng: new SeededRng(k + 1), tickMs: 50 });
    await node.start();
    await node.bootstrap({ voters: ids, learners: [] });
    nodes.push(node);
  }
  try {
    await nodes[0]!.campaign(true);
    let lead: RaftNode | undefined;
    for (let i = 0; i < 250 && !lead; i++) {
      await new Promise((r) => setTimeout(r, 20));
      lead = nodes.find((n) => n.isLeader);
    }
    if (!lead) throw new Error('bench: no leader elected');
    const leader = lead;
    await leader.propose(new Uint8Array(16));
    const lat: number[] = [];
    const end = Date.now() + ms;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (Date.now() < end) {
          const t = process.hrtime.bigint();
          await leader.propose(new Uint8Array(16));
          lat.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
      }),
    );
    lat.sort((a, b) => a - b);
    const q = (p: number): number => Number((lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0).toFixed(2));
    console.log(JSON.stringify({ clients, fsyncMs, jitter, writesPerSec: Math.round(lat.length / (ms / 1000)), p50Ms: q(0.5), p99Ms: q(0.99), p50InFsyncs: Number((q(0.5) / fsyncMs).toFixed(2)) }));
  } finally {
    for (const n of nodes) await n.stop();
  }
}

const { values } = parseArgs({
  options: {
    'fsync-ms': { type: 'string', default: '4' },
    clients: { type: 'string', default: '1,32,128' },
    ms: { type: 'string', default: '3000' },
    jitter: { type: 'boolean', default: false },
  },
});
for (const c of values.clients.split(',').map(Number)) await measure(c, Number(values['fsync-ms']), Number(values.ms), values.jitter);
process.exit(0);
