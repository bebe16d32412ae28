import { expect } from 'chai';
import type { MetricsJson } from '../../agent/telemetry/registry.js';
import { dig } from '../dns/dig.js';
import { eventually, startAgent, type AgentProcess } from '../lib/agent-process.js';

/** Route counters of an agent (0 when absent: client agents have none). */
async function routes(a: AgentProcess): Promise<{ stale: number; leader: number; consistent: number; forwarded: number; noLeader: number }> {
  const j = await a.api<MetricsJson>('/v1/agent/metrics');
  const c = (name: string): number => j.Counters.find((x) => x.Name === name)?.Count ?? 0;
  return {
    stale: c('consul.dns.stale_queries'),
    leader: c('consul.dns.leader_queries'),
    consistent: c('consul.dns.consistent_queries'),
    forwarded: c('consul.dns.forwarded_to_leader'),
    noLeader: c('consul.dns.no_leader'),
  };
}

describe('cluster: DNS allow_stale / max_stale (3 servers, 2 clients, real processes)', function () {
  this.timeout(90_000);
  const agents: AgentProcess[] = [];
  let servers: AgentProcess[] = [];
  /** Client with allow_stale = false: every answer comes from the leader after a ReadIndex round. */
  let consistent: AgentProcess;
  /** Client with the defaults (allow_stale, max_stale 87600h). */
  let stale: AgentProcess;

  after(() => {
    for (const a of agents.splice(0)) a.cleanup();
  });

  const leaderOf = async (): Promise<AgentProcess> => {
    const addr = await eventually('a leader', 20_000, async () => (await servers[0]!.api<string>('/v1/status/leader')) || undefined);
    const l = servers.find((s) => addr.endsWith(`:${s.server}`));
    if (!l) throw new Error(`leader ${addr} is none of the servers`);
    return l;
  };

  before(async () => {
    // Servers: max_stale 0, so a follower's own DNS listener never answers from its replica.
    const serverCfg = { dns_config: { max_stale: '0s' } };
    const s1 = await startAgent({ name: 'ds1', args: ['-server', '-bootstrap-expect=3'], config: serverCfg });
    agents.push(s1);
    const join = [`-retry-join=127.0.0.1:${s1.serf}`, '-retry-interval=200ms'];
    const rest = await Promise.all([
      startAgent({ name: 'ds2', args: ['-server', '-bootstrap-expect=3', ...join], config: serverCfg }),
      startAgent({ name: 'ds3', args: ['-server', '-bootstrap-expect=3', ...join], config: serverCfg }),
      startAgent({ name: 'dc1', args: join, config: { dns_config: { allow_stale: false } } }),
      startAgent({ name: 'dc2', args: join }),
    ]);
    agents.push(...rest);
    servers = [s1, rest[0], rest[1]];
    consistent = rest[2];
    stale = rest[3];
    await eventually('every server knows the leader', 20_000, async () => {
      for (const s of servers) if ((await s.api<string>('/v1/status/leader')) === '') return false;
      return true;
    });
    await eventually('all five agents in the catalog', 20_000, async () => (await stale.api<unknown[]>('/v1/catalog/nodes')).length === 5);
  });

  it('allow_stale=false: a client\'s queries are answered by the leader after a ReadIndex round, and a cached answer is never stale', async () => {
    const leader = await leaderOf();
    // Primes the leader's answer cache with NXDOMAIN for a name about to exist.
    expect((await dig(consistent.dns, 'fresh.service.consul', 'A')).status).to.equal('NXDOMAIN');
    const before = await routes(leader);
    await stale.api('/v1/catalog/register', {
      method: 'PUT',
      body: JSON.stringify({ Node: 'ext1', Address: '192.0.2.10', Service: { Service: 'fresh', Port: 80 } }),
    });
    // The write is acknowledged, so a consistent read must see it at once: no retry here.
    const a = await dig(consistent.dns, 'fresh.service.consul', 'A');
    expect(a.status).to.equal('NOERROR');
    expect(a.answer.map((r) => r[4])).to.deep.equal(['192.0.2.10']);
    for (let i = 0; i < 3; i++) expect((await dig(consistent.dns, 'fresh.service.consul', 'A')).status).to.equal('NOERROR');
    const after = await routes(leader);
    expect(after.consistent - before.consistent).to.equal(4);
    for (const s of servers.filter((x) => x !== leader)) expect((await routes(s)).consistent).to.equal(0);
  });

  it('allow_stale (default): a client\'s queries are answered by the server it asks, from its replica', async () => {
    await eventually('fresh on the stale client', 10_000, async () => (await dig(stale.dns, 'fresh.service.consul', 'A')).status === 'NOERROR');
    const sum = async () => {
      const all = await Promise.all(servers.map(routes));
      return all.reduce((t, r) => ({ local: t.local + r.stale + r.leader, consistent: t.consistent + r.consistent, forwarded: t.forwarded + r.forwarded }), { local: 0, consistent: 0, forwarded: 0 });
    };
    const before = await sum();
    for (let i = 0; i < 3; i++) expect((await dig(stale.dns, 'fresh.service.consul', 'A')).status).to.equal('NOERROR');
    const after = await sum();
    expect(after.local - before.local).to.equal(3);
    expect(after.consistent).to.equal(before.consistent);
    expect(after.forwarded).to.equal(before.forwarded);
  });

  it('max_stale exceeded (0 s on the servers): a follower\'s own DNS re-asks the leader', async () => {
    const leader = await leaderOf();
    const follower = servers.find((s) => s !== leader)!;
    const [l0, f0] = await Promise.all([routes(leader), routes(follower)]);
    for (let i = 0; i < 3; i++) {
      const r = await dig(follower.dns, 'fresh.service.consul', 'A');
      expect(r.status).to.equal('NOERROR');
      expect(r.answer.map((x) => x[4])).to.deep.equal(['192.0.2.10']);
    }
    const [l1, f1] = await Promise.all([routes(leader), routes(follower)]);
    expect(f1.forwarded - f0.forwarded).to.equal(3);
    expect(f1.stale).to.equal(f0.stale);
    expect(l1.leader - l0.leader).to.equal(3);
    // The leader's own listener answers locally.
    expect((await dig(leader.dns, 'fresh.service.consul', 'A')).status).to.equal('NOERROR');
    expect((await routes(leader)).leader - l1.leader).to.equal(1);
  });

  it('no leader: SERVFAIL with allow_stale=false and past max_stale; the stale replica still answers under the defaults', async () => {
    const leader = await leaderOf();
    const [survivor, other] = servers.filter((s) => s !== leader) as [AgentProcess, AgentProcess];
    leader.kill('SIGKILL');
    other.kill('SIGKILL');
    await eventually('the survivor without a leader', 20_000, async () => (await survivor.api<string>('/v1/status/leader')) === '');
    // Past max_stale (0 s) on the survivor's own listener.
    expect((await dig(survivor.dns, 'fresh.service.consul', 'A')).status).to.equal('SERVFAIL');
    // The consistent client may first try a dead server; its pool moves on to the survivor.
    await eventually('SERVFAIL on the consistent client', 20_000, async () => (await dig(consistent.dns, 'fresh.service.consul', 'A')).status === 'SERVFAIL');
    expect((await routes(survivor)).noLeader).to.be.at.least(2);
    const r = await eventually('an answer on the stale client', 20_000, async () => {
      const x = await dig(stale.dns, 'fresh.service.consul', 'A');
      return x.status === 'NOERROR' ? x : undefined;
    });
    expect(r.answer.map((x) => x[4])).to.deep.equal(['192.0.2.10']);
  });
});
