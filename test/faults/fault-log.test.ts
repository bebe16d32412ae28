import { expect } from 'chai';
import { FaultLog } from './harness/fault-log.js';

describe('faults: fault log (what excuses a gossip failed verdict)', () => {
  it('host faults are time windows, with a grace after they end; a fault never undone lasts until healAll', () => {
    let t = 0;
    const log = new FaultLog(() => t);
    t = 1000;
    log.hostFault('s1');
    t = 5000;
    log.hostFault('s1'); // already faulted: the window keeps its start
    log.hostHealed('s1');
    t = 6000;
    log.hostFault('s2');
    expect(log.windows).to.deep.equal([
      { host: 's1', from: 1000, to: 5000 },
      { host: 's2', from: 6000 },
    ]);
    expect(log.faultedAround('s1', 999, 2000)).to.equal(false);
    expect(log.faultedAround('s1', 3000, 2000)).to.equal(true);
    expect(log.faultedAround('s1', 7000, 2000)).to.equal(true);
    expect(log.faultedAround('s1', 7001, 2000)).to.equal(false);
    expect(log.faultedAround('s2', 60_000, 2000)).to.equal(true);
    t = 10_000;
    log.healAll();
    expect(log.faultedAround('s2', 12_001, 2000)).to.equal(false);
    expect([...log.hostFaulted()].sort()).to.deep.equal(['s1', 's2']);
  });

  it('cuts are unordered pairs; untouched hosts had neither a host fault nor a cut', () => {
    const log = new FaultLog(() => 0);
    log.cut('s3', 's1');
    log.hostFault('c1');
    expect(log.wasCut('s1', 's3')).to.equal(true);
    expect(log.wasCut('s3', 's1')).to.equal(true);
    expect(log.wasCut('s1', 's2')).to.equal(false);
    expect(log.untouched(['s1', 's2', 's3', 'c1', 'c2'])).to.deep.equal(['s2', 'c2']);
    // Members s1, s2, s3, c2 (c1 is faulted), each from the 4 other hosts, minus s1↔s3.
    expect(log.checkedPairs(['s1', 's2', 's3', 'c1', 'c2'])).to.equal(4 * 4 - 2);
  });

  it('a member cut from some host is excused for a moment after each network heal (its failure news crosses the healed cut before its refutation)', () => {
    let t = 0;
    const log = new FaultLog(() => t);
    log.cut('s1', 's4');
    expect(log.cutHealedAround('s4', 1000, 5000), 'no heal yet').to.equal(false);
    t = 10_000;
    log.networkHealed();
    expect(log.cutHealedAround('s4', 10_000, 5000)).to.equal(true);
    expect(log.cutHealedAround('s4', 15_000, 5000)).to.equal(true);
    expect(log.cutHealedAround('s4', 15_001, 5000), 'past the grace').to.equal(false);
    expect(log.cutHealedAround('s4', 9_999, 5000), 'before the heal').to.equal(false);
    expect(log.cutHealedAround('s2', 10_000, 5000), 'never cut from anyone').to.equal(false);
  });
});
