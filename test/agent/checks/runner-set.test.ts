import { expect } from 'chai';
import { CheckRunnerSet } from '../../../agent/checks/runner-set.js';
import type { CheckRunner } from '../../../agent/checks/runner.js';

/** A runner that logs its lifecycle; its stop() resolves when the test says so. */
function fakeRunner(checkId: string, log: string[], tag: string): CheckRunner & { release: () => void } {
  let release: () => void = () => {};
  const stopped = new Promise<void>((r) => (release = r));
  return {
    checkId,
    start: () => log.push(`start ${tag}`),
    stop: async () => {
      log.push(`stop ${tag}`);
      await stopped;
      log.push(`stopped ${tag}`);
    },
    release: () => release(),
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('checks: CheckRunnerSet', () => {
  it('a replacement starts only after the old runner has fully stopped', async () => {
    const set = new CheckRunnerSet();
    const log: string[] = [];
    const a = fakeRunner('web', log, 'a');
    const b = fakeRunner('web', log, 'b');
    await set.set(a);
    const replaced = set.set(b);
    await tick();
    expect(log).to.deep.equal(['start a', 'stop a']);
    a.release();
    await replaced;
    expect(log).to.deep.equal(['start a', 'stop a', 'stopped a', 'start b']);
    expect(set.ids()).to.deep.equal(['web']);
  });

  it('a remove() queued behind a replacement wins: the replacement never starts', async () => {
    const set = new CheckRunnerSet();
    const log: string[] = [];
    const a = fakeRunner('web', log, 'a');
    const b = fakeRunner('web', log, 'b');
    await set.set(a);
    const p1 = set.set(b);
    const p2 = set.remove('web');
    a.release();
    b.release();
    await Promise.all([p1, p2]);
    expect(log).to.not.include('start b');
    expect(set.has('web')).to.equal(false);
    expect(await p2).to.equal(true);
    expect(await set.remove('web')).to.equal(false);
  });

  it('stopAll() stops everything and refuses new runners', async () => {
    const set = new CheckRunnerSet();
    const log: string[] = [];
    const rs = ['a', 'b', 'c'].map((id) => fakeRunner(id, log, id));
    for (const r of rs) await set.set(r);
    const all = set.stopAll();
    for (const r of rs) r.release();
    await all;
    expect(log.filter((l) => l.startsWith('stopped')).sort()).to.deep.equal(['stopped a', 'stopped b', 'stopped c']);
    expect(set.ids()).to.deep.equal([]);
    let refused = '';
    await set.set(fakeRunner('d', log, 'd')).catch((e: Error) => (refused = e.message));
    expect(refused).to.equal('checks: runner set is stopped; cannot start check "d"');
  });
});
