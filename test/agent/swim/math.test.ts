import { expect } from 'chai';
import { clampScore, scaleByAwareness, Awareness } from '../../../agent/swim/core/awareness.js';
import { BroadcastQueue, retransmitLimit } from '../../../agent/swim/core/broadcast.js';
import { MsgType } from '../../../agent/swim/core/messages.js';
import { makeConfig, msToTicks } from '../../../agent/swim/core/config.js';
import { consulStatusCode } from '../../../agent/swim/core/membership.js';
import { pushPullScale } from '../../../agent/swim/core/pushpull.js';
import { expectedConfirmations, remainingSuspicionTime, Suspicion, suspicionTimeout } from '../../../agent/swim/core/suspicion.js';

describe('swim math', () => {
  it('suspicionTimeout = mult × max(1, log10 n) × interval', () => {
    const table: [mult: number, n: number, interval: number, want: number][] = [
      [4, 0, 1000, 4000],
      [4, 1, 1000, 4000],
      [4, 10, 1000, 4000],
      [4, 100, 1000, 8000],
      [4, 1000, 1000, 12000],
      [4, 200, 1000, 9205],
      [3, 1000, 500, 4500],
      [4, 5, 100, 400],
    ];
    for (const [mult, n, interval, want] of table) {
      expect(suspicionTimeout(mult, n, interval), `mult=${mult} n=${n}`).to.equal(want);
    }
  });

  it('remainingSuspicionTime shrinks from max to min logarithmically in confirmations', () => {
    const table: [c: number, k: number, min: number, max: number, want: number][] = [
      [0, 3, 2000, 30000, 30000],
      [1, 3, 2000, 30000, 16000],
      [2, 3, 2000, 30000, 7810],
      [3, 3, 2000, 30000, 2000],
      [4, 3, 2000, 30000, 2000],
      [0, 0, 2000, 30000, 2000],
      [5, 0, 2000, 30000, 2000],
    ];
    for (const [c, k, min, max, want] of table) {
      expect(remainingSuspicionTime(c, k, min, max), `c=${c} k=${k}`).to.equal(want);
    }
  });

  it('expects k confirmations only when enough members exist to give them', () => {
    expect(expectedConfirmations(3, 2)).to.equal(0);
    expect(expectedConfirmations(3, 4)).to.equal(0);
    expect(expectedConfirmations(3, 5)).to.equal(3);
    expect(expectedConfirmations(3, 200)).to.equal(3);
  });

  it('Suspicion counts each confirmer once and never extends its deadline', () => {
    const s = new Suspicion(100, 3, 20, 120, 'a');
    expect(s.expiresAt()).to.equal(220);
    expect(s.confirm('a')).to.equal(false);
    expect(s.confirm('b')).to.equal(true);
    const d1 = s.expiresAt();
    expect(d1).to.be.lessThan(220);
    expect(s.confirm('b')).to.equal(false);
    expect(s.expiresAt()).to.equal(d1);
    s.confirm('c');
    s.confirm('d');
    expect(s.expiresAt()).to.equal(120);
    expect(s.confirm('e')).to.equal(false);
    expect(new Suspicion(7, 0, 20, 120, 'a').expiresAt()).to.equal(27);
  });

  it('retransmitLimit = mult × ceil(log10(n + 1))', () => {
    const table: [mult: number, n: number, want: number][] = [
      [4, 0, 0],
      [4, 1, 4],
      [4, 9, 4],
      [4, 10, 8],
      [4, 99, 8],
      [4, 100, 12],
      [4, 200, 12],
      [4, 1000, 16],
      [3, 50, 6],
    ];
    for (const [mult, n, want] of table) expect(retransmitLimit(mult, n), `mult=${mult} n=${n}`).to.equal(want);
  });

  it('awareness scales durations by (score + 1) and clamps the score to 0..max-1', () => {
    const table: [d: number, score: number, want: number][] = [
      [500, 0, 500],
      [500, 1, 1000],
      [500, 7, 4000],
      [1000, 3, 4000],
    ];
    for (const [d, score, want] of table) expect(scaleByAwareness(d, score)).to.equal(want);
    expect(clampScore(-3, 8)).to.equal(0);
    expect(clampScore(9, 8)).to.equal(7);
    const a = new Awareness(8);
    a.applyDelta(3);
    expect(a.scale(100)).to.equal(400);
    a.applyDelta(100);
    expect(a.getScore()).to.equal(7);
    a.applyDelta(-100);
    expect(a.getScore()).to.equal(0);
  });

  it('pushPullScale keeps the interval up to 32 members and then grows with log2', () => {
    const table: [n: number, want: number][] = [
      [1, 30],
      [32, 30],
      [33, 60],
      [64, 60],
      [65, 90],
      [128, 90],
      [200, 120],
      [1000, 180],
    ];
    for (const [n, want] of table) expect(pushPullScale(30, n), `n=${n}`).to.equal(want);
  });

  it('profiles: lan has memberlist LAN values; local is faster; durations round up to ticks', () => {
    const lan = makeConfig('lan');
    expect([lan.probeIntervalMs, lan.probeTimeoutMs, lan.indirectChecks, lan.gossipIntervalMs, lan.gossipNodes]).to.deep.equal([1000, 500, 3, 200, 3]);
    expect([lan.retransmitMult, lan.suspicionMult, lan.suspicionMaxTimeoutMult, lan.pushPullIntervalMs, lan.awarenessMaxMultiplier]).to.deep.equal([4, 4, 6, 30000, 8]);
    expect(lan.reconnectTimeoutMs).to.equal(72 * 3600 * 1000);
    expect(lan.compression, 'memberlist EnableCompression defaults to true').to.equal(true);
    expect(makeConfig('lan', { compression: false }).compression).to.equal(false);
    expect(() => makeConfig('lan', { compression: 1 as unknown as boolean })).to.throw(/swim: config compression/);
    const local = makeConfig('local');
    expect(local.probeIntervalMs).to.be.lessThan(lan.probeIntervalMs);
    expect(() => makeConfig('lan', { probeTimeoutMs: 2000 })).to.throw(/swim:/);
    expect(() => makeConfig('lan', { tickMs: 0 })).to.throw(/swim:/);
    expect(msToTicks(1000, 10)).to.equal(100);
    expect(msToTicks(15, 10)).to.equal(2);
    expect(msToTicks(1, 10)).to.equal(1);
    expect(msToTicks(0, 10)).to.equal(0);
  });

  it('maps member status to Consul status codes', () => {
    expect((['alive', 'suspect', 'left', 'failed'] as const).map(consulStatusCode)).to.deep.equal([1, 1, 3, 4]);
  });

  it('broadcast queue: replaces by key, sends least-transmitted first, drops at the limit, stays bounded', () => {
    const q = new BroadcastQueue(3);
    const sus = (node: string, inc: number) => ({ t: MsgType.Suspect, node, inc, from: 'x' }) as const;
    q.push('a', sus('a', 1));
    q.push('a', sus('a', 2));
    q.push('b', sus('b', 1));
    expect(q.size()).to.equal(2);
    expect(q.take(10_000, 2)).to.deep.equal([sus('b', 1), sus('a', 2)]);
    q.push('c', sus('c', 1));
    expect(q.take(10_000, 2)[0]).to.deep.equal(sus('c', 1));
    expect(q.size()).to.equal(1);
    expect(q.transmits('c')).to.equal(1);
    expect(q.take(0, 2)).to.deep.equal([]);
    for (let i = 0; i < 10; i++) q.push(`k${i}`, sus(`k${i}`, i));
    expect(q.size()).to.equal(3);
    expect(q.transmits('k9')).to.equal(0);
    expect(q.transmits('k0')).to.equal(undefined);
  });

  it('broadcast queue: an eager round sends each message once, to every target of that round, and counts no transmission', () => {
    const q = new BroadcastQueue();
    const sus = (node: string, inc: number) => ({ t: MsgType.Suspect, node, inc, from: 'x' }) as const;
    q.push('a', sus('a', 1));
    q.take(10_000, 8); // a timer round: counted
    q.push('b', sus('b', 1));
    // Eager round 1, three targets: both messages to each (a was sent by a timer round, not eagerly).
    for (let target = 0; target < 3; target++) expect(q.take(10_000, 2, 1), `target ${target}`).to.have.length(2);
    expect([q.transmits('a'), q.transmits('b')]).to.deep.equal([1, 0]);
    // Eager round 2 has nothing fresh, until news arrives; a newer message under a key is fresh again.
    expect(q.take(10_000, 2, 2)).to.deep.equal([]);
    q.push('b', sus('b', 2));
    expect(q.take(10_000, 2, 2)).to.deep.equal([sus('b', 2)]);
    // Timer rounds still send everything, up to the retransmit limit.
    expect(q.take(10_000, 2)).to.deep.equal([sus('b', 2), sus('a', 1)]);
    expect(q.take(10_000, 2)).to.deep.equal([sus('b', 2)]);
    expect(q.size()).to.equal(0);
  });
});
