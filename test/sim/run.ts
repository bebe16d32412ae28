/**
 * Replays one seed of the seeded simulations outside mocha:
 *
 *   npm run sim -- --seed 1234 [--only raft|swim] [--members 50]
 *
 * Raft: every shape of test/catalog/raft/sim.test.ts with that seed (safety invariants after
 * every step, liveness, linearizability of the KV history). Swim: N members on a lossy
 * simulated network join, converge, one is killed and must be declared failed by all
 * survivors with no false verdicts. Exits 1 and prints the seed on any failure.
 */
import { runSimulation, type SimOptions } from '../catalog/raft/sim.js';
import { SwimSim } from '../agent/swim/sim.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const seed = Number(arg('seed') ?? NaN);
if (!Number.isInteger(seed)) {
  console.error('usage: npm run sim -- --seed N [--only raft|swim] [--members N]');
  process.exit(2);
}
const only = arg('only');
const members = Number(arg('members') ?? 50);
let failed = false;

if (only === undefined || only === 'raft') {
  const shapes: Array<[string, Omit<SimOptions, 'seed'>]> = [
    ['3 nodes', { voters: 3 }],
    ['5 nodes', { voters: 5 }],
    ['3 nodes, heavy loss and duplication', { voters: 3, loss: 0.25, duplicate: 0.1, maxDelay: 6 }],
    ['3→5 nodes with membership changes under load', { voters: 3, membership: true }],
  ];
  for (const [name, opts] of shapes) {
    try {
      const r = runSimulation({ seed, ...opts });
      console.log(`raft ${name}: ok (${r.completed} client ops, linearizability ${r.linearizable}, ${r.confChanges} conf changes)`);
    } catch (e) {
      failed = true;
      console.log(`raft ${name}: FAILED: ${(e as Error).message}`);
    }
  }
}

if (only === undefined || only === 'swim') {
  const sim = new SwimSim({ seed, n: members, profile: 'lan', config: { tickMs: 20 }, loss: 0.02, minDelay: 1, maxDelay: 3 });
  const first = sim.nodes[0]!;
  for (const n of sim.nodes.slice(1)) sim.join(n, first);
  sim.run(120_000 / sim.config.tickMs, () => sim.unconverged().length === 0, 25);
  const unconverged = sim.unconverged();
  const victim = sim.nodes[1 + sim.rng.int(sim.nodes.length - 1)]!;
  sim.kill(victim);
  const t0 = sim.now;
  const survivors = sim.running();
  sim.run(60_000 / sim.config.tickMs, () => survivors.every((n) => n.core.member(victim.name)?.status === 'failed'), 5);
  const missing = survivors.filter((n) => n.core.member(victim.name)?.status !== 'failed').length;
  const falseVerdicts = survivors.flatMap((n) => n.events.filter((e) => e.event.type === 'member-failed' && e.event.member.name !== victim.name)).length;
  const ok = unconverged.length === 0 && missing === 0 && falseVerdicts === 0;
  failed ||= !ok;
  console.log(
    `swim ${members} members: ${ok ? 'ok' : 'FAILED'} (unconverged ${unconverged.length}, killed member seen failed by all after ${sim.ticksToMs(sim.now - t0)} ms, missing ${missing}, false verdicts ${falseVerdicts})`,
  );
}

if (failed) {
  console.log(`seed ${seed}: FAILED`);
  process.exit(1);
}
console.log(`seed ${seed}: all passed`);
