import { expect } from 'chai';
import { parseCheckDefinition } from '../../../agent/checks/definition.js';
import type { ParsedCheck } from '../../../agent/checks/types.js';

function ok(raw: unknown, opts = {}): ParsedCheck {
  const r = parseCheckDefinition(raw, opts);
  if (!r.ok) throw new Error(`expected ok, got error: ${r.error}`);
  return r.check;
}

function err(raw: unknown): string {
  const r = parseCheckDefinition(raw);
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.check)}`);
  return r.error;
}

describe('checks: parseCheckDefinition', () => {
  it('parses an HTTP check in the API form (PascalCase)', () => {
    const c = ok({
      ID: 'api',
      Name: 'HTTP API on port 5000',
      Notes: 'n',
      ServiceID: 'web1',
      HTTP: 'https://localhost:5000/health',
      Method: 'post',
      Header: { 'X-Foo': ['a', 'b'] },
      Body: '{"x":1}',
      TLSSkipVerify: true,
      Interval: '10s',
      Timeout: '1s',
      SuccessBeforePassing: 2,
      FailuresBeforeCritical: 3,
      DeregisterCriticalServiceAfter: '90m',
      Status: 'passing',
    });
    expect(c.spec).to.deep.equal({
      kind: 'http',
      checkId: 'api',
      url: 'https://localhost:5000/health',
      method: 'POST',
      header: { 'X-Foo': ['a', 'b'] },
      body: '{"x":1}',
      tlsSkipVerify: true,
      disableRedirects: false,
      intervalMs: 10_000,
      timeoutMs: 1000,
      successBeforePassing: 2,
      failuresBeforeWarning: 3,
      failuresBeforeCritical: 3,
      outputMaxSize: 4096,
    });
    expect(c).to.include({ name: 'HTTP API on port 5000', notes: 'n', serviceId: 'web1', status: 'passing', deregisterCriticalServiceAfterMs: 90 * 60_000 });
    expect(c.warnings).to.deep.equal([]);
  });

  it('parses the config-file form (snake_case) identically', () => {
    const api = ok({ CheckID: 'g', Name: 'g', GRPC: '127.0.0.1:9000/my.Svc', GRPCUseTLS: true, TLSSkipVerify: true, Interval: '5s', FailuresBeforeWarning: 1 });
    const file = ok({ check_id: 'g', name: 'g', grpc: '127.0.0.1:9000/my.Svc', grpc_use_tls: true, tls_skip_verify: true, interval: '5s', failures_before_warning: 1 });
    expect(file).to.deep.equal(api);
    expect(api.spec).to.deep.include({ kind: 'grpc', target: '127.0.0.1:9000/my.Svc', useTls: true, tlsSkipVerify: true, timeoutMs: 10_000, failuresBeforeWarning: 1, failuresBeforeCritical: 0 });
  });

  it('defaults: ID = Name, GET, status critical, timeout 10s (30s for scripts), output 4 KB', () => {
    const c = ok({ Name: 'tcp', TCP: 'localhost:22', Interval: '10s' });
    expect(c.spec).to.deep.include({ kind: 'tcp', checkId: 'tcp', address: 'localhost:22', timeoutMs: 10_000, outputMaxSize: 4096 });
    expect(c.status).to.equal('critical');
    expect(c.serviceId).to.equal('');
    expect(c.deregisterCriticalServiceAfterMs).to.equal(undefined);
    expect(ok({ Name: 'h', HTTP: 'http://x/', Interval: '1s' }).spec).to.deep.include({ method: 'GET', header: {}, body: '' });
    expect(ok({ Name: 's', Args: ['/bin/true'], Interval: '1s' }).spec).to.deep.include({ kind: 'script', args: ['/bin/true'], timeoutMs: 30_000 });
    expect(ok({ Name: 's', script_args: ['/bin/true', '-x'], interval: '1s' }).spec).to.deep.include({ kind: 'script', args: ['/bin/true', '-x'] });
  });

  it('parses TTL and alias checks', () => {
    expect(ok({ Name: 't', TTL: '30s', Notes: 'hb' }).spec).to.deep.include({ kind: 'ttl', ttlMs: 30_000, checkId: 't' });
    expect(ok({ Name: 'a', AliasService: 'web1' }).spec).to.deep.include({ kind: 'alias', aliasService: 'web1' });
    const both = ok({ Name: 'a', alias_node: 'n2', alias_service: 'db' }).spec;
    expect(both).to.deep.include({ kind: 'alias', aliasNode: 'n2', aliasService: 'db' });
  });

  it('takes caller defaults for checks embedded in a service definition', () => {
    const c = ok({ TTL: '10s' }, { defaultName: "Service 'web' check", defaultId: 'service:web', serviceId: 'web' });
    expect(c.name).to.equal("Service 'web' check");
    expect(c.spec.checkId).to.equal('service:web');
    expect(c.serviceId).to.equal('web');
  });

  it('OutputMaxSize can only lower the agent\'s check_output_max_size', () => {
    expect(ok({ Name: 't', TCP: 'a:1', Interval: '1s', OutputMaxSize: 100 }).spec.outputMaxSize).to.equal(100);
    expect(ok({ Name: 't', TCP: 'a:1', Interval: '1s', OutputMaxSize: 100_000 }).spec.outputMaxSize).to.equal(4096);
    expect(ok({ Name: 't', TCP: 'a:1', Interval: '1s', OutputMaxSize: 100_000 }, { checkOutputMaxSize: 65_536 }).spec.outputMaxSize).to.equal(65_536);
    expect(ok({ Name: 't', TCP: 'a:1', Interval: '1s' }, { checkOutputMaxSize: 8192 }).spec.outputMaxSize).to.equal(8192);
  });

  it('accepts durations as nanosecond numbers like the Go API', () => {
    expect(ok({ Name: 't', TCP: 'a:1', Interval: 15e9 }).spec).to.deep.include({ intervalMs: 15_000 });
  });

  it('raises a short Interval and DeregisterCriticalServiceAfter to the minimum with a warning, like Consul', () => {
    const c = ok({ Name: 't', TCP: 'a:1', Interval: '100ms', DeregisterCriticalServiceAfter: '10s' });
    expect(c.spec).to.deep.include({ intervalMs: 1000 });
    expect(c.deregisterCriticalServiceAfterMs).to.equal(60_000);
    expect(c.warnings).to.have.length(2);
    expect(c.warnings[0]).to.match(/^Interval 100ms is below the minimum 1s/);
    expect(c.warnings[1]).to.match(/^DeregisterCriticalServiceAfter must be at least 1m/);
  });

  const ERRORS: Array<[string, unknown, RegExp]> = [
    ['not an object', [1], /^check definition must be a JSON object$/],
    ['bad interval', { Name: 'x', HTTP: 'http://a/', Interval: 'x' }, /^Interval: invalid duration "x"/],
    ['bad timeout', { Name: 'x', HTTP: 'http://a/', Interval: '1s', Timeout: '5 parsecs' }, /^Timeout: invalid duration "5 parsecs"/],
    ['two kinds', { Name: 'x', HTTP: 'http://a/', TCP: 'a:1', Interval: '1s' }, /^"HTTP" and "TCP" cannot both be set$/],
    ['script and grpc', { Name: 'x', GRPC: 'a:1', Args: ['x'], Interval: '1s' }, /^"GRPC" and "Args" cannot both be set$/],
    ['http without interval', { Name: 'x', HTTP: 'http://a/' }, /^Interval is required for HTTP checks$/],
    ['tcp without interval', { Name: 'x', TCP: 'a:1' }, /^Interval is required for TCP checks$/],
    ['script without interval', { Name: 'x', Args: ['a'] }, /^Interval is required for script checks$/],
    ['ttl with interval', { Name: 'x', TTL: '1s', Interval: '1s' }, /^Interval and TTL cannot both be set$/],
    ['alias with interval', { Name: 'x', AliasNode: 'n', Interval: '1s' }, /^Interval cannot be set for alias checks$/],
    ['no kind', { Name: 'x', Interval: '1s' }, /^one of HTTP, TCP, GRPC, Args, AliasNode\/AliasService or TTL is required$/],
    ['no name', { TTL: '1s' }, /^Name is required$/],
    ['bad status', { Name: 'x', TTL: '1s', Status: 'ok' }, /^Status: must be one of passing, warning, critical/],
    ['bad url', { Name: 'x', HTTP: 'not a url', Interval: '1s' }, /^HTTP: invalid URL "not a url"$/],
    ['ftp url', { Name: 'x', HTTP: 'ftp://a/', Interval: '1s' }, /^HTTP: must be an http:\/\/ or https:\/\/ URL/],
    ['bad tcp', { Name: 'x', TCP: 'localhost', Interval: '1s' }, /^TCP: must be host:port/],
    ['tcp port range', { Name: 'x', TCP: 'localhost:70000', Interval: '1s' }, /^TCP: must be host:port/],
    ['bad grpc', { Name: 'x', GRPC: 'svc', Interval: '1s' }, /^GRPC: must be host:port or host:port\/service/],
    ['args not strings', { Name: 'x', Args: [1], Interval: '1s' }, /^Args: must be a non-empty list of strings$/],
    ['header not list', { Name: 'x', HTTP: 'http://a/', Interval: '1s', Header: { A: 'b' } }, /^Header\["A"\]: must be a list of strings$/],
    ['negative count', { Name: 'x', TTL: '1s', SuccessBeforePassing: -1 }, /^SuccessBeforePassing: must be a non-negative integer$/],
    ['bool type', { Name: 'x', HTTP: 'https://a/', Interval: '1s', TLSSkipVerify: 'yes' }, /^TLSSkipVerify: must be true or false$/],
    ['name type', { Name: 5, TTL: '1s' }, /^Name: must be a string$/],
    ['negative ttl', { Name: 'x', TTL: '-1s' }, /^TTL: must not be negative$/],
    ['shell script', { Name: 'x', Script: 'true', Interval: '1s' }, /^Script: .*use Args/],
    ['docker', { Name: 'x', DockerContainerID: 'abc', Args: ['a'], Interval: '1s' }, /^DockerContainerID: .*not supported/],
    ['h2ping', { Name: 'x', h2ping: 'a:1', Interval: '1s' }, /^H2PING: .*not supported/],
  ];
  for (const [name, raw, re] of ERRORS) {
    it(`rejects: ${name}`, () => {
      expect(err(raw)).to.match(re);
    });
  }
});
