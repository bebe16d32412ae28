import { expect } from 'chai';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { makeConfig } from '../../../agent/swim/core/config.js';
import { MsgType } from '../../../agent/swim/core/messages.js';
import { SwimCore } from '../../../agent/swim/core/swim.js';
import { expectedConfirmations, suspicionTimeout } from '../../../agent/swim/core/suspicion.js';
import { SwimSim } from './sim.js';

const SEED = 4242;

function cluster(n: number, seed = SEED): SwimSim {
  const sim = new SwimSim({ seed, n, profile: 'local' });
  for (let i = 1; i < n; i++) {
    sim.join(sim.nodes[i]!, sim.nodes[0]!);
    sim.run(2);
  }
  sim.run(2000, () => sim.unconverged().length === 0, 5);
  expect(sim.unconverged(), `seed ${seed}: not converged`).to.deep.equal([]);
  return sim;
}

describe('swim core', () => {
  it('refutes a suspicion about itself with a higher incarnation', () => {
    const sim = cluster(4);
    const [a, b] = [sim.nodes[0]!, sim.nodes[1]!];
    const before = b.core.incarnation();
    a.core.handle(b.addr, { v: 1, msgs: [{ t: MsgType.Suspect, node: b.name, inc: before, from: 'node-2' }] });
    sim.run(200);
    expect(b.core.incarnation(), `seed ${SEED}`).to.be.greaterThan(before);
    expect(sim.unconverged(), `seed ${SEED}`).to.deep.equal([]);
    expect(b.core.stats().refutations).to.be.greaterThan(0);
  });

  // Regression (fault suite, `pause`): a member that missed a refutation kept suspecting a
  // healthy member whose acks kept coming, and declared it failed when its timer ran out.
  it('answers an accusation at an already refuted incarnation with its alive message, sent to the accuser', () => {
    const sim = cluster(4);
    const [b, c] = [sim.nodes[1]!, sim.nodes[2]!];
    b.core.handle(c.addr, { v: 1, msgs: [{ t: MsgType.Suspect, node: b.name, inc: b.core.incarnation(), from: c.name }] });
    const refuted = b.core.incarnation();
    b.core.takeOutputs();
    // c (the accuser) still holds the old incarnation and accuses again, as its buddy-system
    // probes do; b neither bumps its incarnation again nor stays silent.
    for (const msg of [
      { t: MsgType.Suspect, node: b.name, inc: refuted - 1, from: c.name },
      { t: MsgType.Dead, node: b.name, inc: refuted - 1, from: c.name },
    ] as const) {
      b.core.handle(c.addr, { v: 1, msgs: [msg] });
      expect(b.core.incarnation(), `seed ${SEED}`).to.equal(refuted);
      const toAccuser = b.core.takeOutputs().filter((o) => o.kind === 'udp' && o.to === c.addr);
      const alive = toAccuser.flatMap((o) => (o.kind === 'udp' ? o.packet.msgs : [])).filter((m) => m.t === MsgType.Alive && m.node === b.name);
      expect(alive.length, `seed ${SEED}: ${msg.t === MsgType.Suspect ? 'suspect' : 'dead'} not answered`).to.be.greaterThan(0);
      expect(alive.every((m) => m.t === MsgType.Alive && m.inc === refuted), `seed ${SEED}`).to.equal(true);
    }
    expect(b.core.stats().staleAccusations, `seed ${SEED}`).to.equal(2);
    // An accusation at the current incarnation is refuted as before, not merely answered.
    b.core.handle(c.addr, { v: 1, msgs: [{ t: MsgType.Suspect, node: b.name, inc: refuted, from: c.name }] });
    expect(b.core.incarnation(), `seed ${SEED}`).to.equal(refuted + 1);
  });

  /** A lone core that knows `names` as alive members at 203.0.113.2.. (nothing is delivered back). */
  function lone(names: string[]): SwimCore {
    const core = new SwimCore({ name: 'a', addr: '203.0.113.1', port: 7946, config: makeConfig('local'), rng: new SeededRng(SEED) });
    core.handle('203.0.113.2:7946', {
      v: 1,
      msgs: names.map((node, i) => ({ t: MsgType.Alive, node, inc: 0, addr: `203.0.113.${2 + i}`, port: 7946, tags: {}, vsn: [1, 1, 1] as [number, number, number] })),
    });
    core.takeOutputs();
    return core;
  }

  it('pushes first-hand news at the next tick and leaves relayed news to the gossip timer', () => {
    // A gossip timer too slow to fire during the test: every gossip round seen is eager.
    const a = new SwimCore({ name: 'a', addr: '203.0.113.1', port: 7946, config: makeConfig('local', { gossipIntervalMs: 60_000 }), rng: new SeededRng(SEED) });
    const alive = (node: string, last: number) => ({ t: MsgType.Alive, node, inc: 0, addr: `203.0.113.${last}`, port: 7946, tags: {}, vsn: [1, 1, 1] as [number, number, number] });
    a.handle('203.0.113.2:7946', { v: 1, msgs: [alive('b', 2), alive('c', 3), alive('d', 4)] });
    a.takeOutputs();
    /** Gossip-only datagrams (alive messages, no probe to carry them) over the next `ticks` ticks. */
    const gossipDatagrams = (ticks: number): number => {
      let n = 0;
      for (let i = 0; i < ticks; i++) {
        a.tick();
        for (const o of a.takeOutputs()) if (o.kind === 'udp' && o.packet.msgs.every((m) => m.t === MsgType.Alive)) n++;
      }
      return n;
    };
    const eagerTicks = Math.ceil(a.config.gossipEagerMs / a.config.tickMs);
    expect(eagerTicks, 'the local profile pushes eagerly').to.be.greaterThan(0);
    // Relayed news (received by UDP, here about new members) is not pushed eagerly.
    expect(gossipDatagrams(20), `seed ${SEED}: relayed news`).to.equal(0);
    a.handle('203.0.113.3:7946', { v: 1, msgs: [alive('e', 9)] });
    expect(gossipDatagrams(20), `seed ${SEED}: relayed news`).to.equal(0);
    // First-hand news (this member's own new tags) goes to gossipNodes members at once.
    a.setTags({ role: 'node', dc: 'dc2' });
    expect(gossipDatagrams(eagerTicks), `seed ${SEED}: own news`).to.equal(a.config.gossipNodes);
    expect(gossipDatagrams(20), `seed ${SEED}: an eager round sends news once`).to.equal(0);
  });

  // Regression (fault suite, `control-stale-reads`): a member that had been cut off ended
  // suspicions its suspects never heard of, and its verdicts were believed by everyone.
  it('ends a suspicion only after a last call to the suspect (accusation, then ping) has had a probe interval', () => {
    const a = lone(['b', 'c']);
    a.handle('203.0.113.3:7946', { v: 1, msgs: [{ t: MsgType.Suspect, node: 'b', inc: 0, from: 'c' }] });
    const probeTicks = a.config.probeIntervalMs / a.config.tickMs;
    const lastCalls: number[] = [];
    let failedAt: number | undefined;
    for (let i = 0; i < 10_000 && failedAt === undefined; i++) {
      a.tick();
      for (const o of a.takeOutputs()) {
        if (o.kind === 'udp' && o.to === '203.0.113.2:7946' && o.packet.msgs[0]?.t === MsgType.Suspect && o.packet.msgs[1]?.t === MsgType.Ping) lastCalls.push(a.currentTick());
        if (o.kind === 'event' && o.event.type === 'member-failed' && o.event.member.name === 'b') failedAt = a.currentTick();
      }
    }
    expect(failedAt, `seed ${SEED}: never declared failed`).to.not.equal(undefined);
    expect(lastCalls.length, `seed ${SEED}`).to.be.greaterThan(0);
    // Nothing answers here, so a's own health is degraded: the last call is repeated, boundedly.
    expect(lastCalls.length, `seed ${SEED}`).to.be.at.most(a.config.awarenessMaxMultiplier);
    expect(failedAt! - lastCalls[lastCalls.length - 1]!, `seed ${SEED}`).to.be.at.least(probeTicks);
    expect(a.stats().lastCalls, `seed ${SEED}`).to.equal(lastCalls.length);
  });

  it('a healthy member makes its last call one probe interval ahead, so a silent suspect is declared failed on time', () => {
    const a = lone(['b', 'c']);
    const t = a.config;
    const probeTicks = t.probeIntervalMs / t.tickMs;
    const start = a.currentTick();
    a.handle('203.0.113.3:7946', { v: 1, msgs: [{ t: MsgType.Suspect, node: 'b', inc: 0, from: 'c' }] });
    // The timer as the suspicion sets it, for 3 live members and no confirmations.
    const min = suspicionTimeout(t.suspicionMult, 3, probeTicks);
    const deadline = start + (expectedConfirmations(t.indirectChecks, 3) < 1 ? min : t.suspicionMaxTimeoutMult * min);
    const lastCalls: number[] = [];
    let failedAt: number | undefined;
    for (let i = 0; i < 10_000 && failedAt === undefined; i++) {
      a.tick();
      for (const o of a.takeOutputs()) {
        if (o.kind !== 'udp') continue;
        const ping = o.packet.msgs.find((m) => m.t === MsgType.Ping);
        // c answers every probe, so a stays healthy (its awareness score stays low).
        if (o.to === '203.0.113.3:7946' && ping?.t === MsgType.Ping) a.handle('203.0.113.3:7946', { v: 1, msgs: [{ t: MsgType.Ack, seq: ping.seq }] });
      }
      // (A probe of b also carries the accusation, the buddy system; the counter tells last calls apart.)
      if (a.stats().lastCalls > lastCalls.length) lastCalls.push(a.currentTick());
      if (a.member('b')?.status === 'failed') failedAt = a.currentTick();
    }
    expect(lastCalls, `seed ${SEED}`).to.deep.equal([deadline - probeTicks]);
    expect(failedAt, `seed ${SEED}`).to.equal(deadline);
  });

  it('a refutation answering the last call saves the suspect', () => {
    const a = lone(['b', 'c', 'd', 'e']);
    a.handle('203.0.113.3:7946', { v: 1, msgs: [{ t: MsgType.Suspect, node: 'b', inc: 0, from: 'c' }] });
    for (let i = 0; i < 10_000; i++) {
      a.tick();
      const call = a.takeOutputs().find((o) => o.kind === 'udp' && o.to === '203.0.113.2:7946' && o.packet.msgs[0]?.t === MsgType.Suspect && o.packet.msgs[1]?.t === MsgType.Ping);
      if (call) break;
    }
    expect(a.member('b')?.status, `seed ${SEED}`).to.equal('suspect');
    a.handle('203.0.113.2:7946', { v: 1, msgs: [{ t: MsgType.Alive, node: 'b', inc: 1, addr: '203.0.113.2', port: 7946, tags: {}, vsn: [1, 1, 1] }] });
    // Past the last call's grace (one probe interval): no verdict about b.
    for (let i = 0; i < 2 * (a.config.probeIntervalMs / a.config.tickMs); i++) a.tick();
    expect(a.takeOutputs().some((o) => o.kind === 'event' && o.event.type === 'member-failed' && o.event.member.name === 'b'), `seed ${SEED}`).to.equal(false);
    expect(a.member('b')?.status, `seed ${SEED}`).to.not.equal('failed');
  });

  it('ignores a failure verdict declared by a member it does not consider alive', () => {
    const a = lone(['b', 'c', 'd']);
    // c is suspect here: its verdict about b is not believed.
    a.handle('203.0.113.4:7946', { v: 1, msgs: [{ t: MsgType.Suspect, node: 'c', inc: 0, from: 'd' }] });
    a.handle('203.0.113.3:7946', { v: 1, msgs: [{ t: MsgType.Dead, node: 'b', inc: 0, from: 'c' }] });
    expect(a.member('b')?.status).to.equal('alive');
    expect(a.stats().staleVerdicts).to.equal(1);
    // d is alive here: its verdict is.
    a.handle('203.0.113.4:7946', { v: 1, msgs: [{ t: MsgType.Dead, node: 'b', inc: 0, from: 'd' }] });
    expect(a.member('b')?.status).to.equal('failed');
  });

  it('graceful leave is recorded as left, not failed, and is reaped after the tombstone timeout', () => {
    const seed = SEED + 1;
    const sim = new SwimSim({ seed, n: 5, profile: 'local', config: { tombstoneTimeoutMs: 20_000, reapIntervalMs: 1000 } });
    for (let i = 1; i < 5; i++) sim.join(sim.nodes[i]!, sim.nodes[0]!);
    sim.run(2000, () => sim.unconverged().length === 0, 5);
    const leaver = sim.nodes[2]!;
    leaver.core.leave();
    sim.run(500, () => leaver.core.leaveDone());
    expect(leaver.core.leaveDone(), `seed ${seed}`).to.equal(true);
    sim.kill(leaver);
    const others = sim.running();
    sim.run(1000, () => others.every((n) => n.core.member(leaver.name)?.status === 'left'));
    for (const n of others) {
      expect(n.core.member(leaver.name)?.status, `seed ${seed}: ${n.name}`).to.equal('left');
      expect(n.events.some((e) => e.event.type === 'member-failed'), `seed ${seed}`).to.equal(false);
      expect(n.events.some((e) => e.event.type === 'member-leave' && e.event.member.name === leaver.name)).to.equal(true);
    }
    sim.run(25_000 / sim.config.tickMs);
    for (const n of others) {
      expect(n.core.member(leaver.name), `seed ${seed}: not reaped on ${n.name}`).to.equal(undefined);
      expect(n.events.some((e) => e.event.type === 'member-reap' && e.event.member.name === leaver.name)).to.equal(true);
    }
  });

  it('refuses a live name claimed from another address', () => {
    const sim = cluster(3);
    const a = sim.nodes[0]!;
    const victim = sim.nodes[1]!;
    a.core.handle('203.0.113.199:7946', {
      v: 1,
      msgs: [{ t: MsgType.Alive, node: victim.name, inc: 99, addr: '203.0.113.199', port: 7946, tags: {}, vsn: [1, 1, 1] }],
    });
    const m = a.core.member(victim.name)!;
    expect(m.addr).to.not.equal('203.0.113.199');
    expect(m.incarnation).to.be.lessThan(99);
    const outs = a.core.takeOutputs();
    expect(outs.some((o) => o.kind === 'event' && o.event.type === 'member-conflict')).to.equal(true);
  });

  it('limits tags to 512 bytes and gossips tag changes as member-update', () => {
    const sim = cluster(3);
    const a = sim.nodes[0]!;
    expect(() => a.core.setTags({ big: 'x'.repeat(600) })).to.throw(/swim: tags/);
    a.core.setTags({ role: 'server', dc: 'dc2' });
    sim.run(300);
    for (const n of sim.nodes.slice(1)) {
      expect(n.core.member(a.name)?.tags).to.deep.equal({ role: 'server', dc: 'dc2' });
      expect(n.events.some((e) => e.event.type === 'member-update')).to.equal(true);
    }
  });

  it('delivers each user event once per member, in Lamport order per origin', () => {
    const sim = cluster(6);
    const a = sim.nodes[0]!;
    const b = sim.nodes[4]!;
    a.core.fireEvent('deploy', new TextEncoder().encode('v1'));
    sim.run(20);
    b.core.fireEvent('deploy', new TextEncoder().encode('v2'));
    a.core.fireEvent('restart', new Uint8Array(0), false);
    sim.run(500);
    for (const n of sim.nodes) {
      const evs = n.events.flatMap((e) => (e.event.type === 'user-event' ? [e.event] : []));
      expect(evs.map((e) => e.name).sort(), `seed ${SEED}: ${n.name}`).to.deep.equal(['deploy', 'deploy', 'restart']);
      const v2 = evs.find((e) => new TextDecoder().decode(e.payload) === 'v2')!;
      const v1 = evs.find((e) => new TextDecoder().decode(e.payload) === 'v1')!;
      expect(v2.ltime).to.be.greaterThan(v1.ltime);
    }
    expect(() => a.core.fireEvent('x', new Uint8Array(600))).to.throw(/512/);
  });

  it('force-leave turns a failed member into left everywhere; prune removes it', () => {
    const seed = SEED + 2;
    const sim = cluster(5, seed);
    const dead = sim.nodes[3]!;
    sim.kill(dead);
    const others = sim.running();
    sim.run(3000, () => others.every((n) => n.core.member(dead.name)?.status === 'failed'));
    expect(others.every((n) => n.core.member(dead.name)?.status === 'failed'), `seed ${seed}`).to.equal(true);
    expect(others[0]!.core.forceLeave(dead.name)).to.equal(true);
    sim.run(300);
    expect(others.map((n) => n.core.member(dead.name)?.status), `seed ${seed}`).to.deep.equal(others.map(() => 'left'));
    expect(others[1]!.core.forceLeave(dead.name, true)).to.equal(true);
    sim.run(300);
    expect(others.map((n) => n.core.member(dead.name)), `seed ${seed}`).to.deep.equal(others.map(() => undefined));
    expect(others[0]!.core.forceLeave('nobody')).to.equal(false);
  });

  it('ignores packets with an unsupported protocol version', () => {
    const core = new SwimCore({ name: 'x', addr: '127.0.0.1', port: 1, config: makeConfig('local'), rng: new SeededRng(1) });
    core.handle('127.0.0.1:2', { v: 9, msgs: [{ t: MsgType.Ping, seq: 1, target: 'x', from: 'y' }] });
    expect(core.takeOutputs()).to.deep.equal([]);
    expect(core.stats().droppedVersion).to.equal(1);
  });

  it('buddy system: the probe of a suspect carries the suspicion to it', () => {
    const core = new SwimCore({ name: 'a', addr: '203.0.113.1', port: 1, config: makeConfig('local'), rng: new SeededRng(3) });
    for (const [n, host] of [['b', '203.0.113.2'], ['c', '203.0.113.3']] as const) {
      core.handle(`${host}:1`, { v: 1, msgs: [{ t: MsgType.Alive, node: n, inc: 1, addr: host, port: 1, tags: {}, vsn: [1, 1, 1] }] });
    }
    core.handle('203.0.113.3:1', { v: 1, msgs: [{ t: MsgType.Suspect, node: 'b', inc: 1, from: 'c' }] });
    expect(core.member('b')?.status).to.equal('suspect');
    // Drain the broadcast queue so the suspicion can only reach b through the buddy system.
    for (let i = 0; i < 50 && core.stats().queuedBroadcasts > 0; i++) core.tick();
    expect(core.stats().queuedBroadcasts).to.equal(0);
    expect(core.member('b')?.status).to.equal('suspect');
    core.takeOutputs();
    let carried = false;
    for (let i = 0; i < 60 && !carried; i++) {
      core.tick();
      for (const o of core.takeOutputs()) {
        if (o.kind !== 'udp' || o.to !== '203.0.113.2:1') continue;
        const ping = o.packet.msgs.find((m) => m.t === MsgType.Ping);
        if (ping) carried = o.packet.msgs.some((m) => m.t === MsgType.Suspect && m.node === 'b');
      }
    }
    expect(carried).to.equal(true);
  });

  it('a failed probe of a member already suspected by another confirms the suspicion and gossips it from this node', () => {
    const core = new SwimCore({ name: 'a', addr: '203.0.113.1', port: 1, config: makeConfig('local'), rng: new SeededRng(5) });
    const hosts = ['b', 'c', 'd', 'e', 'f'].map((n, i) => [n, `203.0.113.${i + 2}`] as const);
    for (const [n, host] of hosts) {
      core.handle(`${host}:1`, { v: 1, msgs: [{ t: MsgType.Alive, node: n, inc: 1, addr: host, port: 1, tags: {}, vsn: [1, 1, 1] }] });
    }
    core.handle('203.0.113.3:1', { v: 1, msgs: [{ t: MsgType.Suspect, node: 'b', inc: 1, from: 'c' }] });
    expect(core.member('b')?.status).to.equal('suspect');
    // Nobody answers; a's own probe of b fails within a few probe intervals (5 members).
    let pingedB = false;
    let confirmedFromA = false;
    for (let i = 0; i < 2000 && !confirmedFromA; i++) {
      core.tick();
      for (const o of core.takeOutputs()) {
        if (o.kind !== 'udp') continue;
        if (o.to === '203.0.113.2:1' && o.packet.msgs.some((m) => m.t === MsgType.Ping)) pingedB = true;
        // Gossip to others (not the buddy-system copy sent to b itself).
        if (pingedB && o.to !== '203.0.113.2:1') confirmedFromA ||= o.packet.msgs.some((m) => m.t === MsgType.Suspect && m.node === 'b' && m.from === 'a');
      }
    }
    expect(pingedB, 'a never probed b').to.equal(true);
    expect(confirmedFromA, 'a failed probe of suspect b was not gossiped as a confirmation from a').to.equal(true);
  });
});
