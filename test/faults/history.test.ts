import { expect } from 'chai';
import { History } from './harness/history.js';
import { checkKv } from '../lib/linearizability.js';

describe('faults: Knossos-style history', () => {
  const ok = (value: unknown) => async () => ({ type: 'ok' as const, value });
  const failed = (type: 'fail' | 'info') => async () => ({ type, error: 'boom' });

  it('maps invoke/ok to finished operations, info to open-ended ones, and drops fails and unknown reads', async () => {
    const h = new History();
    await h.run(1, 'write', { op: 'write', key: 'k', value: 'a' }, 'n1', 'k', ok('ok'));
    await h.run(2, 'write', { op: 'write', key: 'k', value: 'b' }, 'n2', 'k', failed('info'));
    await h.run(3, 'write', { op: 'write', key: 'k', value: 'c' }, 'n3', 'k', failed('fail'));
    await h.run(4, 'read', { op: 'read', key: 'k' }, 'n1', 'k', failed('info'));
    await h.run(5, 'acquire', { op: 'cas', key: 'l', expected: null, value: 's1' }, 'n1', 'l', ok(true));
    await h.run(6, 'add', 'acked-1', 'n1', undefined, ok('acked-1'));
    await h.run(7, 'write', { op: 'write', key: 'k', value: 'd' }, 'n1', 'k', () => Promise.reject(new Error('socket hang up')));
    const ops = h.kvOperations();
    expect(ops.map((o) => [o.clientId, o.output, Number.isFinite(o.return)])).to.deep.equal([
      [1, 'ok', true],
      [2, undefined, false],
      [5, true, true],
      [7, undefined, false],
    ]);
    expect(h.counts()).to.deep.equal({ invoke: 7, ok: 3, fail: 1, info: 3 });
    expect(h.byOperation()).to.include({ 'write:ok': 1, 'write:info': 2, 'write:fail': 1, 'acquire:ok': 1 });
  });

  it('a stale read recorded after an acknowledged write is not linearizable', async () => {
    const h = new History();
    await h.run(1, 'write', { op: 'write', key: 'k', value: 'a' }, 'n1', 'k', ok('ok'));
    await h.run(1, 'write', { op: 'write', key: 'k', value: 'b' }, 'n1', 'k', ok('ok'));
    await h.run(2, 'read', { op: 'read', key: 'k' }, 'n5', 'k', ok('a'));
    expect(checkKv(h.kvOperations())).to.equal('illegal');
  });

  it('refuses a completion without an invoke', () => {
    const h = new History();
    h.events.push({ process: 9, type: 'ok', f: 'read', value: null, time: 0 });
    expect(() => h.pairs()).to.throw(/completion without invoke/);
  });
});
