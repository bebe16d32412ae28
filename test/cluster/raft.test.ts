import { expect } from 'chai';
import { startAgent, eventually, type AgentProcess } from '../lib/agent-process.js';
import { runCli } from '../../agent/cli/program.js';
import { captureIO } from '../lib/io.js';

interface RaftConf {
  Servers: Array<{ ID: string; Node: string; Address: string; Leader: boolean; Voter: boolean }>;
}

/** The leader's name as `a` sees it, or undefined. */
async function leaderOf(a: AgentProcess): Promise<string | undefined> {
  const conf = await a.api<RaftConf>('/v1/operator/raft/configuration');
  return conf.Servers.find((s) => s.Leader)?.Node;
}

describe('cluster: Raft servers as real processes', function () {
  this.timeout(90_000);
  const agents: AgentProcess[] = [];
  afterEach(() => {
    for (const a of agents.splice(0)) a.cleanup();
  });

  it('bootstraps with -bootstrap-expect=3, reports status like Consul, elects again after the leader is killed, and keeps its state across restarts', async () => {
    const s1 = await startAgent({ name: 's1', args: ['-server', '-bootstrap-expect=3'] });
    agents.push(s1);
    const join = [`-retry-join=127.0.0.1:${s1.serf}`, '-retry-interval=200ms'];
    const s2 = await startAgent({ name: 's2', args: ['-server', '-bootstrap-expect=3', ...join] });
    const s3 = await startAgent({ name: 's3', args: ['-server', '-bootstrap-expect=3', ...join] });
    const c1 = await startAgent({ name: 'c1', args: join });
    agents.push(s2, s3, c1);

    const servers = [s1, s2, s3];
    const leader = await eventually('one leader known to every agent', 20_000, async () => {
      const views = await Promise.all([...servers, c1].map((a) => a.api<string>('/v1/status/leader')));
      return views[0] && views.every((v) => v === views[0]) ? views[0] : undefined;
    });
    expect(servers.map((s) => `127.0.0.1:${s.server}`)).to.include(leader);
    // A follower answers from the configuration it has applied, which can trail the leader's
    // heartbeats by a moment right after the election (Consul's Status.Peers does the same).
    const want = servers.map((s) => `127.0.0.1:${s.server}`).sort();
    await eventually('every server listed as a peer', 10_000, async () => {
      const peers = await c1.api<string[]>('/v1/status/peers');
      return JSON.stringify([...peers].sort()) === JSON.stringify(want) ? true : undefined;
    });

    const io = captureIO();
    expect(await runCli(['operator', 'raft', 'list-peers', `-http-addr=127.0.0.1:${c1.http}`], io), io.err()).to.equal(0);
    expect(io.out()).to.match(/^Node\s+ID\s+Address\s+State\s+Voter\s+RaftProtocol/);
    expect(io.out().match(/\bleader\b/g)).to.have.length(1);
    expect(io.out().match(/\bfollower\b/g)).to.have.length(2);

    // Leadership transfer through the CLI moves the leader.
    const before = await leaderOf(s1);
    const io2 = captureIO();
    expect(await runCli(['operator', 'raft', 'transfer-leader', `-http-addr=127.0.0.1:${c1.http}`], io2), io2.err()).to.equal(0);
    await eventually('a different leader after transfer', 10_000, async () => {
      const l = await leaderOf(s1);
      return l && l !== before;
    });

    // SIGKILL the leader: the other two elect a new one.
    const oldName = (await leaderOf(s1))!;
    const victim = servers.find((s) => s.name === oldName)!;
    victim.kill('SIGKILL');
    const rest = servers.filter((s) => s !== victim);
    await eventually('a new leader among the survivors', 15_000, async () => {
      const ls = await Promise.all(rest.map(leaderOf));
      return ls[0] && ls[0] !== oldName && ls.every((l) => l === ls[0]);
    });

    // Restart the killed server on the same data dir: it rejoins as a follower, with no second bootstrap.
    const again = await startAgent({ name: victim.name, dataDir: victim.dataDir, args: ['-server', '-bootstrap-expect=3', `-retry-join=127.0.0.1:${rest[0]!.serf}`], ports: { serf: victim.serf, server: victim.server } });
    agents.push(again);
    await eventually('the restarted server to follow the current leader', 15_000, async () => {
      const l = await leaderOf(again);
      return l && l !== victim.name && l === (await leaderOf(rest[0]!));
    });
    expect(again.output()).to.match(/existing state found|not bootstrapping|already has Raft state/);
    expect(again.output()).to.not.match(/bootstrapped with 3 servers/);
  });
});

