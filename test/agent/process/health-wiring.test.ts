import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, eventually, type AgentProcess } from '../../lib/agent-process.js';
import { runCli } from '../../../agent/cli/program.js';
import { captureIO } from '../../lib/io.js';
import { parsePrometheus } from '../../lib/prometheus.js';

import { HERALD_BIN as MAIN } from '../../lib/herald-bin.js';

async function server(handler: (body: string) => number): Promise<{ url: string; close(): Promise<void> }> {
  const s: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.statusCode = handler(body);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); }),
  };
}

describe('herald agent process: config services and checks, reload, config watches, metrics, monitor, watch CLI', function () {
  this.timeout(40_000);
  let a: AgentProcess | undefined;
  const closers: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    a?.cleanup();
    a = undefined;
    for (const c of closers.splice(0)) await c();
  });

  it('runs them end to end against a real server agent', async () => {
    const target = await server(() => 200);
    closers.push(target.close);
    const posts: string[] = [];
    const hook = await server((b) => (posts.push(b), 200));
    closers.push(hook.close);
    const watches = [{ type: 'service', service: 'cfg-web', passingonly: true, handler_type: 'http', http_handler_config: { path: hook.url } }];
    a = await startAgent({
      name: 'hw1',
      args: ['-server', '-bootstrap'],
      config: {
        services: [{ name: 'cfg-web', port: 80, check: { http: target.url, interval: '1s' } }],
        checks: [{ id: 'cfg-mem', name: 'mem', ttl: '1h', status: 'passing' }],
        watches,
      },
    });
    const agent = a;
    await eventually('config service passing in the catalog', 15_000, async () => (await agent.api<unknown[]>('/v1/health/service/cfg-web?passing')).length === 1);
    const checks = await agent.api<Record<string, { Status: string }>>('/v1/agent/checks');
    expect(Object.keys(checks).sort()).to.deep.equal(['cfg-mem', 'service:cfg-web']);
    await eventually('the config watch posted the passing instance', 10_000, () =>
      posts.some((p) => (JSON.parse(p) as unknown[]).length === 1),
    );

    // Monitor: stream the agent's logs at debug.
    const ac = new AbortController();
    const mon = await fetch(`${agent.url}/v1/agent/monitor?loglevel=debug`, { signal: ac.signal });
    expect(mon.status).to.equal(200);
    let monitored = '';
    const reader = mon.body!.getReader();
    const pump = (async () => {
      for (let i = 0; i < 10_000; i++) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done) return;
        monitored += Buffer.from(value!).toString('utf8');
      }
    })();

    await agent.api('/v1/agent/service/register', { method: 'PUT', body: JSON.stringify({ Name: 'http-svc' }) });
    const cfgFile = join(agent.dataDir, '..', `hw1-${agent.http}.json`);
    writeFileSync(cfgFile, JSON.stringify({ gossip_lan: { profile: 'local' }, services: [{ name: 'cfg-api' }], watches, log_level: 'warn' }));
    const io = captureIO();
    expect(await runCli(['reload', `-http-addr=${agent.url}`], io)).to.equal(0);
    expect(io.out()).to.equal('Configuration reload triggered\n');
    const services = await agent.api<Record<string, unknown>>('/v1/agent/services');
    expect(Object.keys(services).sort()).to.deep.equal(['cfg-api', 'http-svc']);
    expect(Object.keys(await agent.api('/v1/agent/checks'))).to.deep.equal([]);
    await eventually('the monitor saw the reload', 5000, () => /\[INFO\]  agent: configuration reloaded/.test(monitored));
    expect(monitored).to.match(/\[INFO\]  agent: configuration reloaded/);
    ac.abort();
    await pump;
    // A bad config is refused with the reason and changes nothing.
    writeFileSync(cfgFile, JSON.stringify({ services: [{ port: 1 }] }));
    const bad = captureIO();
    expect(await runCli(['reload', `-http-addr=${agent.url}`], bad)).to.equal(1);
    expect(bad.err()).to.match(/Error reloading: Unexpected response code: 500 \(config: services\[0\]: Missing service name\)/);
    expect(Object.keys(await agent.api('/v1/agent/services')).sort()).to.deep.equal(['cfg-api', 'http-svc']);

    // Metrics in both forms.
    const m = parsePrometheus(await (await fetch(`${agent.url}/v1/agent/metrics?format=prometheus`)).text());
    expect(m.get('consul_raft_applied_index')).to.be.greaterThan(0);
    expect(m.get('consul_raft_apply')).to.be.greaterThan(0);
    expect(m.get('consul_raft_commitTime_count')).to.be.greaterThan(0);
    expect(m.get('consul_raft_state_leader')).to.equal(1);
    expect(m.get('consul_server_isLeader')).to.equal(1);
    expect(m.get('consul_serf_members{status="alive"}')).to.equal(1);
    expect(m.get('consul_memberlist_health_score')).to.equal(0);
    expect(m.get('consul_checks_run{status="passing",type="http"}')).to.be.greaterThan(0);
    expect(m.get('consul_state_nodes')).to.equal(1);
    expect(m.get('consul_dns_cache_size')).to.be.a('number');
    expect(m.get('consul_runtime_alloc_bytes')).to.be.greaterThan(0);
    const j = await agent.api<{ Gauges: Array<{ Name: string }>; Samples: Array<{ Name: string }> }>('/v1/agent/metrics');
    expect(j.Gauges.map((g) => g.Name)).to.include('consul.raft.term');
    expect(j.Samples.map((s) => s.Name)).to.include('consul.http.GET.v1.agent.services');

    // herald watch (print mode) shows the catalog's services and stops cleanly on SIGTERM.
    const w = spawn(process.execPath, [MAIN, 'watch', '-type=services', `-http-addr=${agent.url}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let wout = '';
    w.stdout.on('data', (d) => (wout += String(d)));
    w.stderr.on('data', (d) => (wout += String(d)));
    const wexit = new Promise<number | null>((r) => w.on('exit', (c) => r(c)));
    try {
      await eventually('watch printed cfg-api', 10_000, () => wout.includes('"cfg-api"'));
      const first = wout;
      await agent.api('/v1/agent/service/register', { method: 'PUT', body: JSON.stringify({ Name: 'late' }) });
      await eventually('watch printed the new service', 10_000, () => wout.length > first.length && wout.slice(first.length).includes('"late"'));
      w.kill('SIGTERM');
      expect(await wexit).to.equal(0);
    } finally {
      w.kill('SIGKILL');
    }

    // With a handler: run through sh -c once per change, the JSON on stdin.
    const log = join(agent.dataDir, 'watch-handler.log');
    const h = spawn(process.execPath, [MAIN, 'watch', '-type=service', '-service=late', `-http-addr=${agent.url}`, `cat >> ${log}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const hexit = new Promise<number | null>((r) => h.on('exit', (c) => r(c)));
    const lines = (): string[] => {
      try {
        return readFileSync(log, 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    };
    try {
      await eventually('handler ran for the first answer', 10_000, () => lines().length === 1);
      await agent.api('/v1/agent/service/maintenance/late?enable=true', { method: 'PUT' });
      await eventually('handler ran after maintenance', 10_000, () => lines().length === 2);
      const entries = lines().map((l) => JSON.parse(l) as Array<{ Checks: Array<{ CheckID: string }> }>);
      expect(entries[0]![0]!.Checks.map((c) => c.CheckID)).to.not.include('_service_maintenance:late');
      expect(entries[1]![0]!.Checks.map((c) => c.CheckID)).to.include('_service_maintenance:late');
      h.kill('SIGTERM');
      expect(await hexit).to.equal(0);
      expect(lines()).to.have.length(2);
    } finally {
      h.kill('SIGKILL');
    }
  });
});
