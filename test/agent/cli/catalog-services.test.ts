import { expect } from 'chai';
import { runCli } from '../../../agent/cli/program.js';
import { createHttpApp } from '../../../agent/http/app.js';
import { buildConfig } from '../../../agent/config/config.js';
import { silentLogger } from '../../../agent/runtime/logger.js';
import { ManualClock } from '../../../agent/runtime/clock.js';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { LocalState } from '../../../agent/local/state.js';
import { TtlChecks } from '../../../agent/checks/ttl.js';
import { AntiEntropy } from '../../../agent/local/anti-entropy.js';
import { VERSION } from '../../../agent/version.js';
import { CatalogEndpoint } from '../../../catalog/endpoint.js';
import { LocalApplier } from '../../../catalog/local-applier.js';
import { realTimers } from '../../../catalog/timers.js';
import { CommandType, StateStore } from '../../../catalog/state/index.js';
import { captureIO } from '../../lib/io.js';
import { serveApp } from '../../lib/net.js';
import { tempDir } from '../../lib/tmp.js';

const NODE_ID = 'abcdef12-2222-3333-4444-555555555555';

async function start() {
  const clock = new ManualClock();
  const store = new StateStore();
  const catalog = new CatalogEndpoint({ store, propose: new LocalApplier(store).propose, timers: realTimers, rng: () => 0 });
  const state = LocalState.open({ logger: silentLogger() });
  const ttl = new TtlChecks(state, clock, silentLogger());
  const ae = new AntiEntropy({
    local: state,
    catalog,
    node: { name: 'cli-node', id: NODE_ID, address: '192.0.2.9', datacenter: 'dc1', taggedAddresses: { lan: '192.0.2.9' }, meta: { rack: 'r9' } },
    clock,
    rng: new SeededRng(3),
    logger: silentLogger(),
  });
  ae.start();
  const app = createHttpApp({
    config: buildConfig({ dev: true, raw: { node_name: 'cli-node' } }),
    nodeId: NODE_ID,
    version: VERSION,
    logger: silentLogger(),
    status: { leader: () => '', peers: () => [] },
    catalog,
    local: { state, ttl },
  });
  const srv = await serveApp(app);
  const run = async (...args: string[]) => {
    const io = captureIO();
    const code = await runCli([...args, `-http-addr=${srv.url}`], io);
    await ae.idle();
    return { code, out: io.out(), err: io.err() };
  };
  return { srv, state, catalog, ae, run };
}

describe('cli: services and catalog commands', () => {
  let t: Awaited<ReturnType<typeof start>>;
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(async () => {
    t = await start();
    tmp = tempDir();
  });
  afterEach(async () => {
    t.ae.stop();
    await t.srv.close();
    tmp.cleanup();
  });

  it('services register from flags, then catalog services/nodes show it; deregister removes it', async () => {
    let r = await t.run('services', 'register', '-name=web', '-id=web-1', '-port=8080', '-tag=v1', '-tag=blue', '-meta=env=prod', '-address=192.0.2.10');
    expect(r, r.err).to.deep.include({ code: 0, out: 'Registered service: web\n' });
    expect(t.state.service('web-1')).to.deep.include({ Service: 'web', Port: 8080, Tags: ['v1', 'blue'], Meta: { env: 'prod' }, Address: '192.0.2.10' });

    r = await t.run('catalog', 'services');
    expect(r.out).to.equal('web\n');
    r = await t.run('catalog', 'services', '-tags');
    expect(r.out).to.equal('web  blue,v1\n');
    r = await t.run('catalog', 'nodes');
    expect(r.out).to.equal('Node      ID        Address    DC\ncli-node  abcdef12  192.0.2.9  dc1\n');
    r = await t.run('catalog', 'nodes', '-detailed');
    expect(r.out).to.equal(
      `Node      ID                                    Address    DC   TaggedAddresses  Meta\ncli-node  ${NODE_ID}  192.0.2.9  dc1  lan=192.0.2.9    rack=r9\n`,
    );
    r = await t.run('catalog', 'nodes', '-service=db');
    expect(r).to.deep.include({ code: 0, out: '', err: 'No nodes match the given query.\n' });
    r = await t.run('catalog', 'nodes', '-service=web');
    expect(r.out).to.contain('cli-node');
    r = await t.run('catalog', 'datacenters');
    expect(r.out).to.equal('dc1\n');

    r = await t.run('services', 'deregister', '-id=web-1');
    expect(r).to.deep.include({ code: 0, out: 'Deregistered service: web-1\n' });
    r = await t.run('catalog', 'services');
    expect(r.err).to.equal('No services match the given query.\n');
  });

  it('services register and deregister from a JSON file (service or services)', async () => {
    const one = tmp.file('web.json', JSON.stringify({ service: { name: 'web', port: 80, check: { ttl: '30s' } } }));
    const many = tmp.file('many.json', JSON.stringify({ Services: [{ Name: 'a', ID: 'a1' }, { Name: 'b' }] }));
    let r = await t.run('services', 'register', one);
    expect(r, r.err).to.deep.include({ code: 0, out: 'Registered service: web\n' });
    expect(t.state.checks().map((c) => c.CheckID)).to.deep.equal(['service:web']);
    r = await t.run('services', 'register', many);
    expect(r.out).to.equal('Registered service: a\nRegistered service: b\n');
    r = await t.run('catalog', 'services', '-node=cli-node');
    expect(r.out).to.equal('a\nb\nweb\n');
    r = await t.run('services', 'deregister', many);
    expect(r.out).to.equal('Deregistered service: a1\nDeregistered service: b\n');
    expect(t.state.services().map((s) => s.ID)).to.deep.equal(['web']);
  });

  it('errors are one line with a non-zero exit: agent 400s, bad flags, bad files, unknown IDs', async () => {
    let r = await t.run('services', 'register', '-port=80');
    expect(r.code).to.equal(1);
    expect(r.err).to.equal('Error: Service name must be specified with -name or a service definition file\n');
    r = await t.run('services', 'register', '-name=web', '-port=http');
    expect(r.err).to.equal('Error: -port: "http" is not a port number (0-65535)\n');
    r = await t.run('services', 'register', tmp.file('bad.json', JSON.stringify({ service: { name: 'web', port: '80' } })));
    expect(r.code).to.equal(1);
    expect(r.err).to.equal('Error: Unexpected response code: 400 (Request decode failed: Port: expected an integer, got "80")\n');
    r = await t.run('services', 'register', tmp.file('junk.json', '{'));
    expect(r.err).to.match(/^Error: .*junk.json: invalid JSON/);
    r = await t.run('services', 'register', tmp.file('empty.json', '{}'));
    expect(r.err).to.match(/no "service" or "services" definition found/);
    r = await t.run('services', 'deregister', '-id=ghost');
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/^Error: Unexpected response code: 404 \(Unknown service ID "ghost"/);
    r = await t.run('services', 'deregister');
    expect(r.err).to.equal('Error: Service ID must be specified with -id or a service definition file\n');
  });

  it('catalog services lists what other nodes registered too', async () => {
    await t.catalog.write({ type: CommandType.Register, req: { Node: 'other', Address: '192.0.2.2', Service: { Service: 'db', Tags: ['primary'] } } });
    const r = await t.run('catalog', 'services', '-tags');
    expect(r.out).to.equal('db  primary\n');
  });
});
