import { expect } from 'chai';
import { RESERVOIR, Telemetry, promName } from '../../../agent/telemetry/registry.js';
import { parsePrometheus } from '../../lib/prometheus.js';

describe('telemetry: registry', () => {
  it('aggregates counters and samples and renders Consul JSON', () => {
    let now = 1_700_000_000_000;
    const t = new Telemetry(() => now);
    t.counter('consul.http.requests', { code: '200' });
    t.counter('consul.http.requests', { code: '200' }, 2);
    t.counter('consul.http.requests', { code: '500' });
    for (const v of [10, 20, 30]) t.sample('consul.raft.commitTime', v);
    t.gauge('consul.state.nodes', 3);
    t.gauge('consul.state.nodes', 4);
    t.addCollector((r) => r.gauge('consul.runtime.collected', 7));
    now += 10_000;
    const j = t.json();
    expect(j.Timestamp).to.equal('2023-11-14 22:13:30 +0000 UTC');
    expect(j.Points).to.deep.equal([]);
    expect(j.Gauges).to.deep.equal([
      { Name: 'consul.runtime.collected', Value: 7, Labels: {} },
      { Name: 'consul.state.nodes', Value: 4, Labels: {} },
    ]);
    expect(j.Counters).to.deep.equal([
      { Name: 'consul.http.requests', Count: 2, Rate: 0.3, Sum: 3, Min: 1, Max: 2, Mean: 1.5, Stddev: Math.SQRT1_2, Labels: { code: '200' } },
      { Name: 'consul.http.requests', Count: 1, Rate: 0.1, Sum: 1, Min: 1, Max: 1, Mean: 1, Stddev: 0, Labels: { code: '500' } },
    ]);
    expect(j.Samples).to.have.length(1);
    expect(j.Samples[0]).to.deep.include({ Name: 'consul.raft.commitTime', Count: 3, Sum: 60, Min: 10, Max: 30, Mean: 20, Stddev: 10 });
  });

  it('renders the Prometheus text format that a strict reader accepts', () => {
    const t = new Telemetry(() => 0);
    t.counter('consul.http.GET.v1.agent.self');
    t.counter('consul.catalog.x', { path: 'a"b\\c\nd' });
    t.gauge('consul.serf.members', 2, { status: 'alive' });
    t.gauge('consul.serf.members', 1, { status: 'failed' });
    for (let i = 1; i <= 100; i++) t.sample('consul.raft.commitTime', i);
    const p = parsePrometheus(t.prometheus());
    expect(p.get('consul_http_GET_v1_agent_self')).to.equal(1);
    expect(p.get('consul_serf_members{status="alive"}')).to.equal(2);
    expect(p.get('consul_serf_members{status="failed"}')).to.equal(1);
    expect(p.get('consul_raft_commitTime{quantile="0.5"}')).to.equal(51);
    expect(p.get('consul_raft_commitTime{quantile="0.99"}')).to.equal(100);
    expect(p.get('consul_raft_commitTime_sum')).to.equal(5050);
    expect(p.get('consul_raft_commitTime_count')).to.equal(100);
    expect(p.get('consul_catalog_x{path="a\\"b\\\\c\\nd"}')).to.equal(1);
    expect(promName('consul.http.GET.v1.kv._')).to.equal('consul_http_GET_v1_kv__');
  });

  it('a sampler records into the same series as sample(); quantiles come from the last RESERVOIR values', () => {
    const t = new Telemetry(() => 0);
    const rec = t.sampler('consul.api.http', { method: 'PUT', code: '200' });
    // Values 1..RESERVOIR are all pushed out by the next RESERVOIR values (RESERVOIR+1..2*RESERVOIR).
    for (let i = 1; i <= 2 * RESERVOIR; i++) (i % 2 === 0 ? rec(i) : t.sample('consul.api.http', i, { code: '200', method: 'PUT' }));
    const s = t.json().Samples;
    expect(s).to.have.length(1);
    expect(s[0]).to.deep.include({ Count: 2 * RESERVOIR, Min: 1, Max: 2 * RESERVOIR, Sum: RESERVOIR * (2 * RESERVOIR + 1) });
    const p = parsePrometheus(t.prometheus());
    expect(p.get('consul_api_http{code="200",method="PUT",quantile="0.5"}')).to.equal(RESERVOIR + RESERVOIR / 2 + 1);
    expect(p.get('consul_api_http{code="200",method="PUT",quantile="0.99"}')).to.equal(RESERVOIR + Math.floor(0.99 * RESERVOIR) + 1);
    expect(() => t.sampler('consul.api.http', {})(1)).not.to.throw();
    expect(() => t.counter('consul.api.http')).to.throw('is a sample, not a counter');
  });

  it('counterOf and timer record like counter and time, create their series at the first use, and time failures too', async () => {
    let now = 0;
    const t = new Telemetry(() => now);
    const applied = t.counterOf('consul.raft.apply');
    const commit = t.timer('consul.raft.commitTime');
    expect(t.json().Counters, 'nothing before the first use').to.deep.equal([]);
    expect(t.json().Samples).to.deep.equal([]);
    applied();
    applied(2);
    t.counter('consul.raft.apply');
    expect(await commit(async () => ((now += 5), 'ok'))).to.equal('ok');
    let err: unknown;
    await commit(async () => {
      now += 7;
      throw new Error('lost');
    }).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.equal('lost');
    const j = t.json();
    expect(j.Counters).to.have.length(1);
    expect(j.Counters[0]).to.deep.include({ Name: 'consul.raft.apply', Count: 3, Sum: 4 });
    expect(j.Samples[0]).to.deep.include({ Name: 'consul.raft.commitTime', Count: 2, Sum: 12, Min: 5, Max: 7 });
  });

  it('a name keeps one kind; a throwing collector does not break a scrape', () => {
    const t = new Telemetry();
    t.counter('a.b');
    expect(() => t.gauge('a.b', 1)).to.throw('telemetry: metric "a.b" is a counter, not a gauge');
    t.addCollector(() => {
      throw new Error('boom');
    });
    expect(t.json().Counters).to.have.length(1);
  });
});