describe('cluster: Raft membership follows gossip', function () {
  this.timeout(90_000);
  const agents: AgentProcess[] = [];
  afterEach(() => {
    for (const a of agents.splice(0)) a.cleanup();
  });

  const voters = async (a: AgentProcess): Promise<string[]> =>
    (await a.api<RaftConf>('/v1/operator/raft/configuration')).Servers.filter((s) => s.Voter).map((s) => s.Node).sort();

  it('adds a late server as a non-voter and promotes it, removes a server that leaves, and one that failed', async () => {
    const s1 = await startAgent({ name: 'm1', args: ['-server', '-bootstrap'] });
    agents.push(s1);
    const join = [`-retry-join=127.0.0.1:${s1.serf}`, '-retry-interval=200ms'];
    await eventually('m1 to lead', 10_000, async () => (await leaderOf(s1)) === 'm1');
    const s2 = await startAgent({ name: 'm2', args: ['-server', ...join] });
    const s3 = await startAgent({ name: 'm3', args: ['-server', ...join] });
    const s4 = await startAgent({ name: 'm4', args: ['-server', ...join] });
    agents.push(s2, s3, s4);
    await eventually('all four servers to be voters', 20_000, async () => (await voters(s1)).join() === 'm1,m2,m3,m4');

    // Graceful leave: removed from the configuration.
    expect(await runCli(['leave', `-http-addr=127.0.0.1:${s4.http}`], captureIO())).to.equal(0);
    await eventually('m4 removed after leaving', 20_000, async () => (await voters(s1)).join() === 'm1,m2,m3');

    // SIGKILL of a follower: removed by dead-server cleanup while the rest keep quorum.
    const follower = (await leaderOf(s1)) === 'm3' ? s2 : s3;
    follower.kill('SIGKILL');
    await eventually(`${follower.name} removed after failing`, 40_000, async () => !(await voters(s1)).includes(follower.name));
    expect(await voters(s1)).to.have.length(2);
  });
});

describe('cluster: crash safety and no-leader answers (real processes)', function () {
  this.timeout(90_000);
  const agents: AgentProcess[] = [];
  afterEach(() => {
    for (const a of agents.splice(0)) a.cleanup();
  });

  it('a server SIGKILLed while it writes loses no acknowledged write after restart', async () => {
    const s = await startAgent({ name: 'crash1', args: ['-server', '-bootstrap'] });
    agents.push(s);
    await eventually('leader', 10_000, async () => (await s.api<string>('/v1/status/leader')) !== '');
    const acked: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop && i < 5000; i++) {
        const node = `n-${w}-${i}`;
        try {
          const r = await fetch(`${s.url}/v1/catalog/register`, { method: 'PUT', body: JSON.stringify({ Node: node, Address: '192.0.2.1' }) });
          if (r.status === 200 && (await r.json()) === true) acked.push(node);
        } catch {
          return; // the server died mid-request: that write is not acknowledged
        }
      }
    });
    await eventually('some acknowledged writes', 10_000, () => acked.length >= 200);
    s.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await s.exited;
    const again = await startAgent({ name: 'crash1', dataDir: s.dataDir, args: ['-server', '-bootstrap'], ports: { serf: s.serf, server: s.server } });
    agents.push(again);
    await eventually('leader after restart', 10_000, async () => (await again.api<string>('/v1/status/leader')) !== '');
    const nodes = new Set((await again.api<Array<{ Node: string }>>('/v1/catalog/nodes')).map((n) => n.Node));
    const lost = acked.filter((n) => !nodes.has(n));
    expect(lost, `${lost.length} of ${acked.length} acknowledged writes lost`).to.deep.equal([]);
  });

  it('a client with no reachable server answers 500 "No cluster leader" after bounded retries', async () => {
    const c = await startAgent({ name: 'lonely' });
    agents.push(c);
    const t0 = Date.now();
    const r = await fetch(`${c.url}/v1/catalog/nodes`);
    expect(r.status).to.equal(500);
    expect(await r.text()).to.match(/No cluster leader|No known Herald servers/);
    expect(Date.now() - t0).to.be.below(15_000);
  });
});

describe('cluster: rejoin after restart without a join address', function () {
  this.timeout(90_000);
  const agents: AgentProcess[] = [];
  afterEach(() => {
    for (const a of agents.splice(0)) a.cleanup();
  });

  it('a restarted server finds its cluster from the members it knew, and a server that left does not rejoin on its own', async () => {
    const s1 = await startAgent({ name: 'r1', args: ['-server', '-bootstrap-expect=3'] });
    agents.push(s1);
    const join = [`-retry-join=127.0.0.1:${s1.serf}`, '-retry-interval=200ms'];
    const s2 = await startAgent({ name: 'r2', args: ['-server', '-bootstrap-expect=3', ...join] });
    const s3 = await startAgent({ name: 'r3', args: ['-server', '-bootstrap-expect=3', ...join] });
    agents.push(s2, s3);
    await eventually('a leader known to r3', 20_000, async () => (await s3.api<string>('/v1/status/leader')) !== '');
    await new Promise((r) => setTimeout(r, 1500)); // let r3 write the members it knows
    s3.kill('SIGKILL');
    await s3.exited;
    // No -retry-join this time: only the members remembered in the data dir.
    const again = await startAgent({ name: 'r3', dataDir: s3.dataDir, args: ['-server', '-bootstrap-expect=3'], ports: { serf: s3.serf, server: s3.server } });
    agents.push(again);
    await eventually('the restarted server to know the leader', 20_000, async () => (await again.api<string>('/v1/status/leader')) !== '');
    expect(again.output()).to.match(/rejoined the cluster through \d+ of \d+ members known before the restart/);

    // A graceful leave is remembered: the next start does not rejoin by itself.
    const r = await fetch(`${again.url}/v1/agent/leave`, { method: 'PUT' });
    expect(r.status).to.equal(200);
    await again.exited;
    const third = await startAgent({ name: 'r3', dataDir: s3.dataDir, args: ['-server', '-bootstrap-expect=3'], ports: { serf: s3.serf, server: s3.server } });
    agents.push(third);
    await new Promise((r2) => setTimeout(r2, 1500));
    expect(third.output()).to.match(/left the cluster before the restart; not rejoining/);
    expect((await third.api<Array<{ Name: string }>>('/v1/agent/members')).map((m) => m.Name)).to.deep.equal(['r3']);
  });
});
