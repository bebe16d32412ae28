import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IntervalRunner, effectiveTimeoutMs } from '../../../agent/checks/runner.js';
import { probeHttp } from '../../../agent/checks/http.js';
import type { HttpCheckSpec, ProbeResult } from '../../../agent/checks/types.js';
import { ManualClock } from '../../../agent/runtime/clock.js';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { base, recorder, waitFor } from './helpers.js';

/** A probe whose runs the test finishes by hand. */
function manualProbe(): { probe: (s: AbortSignal) => Promise<ProbeResult>; started: number; finish: (r: ProbeResult) => void; inFlight: () => number; aborted: number } {
  const pending: Array<(r: ProbeResult) => void> = [];
  const state = {
    started: 0,
    aborted: 0,
    probe: (signal: AbortSignal) =>
      new Promise<ProbeResult>((resolve) => {
        state.started++;
        pending.push(resolve);
        signal.addEventListener('abort', () => {
          state.aborted++;
          resolve({ status: 'critical', output: 'aborted' });
        });
      }),
    finish: (r: ProbeResult) => {
      const f = pending.shift();
      if (!f) throw new Error('no probe in flight');
      f(r);
    },
    inFlight: () => pending.length,
  };
  return state;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('checks: IntervalRunner scheduling (ManualClock)', () => {
  const seed = 7;

  it(`first run after a random stagger within the interval, then every interval after the previous run finished (seed ${seed})`, async () => {
    const clock = new ManualClock(0);
    const rng = new SeededRng(seed);
    const expectedStagger = Math.floor(new SeededRng(seed).next() * 1000);
    const p = manualProbe();
    const rec = recorder();
    const r = new IntervalRunner({ ...base('c'), checkId: 'c', intervalMs: 1000, probe: p.probe, report: rec.report, clock, rng });
    r.start();
    clock.advance(expectedStagger - 1);
    expect(p.started, `seed ${seed}`).to.equal(0);
    clock.advance(1);
    expect(p.started, `seed ${seed}`).to.equal(1);
    // A slow probe: time passes, but no second run overlaps it.
    clock.advance(5000);
    expect(p.started).to.equal(1);
    p.finish({ status: 'passing', output: 'one' });
    await tick();
    expect(rec.reports).to.deep.equal([['passing', 'one']]);
    clock.advance(999);
    expect(p.started).to.equal(1);
    clock.advance(1);
    expect(p.started).to.equal(2);
    p.finish({ status: 'critical', output: 'two' });
    await tick();
    expect(rec.reports).to.deep.equal([
      ['passing', 'one'],
      ['critical', 'two'],
    ]);
    await r.stop();
  });

  it('staggers differ across checks and stay within the interval (seeds 1..50)', () => {
    for (let s = 1; s <= 50; s++) {
      const clock = new ManualClock(0);
      const p = manualProbe();
      const r = new IntervalRunner({ ...base('c'), checkId: 'c', intervalMs: 10_000, probe: p.probe, report: () => {}, clock, rng: new SeededRng(s) });
      r.start();
      clock.advance(9_999);
      expect(p.started, `seed ${s}`).to.equal(1);
      void r.stop();
    }
  });

  it('damps results before reporting', async () => {
    const clock = new ManualClock(0);
    const p = manualProbe();
    const rec = recorder();
    const r = new IntervalRunner({ ...base('c', { failuresBeforeCritical: 2, failuresBeforeWarning: 2 }), intervalMs: 100, probe: p.probe, report: rec.report, clock, rng: new SeededRng(1) });
    r.start();
    for (const st of ['passing', 'critical', 'critical', 'passing'] as const) {
      clock.advance(100);
      p.finish({ status: st, output: st });
      await tick();
    }
    expect(rec.reports).to.deep.equal([
      ['passing', 'passing'],
      ['critical', 'critical'],
      ['passing', 'passing'],
    ]);
    await r.stop();
  });

  it('stop() aborts the probe in flight, waits for it, and nothing is reported afterwards', async () => {
    const clock = new ManualClock(0);
    const p = manualProbe();
    const rec = recorder();
    const r = new IntervalRunner({ ...base('c'), intervalMs: 100, probe: p.probe, report: rec.report, clock, rng: new SeededRng(3) });
    r.start();
    clock.advance(100);
    expect(p.started).to.equal(1);
    await r.stop();
    expect(p.aborted).to.equal(1);
    expect(rec.reports).to.deep.equal([]);
    expect(clock.pending()).to.equal(0);
    clock.advance(10_000);
    expect(p.started).to.equal(1);
  });

  it('a probe that throws is reported critical', async () => {
    const clock = new ManualClock(0);
    const rec = recorder();
    const r = new IntervalRunner({
      ...base('c'),
      intervalMs: 100,
      probe: () => Promise.reject(new Error('bug')),
      report: rec.report,
      clock,
      rng: new SeededRng(3),
    });
    r.start();
    clock.advance(100);
    await tick();
    expect(rec.reports).to.deep.equal([['critical', 'checks: probe failed: bug']]);
    await r.stop();
  });

  it('a report callback that throws does not stop the schedule', async () => {
    const clock = new ManualClock(0);
    const p = manualProbe();
    let calls = 0;
    const r = new IntervalRunner({ ...base('c'), intervalMs: 100, probe: p.probe, report: () => { calls++; throw new Error('consumer bug'); }, clock, rng: new SeededRng(3) });
    r.start();
    clock.advance(100);
    p.finish({ status: 'passing', output: '' });
    await tick();
    clock.advance(100);
    expect(p.started).to.equal(2);
    p.finish({ status: 'passing', output: '' });
    await tick();
    expect(calls).to.equal(2);
    await r.stop();
  });

  it('onResult sees every raw result and whether it was reported', async () => {
    const clock = new ManualClock(0);
    const p = manualProbe();
    const seen: Array<[string, boolean]> = [];
    const r = new IntervalRunner({
      ...base('c', { failuresBeforeCritical: 2, failuresBeforeWarning: 2 }),
      intervalMs: 100,
      probe: p.probe,
      report: () => {},
      onResult: (res, reported) => seen.push([res.status, reported]),
      clock,
      rng: new SeededRng(4),
    });
    r.start();
    for (const st of ['passing', 'critical', 'critical', 'passing'] as const) {
      clock.advance(100);
      p.finish({ status: st, output: '' });
      await tick();
    }
    expect(seen).to.deep.equal([
      ['passing', true],
      ['critical', false],
      ['critical', true],
      ['passing', true],
    ]);
    await r.stop();
  });

  it('effectiveTimeoutMs is the Timeout, or 10 s without one (independent of the interval)', () => {
    const t = (timeoutMs: number, intervalMs: number): number =>
      effectiveTimeoutMs({ ...base('x', { timeoutMs }), kind: 'tcp', address: 'a:1', intervalMs });
    expect(t(1000, 5000)).to.equal(1000);
    expect(t(30_000, 5000)).to.equal(30_000);
    expect(t(0, 60_000)).to.equal(10_000);
    expect(effectiveTimeoutMs({ ...base('x', { timeoutMs: 20_000 }), kind: 'grpc', target: 'a:1', useTls: false, tlsSkipVerify: false, intervalMs: 1000 })).to.equal(20_000);
  });
});

describe('checks: IntervalRunner + HTTP probe against a server that flips (ManualClock schedules, real sockets)', function () {
  this.timeout(10_000);
  let server: Server;
  let healthy = true;

  before(async () => {
    server = createServer((_q, res) => {
      if (healthy) res.end('fine');
      else res.writeHead(503).end('down');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('reports passing, then critical after the server starts failing, then passing again', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
    const clock = new ManualClock(0);
    const rec = recorder();
    const spec: HttpCheckSpec = { ...base('web'), kind: 'http', url, method: 'GET', header: {}, body: '', tlsSkipVerify: false, disableRedirects: false, intervalMs: 1000 };
    const r = new IntervalRunner({ ...spec, probe: (s) => probeHttp(spec, clock, s), report: rec.report, clock, rng: new SeededRng(11) });
    r.start();
    const expectAfterRun = async (n: number, status: string): Promise<void> => {
      clock.advance(1000);
      await waitFor(() => rec.reports.length === n, 5000, `report #${n}`);
      expect(rec.reports[n - 1]?.[0]).to.equal(status);
    };
    await expectAfterRun(1, 'passing');
    healthy = false;
    await expectAfterRun(2, 'critical');
    expect(rec.reports[1]?.[1]).to.equal(`HTTP GET ${url}: 503 Service Unavailable Output: down`);
    healthy = true;
    await expectAfterRun(3, 'passing');
    await r.stop();
  });
});
