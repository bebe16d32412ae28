import { expect } from 'chai';
import { ManualClock } from '../../agent/runtime/clock.js';
import { silentLogger } from '../../agent/runtime/logger.js';
import { LocalApplier } from '../../catalog/local-applier.js';
import { LeaderKVDuties, SESSION_TTL_MULTIPLIER } from '../../catalog/sessions.js';
import { CommandType, StateStore } from '../../catalog/state/index.js';
import { nodeReq } from './state/helpers.js';

const S1 = '11111111-1111-1111-1111-111111111111';
const S2 = '22222222-2222-2222-2222-222222222222';

async function setup(opts: { tombstoneTtlMs?: number; tombstoneGranularityMs?: number } = {}) {
  const store = new StateStore();
  const clock = new ManualClock();
  const applier = new LocalApplier(store);
  const duties = new LeaderKVDuties({ store, clock, propose: applier.propose, logger: silentLogger(), ...opts });
  await applier.propose({ type: CommandType.Register, req: nodeReq('n1', '203.0.113.1') });
  const create = (id: string, ttl: number) =>
    applier.propose({ type: CommandType.Session, req: { Op: 'create', Session: { ID: id, Node: 'n1', TTL: ttl, LockDelay: 1000, NodeChecks: [] } } });
  const renew = (id: string) => applier.propose({ type: CommandType.Session, req: { Op: 'renew', Session: { ID: id } } });
  /** Advances the clock and lets proposals made by timers apply. */
  const advance = async (ms: number) => {
    clock.advance(ms);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { store, clock, applier, duties, create, renew, advance };
}

describe('catalog/sessions: leader TTL timers and tombstone reaping', () => {
  it('destroys a TTL session after 2×TTL without renewal and releases its locks', async () => {
    const t = await setup();
    t.duties.start();
    await t.create(S1, 10_000);
    await t.applier.propose({ type: CommandType.KVS, req: { Op: 'lock', DirEnt: { Key: 'lock', Session: S1 }, Now: t.clock.now() } });
    expect(t.duties.timerCount).to.equal(1);
    await t.advance(10_000 * SESSION_TTL_MULTIPLIER - 1);
    expect(t.store.sessionGet(S1).value).to.not.equal(null);
    await t.advance(1);
    expect(t.store.sessionGet(S1).value).to.equal(null);
    expect(t.store.kvGet('lock').value).to.include({ Session: '' });
    expect(t.duties.timerCount).to.equal(0);
    t.duties.stop();
  });

  it('a renewal restarts the timer; sessions without TTL get none', async () => {
    const t = await setup();
    t.duties.start();
    await t.create(S1, 10_000);
    await t.create(S2, 0);
    expect(t.duties.timerCount).to.equal(1);
    for (let i = 0; i < 5; i++) {
      await t.advance(15_000);
      await t.renew(S1);
    }
    expect(t.store.sessionGet(S1).value).to.not.equal(null);
    await t.advance(20_000);
    expect(t.store.sessionGet(S1).value).to.equal(null);
    expect(t.store.sessionGet(S2).value).to.not.equal(null);
    t.duties.stop();
  });

  it('a new leader resets every TTL from the state (failover)', async () => {
    const t = await setup();
    await t.create(S1, 10_000); // created while no leader duties ran (another leader's term)
    await t.advance(60_000);
    expect(t.store.sessionGet(S1).value, 'nobody expires it without a leader').to.not.equal(null);
    t.duties.start();
    expect(t.duties.timerCount).to.equal(1);
    await t.advance(19_999);
    expect(t.store.sessionGet(S1).value).to.not.equal(null);
    await t.advance(1);
    expect(t.store.sessionGet(S1).value).to.equal(null);
    t.duties.stop();
    expect(t.clock.pending()).to.equal(0);
  });

  it('reaps tombstones older than the TTL, not newer ones', async () => {
    const t = await setup({ tombstoneTtlMs: 60_000, tombstoneGranularityMs: 10_000 });
    t.duties.start();
    await t.applier.propose({ type: CommandType.KVS, req: { Op: 'set', DirEnt: { Key: 'a' } } });
    await t.applier.propose({ type: CommandType.KVS, req: { Op: 'delete', DirEnt: { Key: 'a' } } });
    await t.advance(10_000); // hint: index covering the first delete
    await t.applier.propose({ type: CommandType.KVS, req: { Op: 'set', DirEnt: { Key: 'b' } } });
    await t.applier.propose({ type: CommandType.KVS, req: { Op: 'delete', DirEnt: { Key: 'b' } } });
    expect(t.store.tombstonesUpTo(1e9)).to.equal(2);
    await t.advance(50_000);
    expect(t.store.tombstonesUpTo(1e9)).to.equal(2);
    await t.advance(10_000);
    expect(t.store.tombstonesUpTo(1e9), 'the first is a TTL old').to.equal(1);
    await t.advance(10_000);
    expect(t.store.tombstonesUpTo(1e9)).to.equal(0);
    t.duties.stop();
  });
});
