/**
 * Join convergence report (not a test): N members all join member 0 at once on a simulated
 * LAN (lossless unless `--loss`) (10 ms ticks, 10 ms one-way delay); prints, per N and tag set, the time until
 * every member sees all N alive and until the benchmark's three observers (0, N/2, N−1) do,
 * as median / p90 / max over the seeds, plus datagrams and messages per datagram.
 *
 *   node dist/test/agent/swim/join-report.js [--seeds 20] [--n 10,30] [--codec] [--loss 0.05] [--no-compression] [--eager-ms 20]
 */
import { parseArgs } from 'node:util';
import type { SwimConfig } from '../../../agent/swim/core/config.js';
import type { Tags } from '../../../agent/swim/core/messages.js';
import { consulTags, SwimSim } from './sim.js';

interface JoinRun {
  allMs: number;
  observersMs: number;
  packets: number;
  msgsPerPacket: number;
  bytesPerPacket: number;
}

/** One simultaneous join of `n` members into member 0; `limitMs` bounds the simulated time. */
export function simultaneousJoin(seed: number, n: number, tags: ((i: number) => Tags) | undefined, codec: boolean, limitMs = 60_000, loss = 0, config: Partial<SwimConfig> = {}): JoinRun {
  const sim = new SwimSim({ seed, n, profile: 'lan', loss, minDelay: 1, maxDelay: 1, codec, config, ...(tags ? { tags } : {}) });
  sim.run(10);
  const t0 = sim.now;
  for (const x of sim.nodes.slice(1)) sim.join(x, sim.nodes[0]!);
  const observers = [sim.nodes[0]!, sim.nodes[Math.floor(n / 2)]!, sim.nodes[n - 1]!];
  const sees = (o: (typeof observers)[number]): boolean => o.core.numLive() === n && sim.nodes.every((m) => o.core.member(m.name)?.status === 'alive');
  let observersAt = -1;
  sim.run(limitMs / sim.config.tickMs, () => {
    if (observersAt < 0 && observers.every(sees)) observersAt = sim.now;
    return sim.unconverged().length === 0;
  }, 1);
  if (observersAt < 0) observersAt = sim.now;
  const s = sim.udpStats;
  return {
    allMs: sim.ticksToMs(sim.now - t0),
    observersMs: sim.ticksToMs(observersAt - t0),
    packets: s.packets,
    msgsPerPacket: s.msgs / Math.max(1, s.packets),
    bytesPerPacket: s.bytes / Math.max(1, s.packets),
  };
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
}

function main(): void {
  const { values } = parseArgs({ options: { seeds: { type: 'string', default: '20' }, n: { type: 'string', default: '10,30' }, codec: { type: 'boolean', default: false }, loss: { type: 'string', default: '0' }, 'no-compression': { type: 'boolean', default: false }, 'eager-ms': { type: 'string' } } });
  const loss = Number(values.loss);
  const config: Partial<SwimConfig> = values['no-compression'] ? { compression: false } : {};
  if (values['eager-ms'] !== undefined) config.gossipEagerMs = Number(values['eager-ms']);
  const seeds = Number(values.seeds);
  const ns = values.n.split(',').map(Number);
  const tagSets: [string, ((i: number) => Tags) | undefined][] = [['role only', undefined], ['consul tags', consulTags]];
  console.log('| n | tags | all see all: median / p90 / max ms | 3 observers: median / p90 ms | datagrams | msgs/datagram | bytes/datagram |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const n of ns) {
    for (const [label, tags] of tagSets) {
      const runs: JoinRun[] = [];
      for (let seed = 1; seed <= seeds; seed++) runs.push(simultaneousJoin(seed, n, tags, values.codec, 60_000, loss, config));
      const all = runs.map((r) => r.allMs);
      const obs = runs.map((r) => r.observersMs);
      const avg = (f: (r: JoinRun) => number): number => runs.reduce((a, r) => a + f(r), 0) / runs.length;
      console.log(
        `| ${n} | ${label} | ${quantile(all, 0.5)} / ${quantile(all, 0.9)} / ${Math.max(...all)} | ${quantile(obs, 0.5)} / ${quantile(obs, 0.9)} | ` +
          `${avg((r) => r.packets).toFixed(0)} | ${avg((r) => r.msgsPerPacket).toFixed(1)} | ${values.codec ? avg((r) => r.bytesPerPacket).toFixed(0) : 'n/a'} |`,
      );
    }
  }
}

if (process.argv[1]?.endsWith('join-report.js')) main();
