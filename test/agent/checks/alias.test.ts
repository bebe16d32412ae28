import { expect } from 'chai';
import { AliasRunner, aliasBackoffMs, aliasResult, pollingAliasFetch, type AliasedCheck, type AliasFetch, type AliasQuery, type AliasSnapshot } from '../../../agent/checks/alias.js';
import type { AliasCheckSpec } from '../../../agent/checks/types.js';
import { ManualClock } from '../../../agent/runtime/clock.js';
import { base, recorder, waitFor } from './helpers.js';

const chk = (Name: string, Status: string, ServiceID = '', Node = 'n2', Output = `${Name} says ${Status}`): AliasedCheck => ({ Node, Name, Status, Output, ServiceID });

describe('checks: aliasResult (Consul\'s alias status rule)', () => {
  const svc: AliasQuery = { node: 'n2', local: false, serviceId: 'web1' };
  const node: AliasQuery = { node: 'n2', local: false };
  const TABLE: Array<[string, AliasQuery, AliasedCheck[], boolean | undefined, [string, string]]> = [
    ['no checks', svc, [], undefined, ['passing', 'No checks found.']],
    ['all passing', svc, [chk('a', 'passing', 'web1'), chk('serfHealth', 'passing')], true, ['passing', 'All checks passing.']],
    ['a warning', svc, [chk('a', 'passing', 'web1'), chk('b', 'warning', 'web1', 'n2', 'slow')], true, ['warning', 'Aliased check "b" failing: slow']],
    ['critical beats warning', svc, [chk('w', 'warning', 'web1'), chk('c', 'critical', 'web1', 'n2', 'down')], true, ['critical', 'Aliased check "c" failing: down']],
    ['first critical wins', svc, [chk('c1', 'critical', 'web1', 'n2', 'x'), chk('w', 'warning', 'web1'), chk('c2', 'critical', 'web1')], true, ['critical', 'Aliased check "c1" failing: x']],
    ['passing after warning keeps the warning', svc, [chk('w', 'warning', 'web1', 'n2', 'meh'), chk('p', 'passing', 'web1')], true, ['warning', 'Aliased check "w" failing: meh']],
    ['other services are ignored', svc, [chk('a', 'passing', 'web1'), chk('other', 'critical', 'db1')], true, ['passing', 'All checks passing.']],
    ['node-level checks count for a service alias', svc, [chk('a', 'passing', 'web1'), chk('serfHealth', 'critical', '', 'n2', 'Agent not live')], true, ['critical', 'Aliased check "serfHealth" failing: Agent not live']],
    ['a node alias sees only node-level checks', node, [chk('svc', 'critical', 'web1'), chk('serfHealth', 'passing')], undefined, ['passing', 'All checks passing.']],
    ['checks of another node are ignored', node, [chk('x', 'critical', '', 'n3')], undefined, ['passing', 'No checks found.']],
    ['missing service', svc, [chk('serfHealth', 'passing')], false, ['critical', 'Service web1 could not be found on node n2']],
    ['service with no checks but registered', svc, [chk('serfHealth', 'passing')], true, ['passing', 'All checks passing.']],
  ];
  for (const [name, q, checks, exists, want] of TABLE) {
    it(name, () => {
      const r = aliasResult(q, { checks, ...(exists !== undefined ? { serviceExists: exists } : {}) }, true);
      expect([r.status, r.output]).to.deep.equal(want);
    });
  }
});

/** A tiny blocking-query source: answers at once when its index is past minIndex, else waits. */
class Source {
  index = 1;
  checks: AliasedCheck[] = [];
  serviceExists = true;
  failNext = 0;
  queries: Array<{ q: AliasQuery; minIndex: number }> = [];
  private waiters: Array<() => void> = [];

  set(checks: AliasedCheck[]): void {
    this.checks = checks;
    this.index++;
    for (const w of this.waiters.splice(0)) w();
  }

  fetch: AliasFetch = (q, minIndex, signal) => {
    this.queries.push({ q, minIndex });
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new Error('no cluster leader'));
    }
    return new Promise<AliasSnapshot>((resolve, reject) => {
      const answer = (): void => resolve({ index: this.index, checks: [...this.checks], serviceExists: this.serviceExists });
      if (this.index > minIndex) return answer();
      this.waiters.push(answer);
      signal.addEventListener('abort', () => reject(new Error('aborted')));
    });
  };
}

function aliasSpec(over: Partial<AliasCheckSpec> = {}): AliasCheckSpec {
  return { ...base('alias'), kind: 'alias', aliasNode: 'n2', aliasService: 'web1', ...over };
}

