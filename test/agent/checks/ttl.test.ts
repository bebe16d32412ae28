import { expect } from 'chai';
import { TtlChecks, TtlCheckError } from '../../../agent/checks/ttl.js';
import { LocalState } from '../../../agent/local/state.js';
import { ManualClock } from '../../../agent/runtime/clock.js';
import { silentLogger } from '../../../agent/runtime/logger.js';
import { svc, ttlCheck } from '../../lib/local.js';

describe('agent/checks: TTL checks', () => {
  function setup() {
    const clock = new ManualClock();
    const local = LocalState.open({ logger: silentLogger() });
    const ttl = new TtlChecks(local, clock, silentLogger());
    ttl.start();
    return { clock, local, ttl };
  }

  it('turns critical with "TTL expired" when no report arrives within the TTL', () => {
    const { clock, local, ttl } = setup();
    local.addService(svc('web'), [ttlCheck('t', 'web', '10s')]);
    ttl.update('t', 'passing', '');
    clock.advance(9_999);
    expect(local.check('t')!.Status).to.equal('passing');
    clock.advance(1);
    expect(local.check('t')).to.deep.include({ Status: 'critical', Output: 'TTL expired' });
    expect(ttl.size).to.equal(0);
    clock.advance(60_000);
    expect(local.check('t')!.Status).to.equal('critical');
  });

  it('every report re-arms a full TTL; expiry quotes the last output', () => {
    const { clock, local, ttl } = setup();
    local.addService(svc('web'), [ttlCheck('t', 'web', '10s')]);
    for (let i = 0; i < 5; i++) {
      clock.advance(8_000);
      ttl.update('t', 'warning', `report ${i}`);
    }
    expect(local.check('t')!.Status).to.equal('warning');
    clock.advance(10_000);
    expect(local.check('t')).to.deep.include({
      Status: 'critical',
      Output: 'TTL expired (last output before timeout follows): report 4',
    });
  });

  it('arms checks already present at start, stops on removal, refuses non-TTL and unknown checks', () => {
    const clock = new ManualClock();
    const local = LocalState.open({ logger: silentLogger() });
    local.addService(svc('web'), [{ ...ttlCheck('t', 'web', '5s'), Status: 'passing' }, { ...ttlCheck('h', 'web'), Type: 'http', Definition: { HTTP: 'http://x', Interval: '10s' } }]);
    const ttl = new TtlChecks(local, clock, silentLogger());
    ttl.start();
    expect(ttl.size).to.equal(1);
    expect(() => ttl.update('h', 'passing', '')).to.throw(TtlCheckError, 'CheckID "h" does not have associated TTL');
    expect(() => ttl.update('zz', 'passing', '')).to.throw(TtlCheckError, /Unknown check ID "zz"/);
    local.removeCheck('t');
    expect(ttl.size).to.equal(0);
    expect(clock.pending()).to.equal(0);
  });

  it('registering an expired check again starts a fresh TTL', () => {
    const { clock, local, ttl } = setup();
    local.addCheck({ ...ttlCheck('t', '', '5s'), Status: 'passing' });
    clock.advance(5_000);
    expect(local.check('t')!.Status).to.equal('critical');
    local.addCheck({ ...ttlCheck('t', '', '5s'), Status: 'passing' });
    expect(ttl.size).to.equal(1);
    clock.advance(4_999);
    expect(local.check('t')!.Status).to.equal('passing');
    clock.advance(1);
    expect(local.check('t')).to.deep.include({ Status: 'critical', Output: 'TTL expired' });
  });

  it('truncates output to 4 KiB', () => {
    const { local, ttl } = setup();
    local.addService(svc('web'), [ttlCheck('t', 'web')]);
    ttl.update('t', 'passing', 'x'.repeat(5000));
    expect(local.check('t')!.Output).to.equal(`${'x'.repeat(4096)} ... (captured 4096 of 5000 bytes)`);
  });
});
