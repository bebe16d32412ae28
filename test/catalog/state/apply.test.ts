import { expect } from 'chai';
import { StateStore } from '../../../catalog/state/store.js';
import { StateError, StateInvariantError } from '../../../catalog/state/errors.js';
import { CommandType } from '../../../catalog/state/commands.js';
import { applyEncoded, deregisterCmd, mustApply, nodeReq, registerCmd, serviceReq } from './helpers.js';

describe('catalog/state apply', () => {
  describe('Register', () => {
    it('creates a node with Consul fields and CreateIndex = ModifyIndex = raft index', () => {
      const s = new StateStore({ datacenter: 'dc7' });
      mustApply(s, 3, registerCmd({
        Node: 'n1', ID: '40e4a748-2192-161a-0510-9bf59fe950b5', Address: '203.0.113.1',
        TaggedAddresses: { wan: '1.2.3.4', lan: '203.0.113.1' }, NodeMeta: { rack: 'r1', env: 'prod' },
      }));
      const r = s.nodes();
      expect(r.index).to.equal(3);
      expect(r.value).to.deep.equal([{
        ID: '40e4a748-2192-161a-0510-9bf59fe950b5', Node: 'n1', Address: '203.0.113.1', Datacenter: 'dc7',
        TaggedAddresses: { lan: '203.0.113.1', wan: '1.2.3.4' }, Meta: { env: 'prod', rack: 'r1' },
        CreateIndex: 3, ModifyIndex: 3,
      }]);
      expect(Object.keys(r.value[0]!.Meta)).to.deep.equal(['env', 'rack']);
    });

    it('registers a service with defaults (ID from name, weights 1/1) in every read shape', () => {
      const s = new StateStore();
      mustApply(s, 1, registerCmd({ Node: 'n1', Address: '203.0.113.1', Service: { Service: 'web', Tags: ['v1', 'primary'], Port: 80 } }));
      const node = s.node('n1').value!;
      expect(node.Services.web).to.deep.equal({
        ID: 'web', Service: 'web', Tags: ['v1', 'primary'], Address: '', TaggedAddresses: {}, Meta: {}, Port: 80,
        Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: 1, ModifyIndex: 1,
      });
      const cs = s.serviceNodes('web').value;
      expect(cs).to.deep.equal([{
        ID: '', Node: 'n1', Address: '203.0.113.1', Datacenter: 'dc1', TaggedAddresses: {}, NodeMeta: {},
        ServiceKind: '', ServiceID: 'web', ServiceName: 'web', ServiceTags: ['v1', 'primary'], ServiceAddress: '',
        ServiceTaggedAddresses: {}, ServiceWeights: { Passing: 1, Warning: 1 }, ServiceMeta: {}, ServicePort: 80,
        ServiceEnableTagOverride: false, CreateIndex: 1, ModifyIndex: 1,
      }]);
      expect(s.services().value).to.deep.equal({ web: ['primary', 'v1'] });
      expect(s.nodeServices('n1').value!.Services.map((x) => x.ID)).to.deep.equal(['web']);
    });

    it('keeps Kind only when set (NodeService omits an empty Kind)', () => {
      const s = new StateStore();
      mustApply(s, 1, registerCmd(serviceReq('n1', '203.0.113.1', 'p1', 'web-proxy', { Kind: 'connect-proxy' })));
      expect(s.node('n1').value!.Services.p1!.Kind).to.equal('connect-proxy');
      expect(s.serviceNodes('web-proxy').value[0]!.ServiceKind).to.equal('connect-proxy');
    });

    it('registers checks (Check and Checks), defaulting Status to critical and CheckID to Name', () => {
      const s = new StateStore();
      mustApply(s, 1, registerCmd({
        ...serviceReq('n1', '203.0.113.1', 'web1', 'web', { Tags: ['a'] }),
        Check: { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing' },
        Checks: [{ Name: 'web-http', ServiceID: 'web1', Definition: { HTTP: 'http://x/health', Interval: '10s' } }],
      }));
      const checks = s.nodeChecks('n1').value;
      expect(checks.map((c) => [c.CheckID, c.Status, c.ServiceID, c.ServiceName, c.ServiceTags])).to.deep.equal([
        ['serfHealth', 'passing', '', '', []],
        ['web-http', 'critical', 'web1', 'web', ['a']],
      ]);
      expect(checks[1]!.Definition).to.deep.equal({ HTTP: 'http://x/health', Interval: '10s' });
      expect(checks[0]!.Definition).to.deep.equal({});
      expect(checks[0]!.Node).to.equal('n1');
    });

    it('is idempotent: an identical registration changes no index', () => {
      const s = new StateStore();
      const req = { ...serviceReq('n1', '203.0.113.1', 'web1', 'web'), Check: { CheckID: 'c', ServiceID: 'web1', Status: 'passing' } };
      mustApply(s, 1, registerCmd(req));
      mustApply(s, 2, registerCmd(req));
      expect(s.nodes().index).to.equal(1);
      expect(s.checkServiceNodes('web').index).to.equal(1);
      expect(s.checkServiceNodes('web').value[0]!.Service.ModifyIndex).to.equal(1);
      expect(s.lastIndex).to.equal(2);
    });

    it('updates rows in place: CreateIndex kept, ModifyIndex moved', () => {
      const s = new StateStore();
      mustApply(s, 1, registerCmd(serviceReq('n1', '203.0.113.1', 'web1', 'web')));
      mustApply(s, 5, registerCmd(serviceReq('n1', '203.0.113.1', 'web1', 'web', { Port: 81 })));
      const svc = s.node('n1').value!.Services.web1!;
      expect([svc.Port, svc.CreateIndex, svc.ModifyIndex]).to.deep.equal([81, 1, 5]);
      expect(s.node('n1').value!.Node.ModifyIndex).to.equal(1);
    });

    it('refreshes ServiceName/ServiceTags of checks when the service changes', () => {
      const s = new StateStore();
      mustApply(s, 1, registerCmd({ ...serviceReq('n1', '203.0.113.1', 'web1', 'web', { Tags: ['a'] }), Check: { CheckID: 'c', ServiceID: 'web1' } }));
      mustApply(s, 2, registerCmd(serviceReq('n1', '203.0.113.1', 'web1', 'web', { Tags: ['b'] })));
      const c = s.serviceChecks('web').value[0]!;
      expect([c.ServiceTags, c.ModifyIndex, c.CreateIndex]).to.deep.equal([['b'], 2, 1]);
    });

    it('treats node and service names case-insensitively, IDs case-sensitively', () => {
      const s = new StateStore();
      mustApply(s, 1, registerCmd(serviceReq('Node1', '203.0.113.1', 'Web1', 'Web')));
      expect(s.node('node1').value!.Node.Node).to.equal('Node1');
      expect(s.serviceNodes('WEB').value.map((x) => x.ServiceID)).to.deep.equal(['Web1']);
      mustApply(s, 2, registerCmd(serviceReq('node1', '203.0.113.1', 'web1', 'web')));
      expect(s.nodes().value).to.have.length(1);
      expect(Object.keys(s.node('NODE1').value!.Services).sort()).to.deep.equal(['Web1', 'web1']);
    });

    it('SkipNodeUpdate leaves an existing node alone but still creates a missing one', () => {
      const s = new StateStore();
      mustApply(s, 1, registerCmd({ Node: 'n1', Address: '203.0.113.1', NodeMeta: { a: '1' } }));
      mustApply(s, 2, registerCmd({ Node: 'n1', SkipNodeUpdate: true, Service: { Service: 'db' } }));
      expect(s.node('n1').value!.Node).to.include({ Address: '203.0.113.1', ModifyIndex: 1 });
      expect(s.node('n1').value!.Node.Meta).to.deep.equal({ a: '1' });
      mustApply(s, 3, registerCmd({ Node: 'n2', Address: '203.0.113.2', SkipNodeUpdate: true }));
      expect(s.node('n2').value).to.not.equal(null);
      const r = applyEncoded(s, 4, registerCmd({ Node: 'n3', SkipNodeUpdate: true }));
      expect(r.ok).to.equal(false);
    });

    const invalid: Array<[string, Parameters<typeof registerCmd>[0], RegExp]> = [
      ['missing node name', { Node: '', Address: '1.1.1.1' }, /Must provide node/],
      ['missing address', { Node: 'n9' }, /Must provide address/],
      ['bad node ID', { Node: 'n9', Address: '1.1.1.1', ID: 'nope' }, /Bad node ID/],
      ['missing service name', { Node: 'n9', Address: '1.1.1.1', Service: { Service: '' } }, /service name/],
      ['port out of range', { Node: 'n9', Address: '1.1.1.1', Service: { Service: 'x', Port: 70000 } }, /Port/],
      ['check for a missing service', { Node: 'n9', Address: '1.1.1.1', Check: { CheckID: 'c', ServiceID: 'ghost' } }, /Missing service registration.*ghost/],
      ['check on another node', { Node: 'n9', Address: '1.1.1.1', Check: { Node: 'other', CheckID: 'c' } }, /does not match/],
      ['check without ID or name', { Node: 'n9', Address: '1.1.1.1', Checks: [{ Status: 'passing' }] }, /CheckID or Name/],
      ['bad check status', { Node: 'n9', Address: '1.1.1.1', Check: { CheckID: 'c', Status: 'fine' } }, /invalid Status "fine"/],
    ];
    for (const [what, req, msg] of invalid) {
      it(`rejects ${what} as an error result, changing nothing`, () => {
        const s = new StateStore();
        mustApply(s, 1, registerCmd(serviceReq('n1', '203.0.113.1', 'web1', 'web')));
        const r = applyEncoded(s, 2, registerCmd(req));
        expect(r.ok).to.equal(false);
        if (!r.ok) expect(r.error).to.match(msg);
        expect(s.nodes().value.map((n) => n.Node)).to.deep.equal(['n1']);
        expect(s.nodes().index).to.equal(1);
        expect(s.tableIndexOf('checks')).to.equal(0);
        expect(s.serviceNodes('web').value.map((x) => x.Node)).to.deep.equal(['n1']);
      });
    }

    it('rolls back the node and service when a later check in the same request is invalid', () => {
      const s = new StateStore();
      const r = applyEncoded(s, 1, registerCmd({ ...serviceReq('n1', '203.0.113.1', 'web1', 'web'), Checks: [{ CheckID: 'ok', ServiceID: 'web1' }, { CheckID: 'bad', ServiceID: 'nope' }] }));
      expect(r.ok).to.equal(false);
      expect(s.nodes().value).to.deep.equal([]);
      expect(s.services().value).to.deep.equal({});
      expect(s.checksInState('any').value).to.deep.equal([]);
      expect([s.tableIndexOf('nodes'), s.tableIndexOf('services'), s.tableIndexOf('checks')]).to.deep.equal([0, 0, 0]);
    });

    it('refuses a node ID that aliases another node', () => {
      const s = new StateStore();
      const id = '40e4a748-2192-161a-0510-9bf59fe950b5';
      mustApply(s, 1, registerCmd({ Node: 'n1', Address: '203.0.113.1', ID: id }));
      const r = applyEncoded(s, 2, registerCmd({ Node: 'n2', Address: '203.0.113.2', ID: id.toUpperCase() }));
      expect(r).to.deep.include({ ok: false });
      if (!r.ok) expect(r.error).to.match(/aliases existing node "n1"/);
    });
  });

  describe('Deregister', () => {
    function populated(): StateStore {
      const s = new StateStore();
      mustApply(s, 1, registerCmd(nodeReq('n1', '203.0.113.1')));
      mustApply(s, 2, registerCmd({ ...serviceReq('n1', '203.0.113.1', 'web1', 'web'), Check: { CheckID: 'web1-c', ServiceID: 'web1', Status: 'passing' } }));
      mustApply(s, 3, registerCmd({ ...serviceReq('n1', '203.0.113.1', 'db1', 'db'), Check: { CheckID: 'db1-c', ServiceID: 'db1', Status: 'passing' } }));
      mustApply(s, 4, registerCmd(nodeReq('n2', '203.0.113.2')));
      return s;
    }

    it('removes a service with its checks and moves indexes forward', () => {
      const s = populated();
      mustApply(s, 10, deregisterCmd({ Node: 'n1', ServiceID: 'web1' }));
      expect(s.serviceNodes('web').value).to.deep.equal([]);
      expect(s.nodeChecks('n1').value.map((c) => c.CheckID)).to.deep.equal(['db1-c', 'serfHealth']);
      expect(s.serviceNodes('web').index).to.equal(10);
      expect(s.checkServiceNodes('web').index).to.equal(10);
      expect(s.services().index).to.equal(10);
      expect(s.tableIndexOf('checks')).to.equal(10);
      expect(s.node('n1').index).to.equal(10);
      expect(s.serviceNodes('db').index).to.equal(3);
    });

    it('removes a single check', () => {
      const s = populated();
      mustApply(s, 10, deregisterCmd({ Node: 'n1', CheckID: 'db1-c' }));
      expect(s.serviceChecks('db').value).to.deep.equal([]);
      expect(s.serviceNodes('db').value).to.have.length(1);
      expect(s.checkServiceNodes('db').index).to.equal(10);
    });

    it('removes a node with its services and checks', () => {
      const s = populated();
      mustApply(s, 10, deregisterCmd({ Node: 'N1' }));
      expect(s.nodes().value.map((n) => n.Node)).to.deep.equal(['n2']);
      expect(s.services().value).to.deep.equal({});
      expect(s.checksInState('any').value.map((c) => c.Node)).to.deep.equal(['n2']);
      expect(s.node('n1').value).to.equal(null);
      expect(s.node('n1').index).to.equal(10);
      expect(s.nodes().index).to.equal(10);
      expect(s.checkServiceNodes('web').index).to.equal(10);
    });

    it('is a no-op for an unknown node, service or check', () => {
      const s = populated();
      mustApply(s, 10, deregisterCmd({ Node: 'ghost' }));
      mustApply(s, 11, deregisterCmd({ Node: 'n1', ServiceID: 'ghost' }));
      mustApply(s, 12, deregisterCmd({ Node: 'n1', CheckID: 'ghost' }));
      expect([s.nodes().index, s.services().index, s.tableIndexOf('checks')]).to.deep.equal([4, 3, 4]);
    });
  });

  describe('Batch', () => {
    it('applies all commands at one index, or none', () => {
      const s = new StateStore();
      mustApply(s, 1, { type: CommandType.Batch, commands: [registerCmd(nodeReq('a', '203.0.113.1')), registerCmd(nodeReq('b', '203.0.113.2'))] });
      expect(s.nodes().value.map((n) => [n.Node, n.CreateIndex])).to.deep.equal([['a', 1], ['b', 1]]);
      const r = applyEncoded(s, 2, { type: CommandType.Batch, commands: [deregisterCmd({ Node: 'a' }), registerCmd({ Node: 'c' })] });
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error).to.match(/^batch command 1: Must provide address/);
      expect(s.nodes().value.map((n) => n.Node)).to.deep.equal(['a', 'b']);
    });
  });

  it('throws on an index that does not move forward (broken invariant)', () => {
    const s = new StateStore();
    mustApply(s, 5, registerCmd(nodeReq('a', '203.0.113.1')));
    expect(() => s.apply(5, registerCmd(nodeReq('b', '203.0.113.2')))).to.throw(StateInvariantError, /does not move past 5/);
    expect(() => s.apply(4, registerCmd(nodeReq('b', '203.0.113.2')))).to.throw(StateInvariantError);
  });

  it('returns an error result for undecodable entry data', () => {
    const s = new StateStore();
    const r = s.applyEntry(1, new Uint8Array([0xc1, 0x00]));
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.error).to.match(/^catalog\/state: bad command/);
    expect(s.lastIndex).to.equal(1);
  });
});

