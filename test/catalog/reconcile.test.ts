import { expect } from 'chai';
import { StateStore, CommandType, type Command } from '../../catalog/state/index.js';
import { reconcileCommands, SERF_CHECK_ID, type MemberView } from '../../catalog/reconcile.js';

/** Applies reconciliation until it has nothing left to do; returns how many commands it took. */
function converge(store: StateStore, members: MemberView[], reap = true): number {
  let n = 0;
  for (let round = 0; round < 5; round++) {
    const cmds = reconcileCommands(store, members, 'leader', reap);
    if (cmds.length === 0) return n;
    for (const c of cmds) {
      const r = store.apply(store.lastIndex + 1, c);
      expect(r.ok, JSON.stringify(r)).to.equal(true);
      n++;
    }
  }
  throw new Error('reconciliation did not converge');
}

const serf = (s: StateStore, node: string): string | undefined => s.nodeChecks(node).value.find((c) => c.CheckID === SERF_CHECK_ID)?.Status;

describe('leader member reconciliation (serfHealth)', () => {
  it('registers alive members with a passing serfHealth, then does nothing more', () => {
    const s = new StateStore();
    const members: MemberView[] = [
      { name: 'leader', id: '11111111-1111-1111-1111-111111111111', addr: '203.0.113.1', status: 'alive' },
      { name: 'web-1', id: '22222222-2222-2222-2222-222222222222', addr: '203.0.113.2', status: 'alive' },
    ];
    expect(converge(s, members)).to.equal(2);
    expect(serf(s, 'web-1')).to.equal('passing');
    expect(s.node('web-1').value!.Node.Address).to.equal('203.0.113.2');
    expect(s.nodeChecks('web-1').value[0]).to.include({ Name: 'Serf Health Status', Output: 'Agent alive and reachable' });
    expect(reconcileCommands(s, members, 'leader', true)).to.deep.equal([]);
  });

  it('marks a failed member critical and removes one that left, never the leader itself', () => {
    const s = new StateStore();
    const base: MemberView[] = [
      { name: 'leader', id: '', addr: '203.0.113.1', status: 'alive' },
      { name: 'a', id: '', addr: '203.0.113.2', status: 'alive' },
      { name: 'b', id: '', addr: '203.0.113.3', status: 'alive' },
    ];
    converge(s, base);
    converge(s, [base[0]!, { ...base[1]!, status: 'failed' }, { ...base[2]!, status: 'left' }]);
    expect(serf(s, 'a')).to.equal('critical');
    expect(s.node('b').value).to.equal(null);
    converge(s, [{ ...base[0]!, status: 'left' }]);
    expect(s.node('leader').value).to.not.equal(null);
  });

  it('keeps a node row written by the agent itself (SkipNodeUpdate) and leaves external nodes alone', () => {
    const s = new StateStore();
    const reg: Command = { type: CommandType.Register, req: { Node: 'a', Address: '203.0.113.199', NodeMeta: { rack: 'r1' } } };
    s.apply(1, reg);
    s.apply(2, { type: CommandType.Register, req: { Node: 'external', Address: '192.0.2.1' } });
    converge(s, [{ name: 'a', id: '', addr: '203.0.113.2', status: 'alive' }]);
    expect(s.node('a').value!.Node.Address).to.equal('203.0.113.199');
    expect(s.node('a').value!.Node.Meta).to.deep.equal({ rack: 'r1' });
    expect(serf(s, 'a')).to.equal('passing');
    expect(s.node('external').value).to.not.equal(null);
  });

  it('reaps nodes gossip no longer knows only when asked to', () => {
    const s = new StateStore();
    converge(s, [{ name: 'gone', id: '', addr: '203.0.113.5', status: 'alive' }]);
    converge(s, [], false);
    expect(s.node('gone').value).to.not.equal(null);
    converge(s, [], true);
    expect(s.node('gone').value).to.equal(null);
  });
});

describe('leader member reconciliation: the consul service', () => {
  it('registers the consul service on every server with its server port, once', () => {
    const s = new StateStore();
    const members: MemberView[] = [
      { name: 'leader', id: '', addr: '203.0.113.1', status: 'alive', serverPort: 8300 },
      { name: 'client', id: '', addr: '203.0.113.9', status: 'alive' },
    ];
    converge(s, members);
    expect(s.node('leader').value!.Services['consul']).to.include({ Service: 'consul', Port: 8300 });
    expect(s.node('client').value!.Services['consul']).to.equal(undefined);
    expect(reconcileCommands(s, members, 'leader', true)).to.deep.equal([]);
    converge(s, [{ ...members[0]!, serverPort: 9300 }, members[1]!]);
    expect(s.node('leader').value!.Services['consul']!.Port).to.equal(9300);
  });
});