describe('checks: AliasRunner (blocking-query loop, ManualClock for retries)', () => {
  it('mirrors the aliased service as it changes, reporting only changes', async () => {
    const src = new Source();
    src.checks = [chk('http', 'passing', 'web1')];
    const clock = new ManualClock(0);
    const rec = recorder();
    const r = new AliasRunner({ spec: aliasSpec(), localNode: 'n1', fetch: src.fetch, report: rec.report, clock });
    r.start();
    await waitFor(() => rec.reports.length === 1, 2000, 'first report');
    expect(rec.reports[0]).to.deep.equal(['passing', 'All checks passing.']);
    expect(src.queries[0]).to.deep.equal({ q: { node: 'n2', local: false, serviceId: 'web1' }, minIndex: 0 });
    src.set([chk('http', 'critical', 'web1', 'n2', 'HTTP GET http://x: 500')]);
    await waitFor(() => rec.reports.length === 2, 2000, 'second report');
    expect(rec.reports[1]).to.deep.equal(['critical', 'Aliased check "http" failing: HTTP GET http://x: 500']);
    // An index change without a health change reports nothing.
    src.set([chk('http', 'critical', 'web1', 'n2', 'HTTP GET http://x: 500'), chk('other', 'passing', 'db1')]);
    await waitFor(() => src.queries.length >= 4, 2000, 'fourth query');
    expect(rec.reports).to.have.length(2);
    src.set([chk('http', 'passing', 'web1')]);
    await waitFor(() => rec.reports.length === 3, 2000, 'third report');
    expect(rec.reports[2]).to.deep.equal(['passing', 'All checks passing.']);
    expect(src.queries.map((x) => x.minIndex)).to.deep.equal([0, 1, 2, 3, 4]);
    await r.stop();
  });

  it('aliases the local node when AliasNode is not set', async () => {
    const src = new Source();
    const clock = new ManualClock(0);
    const r = new AliasRunner({ spec: aliasSpec({ aliasNode: undefined }), localNode: 'me', fetch: src.fetch, report: () => {}, clock });
    r.start();
    await waitFor(() => src.queries.length === 2, 2000, 'queries');
    expect(src.queries[0]?.q).to.deep.equal({ node: 'me', local: true, serviceId: 'web1' });
    await r.stop();
    // Naming the node, even this one, queries the catalog (Consul does the same).
    const named = new AliasRunner({ spec: aliasSpec({ aliasNode: 'me' }), localNode: 'me', fetch: src.fetch, report: () => {}, clock });
    named.start();
    await waitFor(() => src.queries.length === 4, 2000, 'queries');
    expect(src.queries[2]?.q).to.deep.equal({ node: 'me', local: false, serviceId: 'web1' });
    await named.stop();
  });

  it('failed reads: retried at once, critical from the second in a row, back-off after three', async () => {
    const src = new Source();
    src.checks = [chk('http', 'passing', 'web1')];
    src.failNext = 5;
    const clock = new ManualClock(0);
    const rec = recorder();
    const r = new AliasRunner({ spec: aliasSpec(), localNode: 'n1', fetch: src.fetch, report: rec.report, clock, retryMs: 500 });
    r.start();
    // Failures 1-3 are retried without waiting; the 4th waits 2^1 × 500 ms.
    await waitFor(() => src.queries.length === 4 && clock.pending() === 1, 2000, 'back-off timer after 4 failures');
    expect(rec.reports).to.deep.equal([['critical', 'Failure checking aliased node or service: no cluster leader']]);
    clock.advance(999);
    expect(src.queries).to.have.length(4);
    clock.advance(1);
    // 5th failure waits 2^2 × 500 ms.
    await waitFor(() => src.queries.length === 5 && clock.pending() === 1, 2000, 'fifth failure');
    clock.advance(2000);
    await waitFor(() => rec.reports.length === 2, 2000, 'recovery');
    expect(rec.reports[1]).to.deep.equal(['passing', 'All checks passing.']);
    await r.stop();
  });

  it('back-off schedule', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100].map((n) => aliasBackoffMs(n, 1000))).to.deep.equal([0, 0, 0, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  });

  it('a source without blocking (index 0) is polled every retryMs, not in a tight loop', async () => {
    let calls = 0;
    const clock = new ManualClock(0);
    const rec = recorder();
    const fetch: AliasFetch = async () => {
      calls++;
      return { index: 0, checks: [chk('a', calls >= 3 ? 'warning' : 'passing', 'web1', 'n2', 'w')], serviceExists: true };
    };
    const r = new AliasRunner({ spec: aliasSpec(), localNode: 'n1', fetch, report: rec.report, clock, retryMs: 1000 });
    r.start();
    await waitFor(() => clock.pending() === 1, 2000, 'poll timer');
    expect(calls).to.equal(1);
    clock.advance(1000);
    await waitFor(() => calls === 2 && clock.pending() === 1, 2000, 'second poll');
    clock.advance(1000);
    await waitFor(() => rec.reports.length === 2, 2000, 'warning');
    expect(rec.reports).to.deep.equal([
      ['passing', 'All checks passing.'],
      ['warning', 'Aliased check "a" failing: w'],
    ]);
    await r.stop();
    expect(clock.pending()).to.equal(0);
  });

  it('pollingAliasFetch adapts a plain reader, including the service-exists check', async () => {
    const clock = new ManualClock(0);
    const rec = recorder();
    let registered = true;
    const fetch = pollingAliasFetch(
      async (q) => (q.node === 'n2' ? [chk('serfHealth', 'passing')] : []),
      async () => registered,
    );
    const r = new AliasRunner({ spec: aliasSpec(), localNode: 'n1', fetch, report: rec.report, clock, retryMs: 1000 });
    r.start();
    await waitFor(() => rec.reports.length === 1 && clock.pending() === 1, 2000, 'first poll');
    expect(rec.reports[0]).to.deep.equal(['passing', 'All checks passing.']);
    registered = false;
    clock.advance(1000);
    await waitFor(() => rec.reports.length === 2, 2000, 'service gone');
    expect(rec.reports[1]).to.deep.equal(['critical', 'Service web1 could not be found on node n2']);
    await r.stop();
  });

  it('stop() aborts a waiting blocking query and reports nothing more', async () => {
    const src = new Source();
    const clock = new ManualClock(0);
    const rec = recorder();
    const r = new AliasRunner({ spec: aliasSpec(), localNode: 'n1', fetch: src.fetch, report: rec.report, clock });
    r.start();
    await waitFor(() => src.queries.length === 2, 2000, 'blocking query');
    await r.stop();
    src.set([chk('x', 'critical', 'web1')]);
    await new Promise((res) => setTimeout(res, 20));
    expect(rec.reports).to.have.length(1);
  });
});
