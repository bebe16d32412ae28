import { expect } from 'chai';
import { startAgent, flippableServer, type TestAgent } from '../health/fixture.js';
import { waitFor } from '../checks/helpers.js';
import { parsePrometheus } from '../../lib/prometheus.js';
import type { MetricsJson } from '../../../agent/telemetry/registry.js';
import { catalogMetrics } from '../../../agent/telemetry/sources.js';

describe('GET /v1/agent/metrics', () => {
  let t: TestAgent;
  afterEach(async () => t?.close());

  it('counts HTTP requests by route and code, check runs by outcome, catalog instances by health; JSON and Prometheus forms', async () => {
    t = await startAgent();
    catalogMetrics(t.telemetry, t.store);
    const target = await flippableServer(200);
    try {
      await t.put('/v1/agent/service/register', { Name: 'web', Check: { HTTP: target.url, Interval: '5s' } });
      t.clock.advance(5_000);
      await waitFor(() => t.local.check('service:web')?.Status === 'passing', 5000, 'passing');
      target.status = 503;
      t.clock.advance(5_000);
      await waitFor(() => t.local.check('service:web')?.Status === 'critical', 5000, 'critical');
    } finally {
      await target.close();
    }
    await t.ae.idle();
    await t.put('/v1/agent/service/deregister/nope');
    const j = await t.get<MetricsJson>('/v1/agent/metrics');
    expect(Object.keys(j)).to.deep.equal(['Timestamp', 'Gauges', 'Points', 'Counters', 'Samples']);
    const counter = (name: string, labels: Record<string, string>) => j.Counters.find((c) => c.Name === name && JSON.stringify(c.Labels) === JSON.stringify(labels));
    expect(counter('consul.checks.run', { type: 'http', status: 'passing' })?.Count).to.equal(1);
    expect(counter('consul.checks.run', { type: 'http', status: 'critical' })?.Count).to.equal(1);
    const sample = (name: string) => j.Samples.filter((s) => s.Name === name);
    expect(sample('consul.http.PUT.v1.agent.service.register')[0]?.Count).to.equal(1);
    const api = sample('consul.api.http').map((s) => s.Labels);
    expect(api).to.deep.include({ method: 'PUT', path: '/v1/agent/service/deregister/:id', code: '404' });
    expect(api).to.deep.include({ method: 'PUT', path: '/v1/agent/service/register', code: '200' });
    const gauge = (name: string, labels: Record<string, string> = {}) => j.Gauges.find((g) => g.Name === name && JSON.stringify(g.Labels) === JSON.stringify(labels))?.Value;
    expect(gauge('consul.state.services')).to.equal(1);
    expect(gauge('consul.catalog.service_instances', { status: 'critical' })).to.equal(1);
    expect(gauge('consul.catalog.service_instances', { status: 'passing' })).to.equal(0);

    const r = await fetch(`${t.url}/v1/agent/metrics?format=prometheus`);
    expect(r.headers.get('content-type')).to.equal('text/plain; version=0.0.4; charset=utf-8');
    const p = parsePrometheus(await r.text());
    expect(p.get('consul_checks_run{status="passing",type="http"}')).to.equal(1);
    expect(p.get('consul_catalog_service_instances{status="critical"}')).to.equal(1);
    expect(p.get('consul_http_PUT_v1_agent_service_register_count')).to.equal(1);
    expect((await fetch(`${t.url}/v1/agent/metrics?format=xml`)).status).to.equal(400);
  });
});
