import { expect } from 'chai';
import { checkKv, kvStep, type Operation } from './linearizability.js';

const w = (clientId: number, value: string, call: number, ret: number, key = 'k'): Operation => ({
  clientId, input: { op: 'write', key, value }, output: 'ok', call, return: ret,
});
const r = (clientId: number, output: string | null, call: number, ret: number, key = 'k'): Operation => ({
  clientId, input: { op: 'read', key }, output, call, return: ret,
});
const cas = (clientId: number, expected: string | null, value: string, output: boolean | undefined, call: number, ret: number): Operation => ({
  clientId, input: { op: 'cas', key: 'k', expected, value }, output, call, return: ret,
});

describe('linearizability checker (KV register)', () => {
  it('model: read, write and compare-and-set', () => {
    expect(kvStep(null, { op: 'read', key: 'k' }, null)).to.equal(null);
    expect(kvStep('a', { op: 'read', key: 'k' }, 'b')).to.equal(undefined);
    expect(kvStep('a', { op: 'write', key: 'k', value: 'b' }, 'ok')).to.equal('b');
    expect(kvStep('a', { op: 'cas', key: 'k', expected: 'a', value: 'c' }, true)).to.equal('c');
    expect(kvStep('a', { op: 'cas', key: 'k', expected: 'x', value: 'c' }, false)).to.equal('a');
    expect(kvStep('a', { op: 'cas', key: 'k', expected: 'x', value: 'c' }, true)).to.equal(undefined);
  });

  it('accepts a sequential history', () => {
    expect(checkKv([w(1, 'a', 0, 1), r(1, 'a', 2, 3), cas(1, 'a', 'b', true, 4, 5), r(1, 'b', 6, 7)])).to.equal('ok');
  });

  it('accepts concurrent operations that can be ordered', () => {
    // The read overlaps the write, so it may see either value.
    expect(checkKv([w(1, 'a', 0, 10), r(2, 'a', 1, 2)])).to.equal('ok');
    expect(checkKv([w(1, 'a', 0, 10), r(2, null, 1, 2)])).to.equal('ok');
    // Two overlapping writes; later reads agree on one winner.
    expect(checkKv([w(1, 'a', 0, 5), w(2, 'b', 1, 6), r(3, 'a', 7, 8), r(1, 'a', 9, 10)])).to.equal('ok');
  });

  it('rejects a stale read after a completed write', () => {
    expect(checkKv([w(1, 'a', 0, 1), r(2, null, 2, 3)])).to.equal('illegal');
  });

  it('rejects reads that disagree on the order of two writes', () => {
    expect(checkKv([w(1, 'a', 0, 5), w(2, 'b', 0, 5), r(3, 'a', 6, 7), r(4, 'b', 8, 9), r(3, 'a', 10, 11)])).to.equal('illegal');
  });

  it('rejects two successful compare-and-sets from the same value', () => {
    expect(checkKv([w(1, 'a', 0, 1), cas(2, 'a', 'b', true, 2, 5), cas(3, 'a', 'c', true, 3, 6)])).to.equal('illegal');
  });

  it('handles writes of unknown outcome: they may or may not have happened', () => {
    const lost: Operation = { ...w(1, 'x', 0, Infinity), output: undefined };
    expect(checkKv([lost, r(2, null, 5, 6), r(2, 'x', 7, 8)])).to.equal('ok');
    expect(checkKv([lost, r(2, null, 5, 6)])).to.equal('ok');
    expect(checkKv([lost, r(2, 'x', 5, 6), r(2, null, 7, 8)])).to.equal('illegal');
    expect(checkKv([{ ...cas(1, null, 'y', undefined, 0, Infinity) }, r(2, 'y', 3, 4)])).to.equal('ok');
  });

  it('checks keys independently', () => {
    expect(checkKv([w(1, 'a', 0, 1, 'k1'), w(1, 'b', 2, 3, 'k2'), r(2, 'a', 4, 5, 'k1'), r(2, null, 6, 7, 'k2')])).to.equal('illegal');
    expect(checkKv([w(1, 'a', 0, 1, 'k1'), w(1, 'b', 2, 3, 'k2'), r(2, 'a', 4, 5, 'k1'), r(2, 'b', 6, 7, 'k2')])).to.equal('ok');
  });

  it('scales to long concurrent histories thanks to memoization', () => {
    const h: Operation[] = [];
    let t = 0;
    let v: string | null = null;
    for (let i = 0; i < 300; i++) {
      // Groups of 4 overlapping writes, then a read of the last one (a legal order exists).
      const base = t;
      for (let c = 0; c < 4; c++) h.push(w(c, `v${i}.${c}`, base + c, base + 10 + c));
      v = `v${i}.3`;
      h.push(r(9, v, base + 20, base + 21));
      t = base + 22;
    }
    const start = Date.now();
    expect(checkKv(h, 10_000)).to.equal('ok');
    expect(Date.now() - start).to.be.below(10_000);
  });

  it('gives up with "unknown" when the time budget runs out', () => {
    // Many fully concurrent writes with a read that matches none: exhaustive search.
    const h: Operation[] = [];
    for (let c = 0; c < 22; c++) h.push(w(c, `v${c}`, 0, 100));
    h.push(r(99, 'none', 101, 102));
    expect(['unknown', 'illegal']).to.include(checkKv(h, 50));
  });
});