describe('catalog/state reads', () => {
  function cluster(): StateStore {
    const s = new StateStore();
    let i = 0;
    mustApply(s, ++i, registerCmd({ ...nodeReq('n1', '203.0.113.1'), NodeMeta: { env: 'prod' } }));
    mustApply(s, ++i, registerCmd(nodeReq('n2', '203.0.113.2')));
    mustApply(s, ++i, registerCmd(nodeReq('n3', '203.0.113.3', 'critical')));
    mustApply(s, ++i, registerCmd({ SkipNodeUpdate: true, ...serviceReq('n1', '203.0.113.1', 'web', 'web', { Tags: ['v1', 'Primary'], Address: '198.51.100.201' }), Check: { CheckID: 'w1', ServiceID: 'web', Status: 'passing' } }));
    mustApply(s, ++i, registerCmd({ SkipNodeUpdate: true, ...serviceReq('n2', '203.0.113.2', 'web', 'web', { Tags: ['v1'] }), Check: { CheckID: 'w2', ServiceID: 'web', Status: 'warning' } }));
    mustApply(s, ++i, registerCmd({ SkipNodeUpdate: true, ...serviceReq('n3', '203.0.113.3', 'web', 'web', { Tags: ['v2'] }) }));
    mustApply(s, ++i, registerCmd({ SkipNodeUpdate: true, ...serviceReq('n2', '203.0.113.2', 'db', 'db', { TaggedAddresses: { wan: { Address: '5.5.5.5', Port: 5432 } } }) }));
    return s;
  }

  it('filters service nodes by all tags, case-insensitively', () => {
    const s = cluster();
    expect(s.serviceNodes('web').value.map((x) => x.Node)).to.deep.equal(['n1', 'n2', 'n3']);
    expect(s.serviceNodes('web', { tags: ['v1'] }).value.map((x) => x.Node)).to.deep.equal(['n1', 'n2']);
    expect(s.serviceNodes('web', { tags: ['v1', 'primary'] }).value.map((x) => x.Node)).to.deep.equal(['n1']);
    expect(s.serviceNodes('web', { tags: ['nope'] }).value).to.deep.equal([]);
  });

  it('health service includes node-level checks and honours passingOnly', () => {
    const s = cluster();
    const all = s.checkServiceNodes('web').value;
    expect(all.map((x) => [x.Node.Node, x.Checks.map((c) => `${c.CheckID}:${c.Status}`)])).to.deep.equal([
      ['n1', ['serfHealth:passing', 'w1:passing']],
      ['n2', ['serfHealth:passing', 'w2:warning']],
      ['n3', ['serfHealth:critical']],
    ]);
    expect(all[0]!.Node.Meta).to.deep.equal({ env: 'prod' });
    expect(all[0]!.Service.Address).to.equal('198.51.100.201');
    expect(s.checkServiceNodes('web', { passingOnly: true }).value.map((x) => x.Node.Node)).to.deep.equal(['n1']);
    expect(s.checkServiceNodes('web', { tags: ['v2'] }).value.map((x) => x.Node.Node)).to.deep.equal(['n3']);
  });

  it('serviceChecks returns only service checks; checksInState filters by status', () => {
    const s = cluster();
    expect(s.serviceChecks('web').value.map((c) => c.CheckID)).to.deep.equal(['w1', 'w2']);
    expect(s.checksInState('critical').value.map((c) => `${c.Node}/${c.CheckID}`)).to.deep.equal(['n3/serfHealth']);
    expect(s.checksInState('warning').value.map((c) => c.CheckID)).to.deep.equal(['w2']);
    expect(s.checksInState('any').value).to.have.length(5);
    expect(() => s.checksInState('bogus' as 'any')).to.throw(StateError, /invalid check state "bogus"/);
  });

  it('serviceInstances gives DNS what it needs, with the worst check status', () => {
    const s = cluster();
    const v = s.serviceInstances('web').value;
    expect(v.map((x) => [x.Node, x.NodeAddress, x.ServiceAddress, x.ServicePort, x.Status])).to.deep.equal([
      ['n1', '203.0.113.1', '198.51.100.201', 8080, 'passing'],
      ['n2', '203.0.113.2', '', 8080, 'warning'],
      ['n3', '203.0.113.3', '', 8080, 'critical'],
    ]);
    expect(v[0]!.NodeMeta).to.deep.equal({ env: 'prod' });
    expect(s.serviceInstances('web', { tags: ['primary'] }).value).to.have.length(1);
  });

  it('allServiceNodes lists every instance in CatalogService shape', () => {
    const s = cluster();
    expect(s.allServiceNodes().value.map((x) => `${x.Node}/${x.ServiceID}/${x.ServiceName}`)).to.deep.equal(['n1/web/web', 'n2/db/db', 'n2/web/web', 'n3/web/web']);
    expect(s.allServiceNodes().index).to.equal(7);
  });

  it('lookupAddress finds nodes and services by IP (PTR)', () => {
    const s = cluster();
    expect(s.lookupAddress('203.0.113.2').value.Nodes.map((n) => n.Node)).to.deep.equal(['n2']);
    expect(s.lookupAddress('198.51.100.201').value.Services.map((x) => `${x.Node}/${x.ServiceID}`)).to.deep.equal(['n1/web']);
    expect(s.lookupAddress('5.5.5.5').value.Services.map((x) => x.ServiceName)).to.deep.equal(['db']);
    expect(s.lookupAddress('9.9.9.9').value).to.deep.equal({ Nodes: [], Services: [] });
  });

  it('reports per-service and per-node indexes, not the table max', () => {
    const s = cluster();
    expect(s.serviceNodes('web').index).to.equal(6);
    expect(s.serviceNodes('db').index).to.equal(7);
    expect(s.node('n1').index).to.equal(4);
    expect(s.nodes().index).to.equal(3);
    // A node-level check change on n1 moves the health index of services on n1.
    mustApply(s, 8, registerCmd({ Node: 'n1', SkipNodeUpdate: true, Check: { CheckID: 'serfHealth', Status: 'critical' } }));
    expect(s.checkServiceNodes('web').index).to.equal(8);
    expect(s.checkServiceNodes('db').index).to.equal(7);
    expect(s.nodeChecks('n1').index).to.equal(8);
    expect(s.nodeChecks('n2').index).to.equal(7);
    // Unknown names fall back to the tables' max.
    expect(s.serviceNodes('ghost').index).to.equal(7);
    expect(s.checkServiceNodes('ghost').index).to.equal(8);
  });

  it('returns copies: changing a view does not change the state', () => {
    const s = cluster();
    s.serviceNodes('web').value[0]!.ServiceTags.push('x');
    s.node('n1').value!.Node.Meta.env = 'dev';
    expect(s.serviceNodes('web').value[0]!.ServiceTags).to.deep.equal(['v1', 'Primary']);
    expect(s.node('n1').value!.Node.Meta.env).to.equal('prod');
  });
});
