import { expect } from 'chai';
import { createServer, type AddressInfo } from 'node:net';
import { createCheckRunner, ChecksError, IntervalRunner, parseCheckDefinition, ScriptChecksDisabledError, type CheckSpec } from '../../../agent/checks/index.js';
import { ManualClock } from '../../../agent/runtime/clock.js';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { recorder, waitFor } from './helpers.js';

function parsed(raw: unknown): CheckSpec {
  const r = parseCheckDefinition(raw);
  if (!r.ok) throw new Error(r.error);
  return r.check.spec;
}

describe('checks: createCheckRunner (definition JSON → running check)', function () {
  this.timeout(10_000);

  it('a TCP check from its Consul JSON runs on the clock and follows the port', async () => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const clock = new ManualClock(0);
    const rec = recorder();
    const spec = parsed({ Name: 'db port', TCP: `127.0.0.1:${port}`, Interval: '10s', FailuresBeforeCritical: 2 });
    const runner = createCheckRunner(spec, { clock, rng: new SeededRng(2), report: rec.report });
    expect(runner.checkId).to.equal('db port');
    runner.start();
    clock.advance(10_000);
    await waitFor(() => rec.reports.length === 1, 5000, 'first report');
    expect(rec.reports[0]).to.deep.equal(['passing', `TCP connect 127.0.0.1:${port}: Success`]);
    await new Promise<void>((r) => server.close(() => r()));
    // First failure: below FailuresBeforeCritical=2 (and warning defaults to the same), so silent.
    clock.advance(10_000);
    expect(runner).to.be.instanceOf(IntervalRunner);
    const ir = runner as IntervalRunner;
    expect(ir.busy).to.equal(true);
    await waitFor(() => !ir.busy, 5000, 'second run to finish');
    expect(rec.reports).to.have.length(1);
    clock.advance(10_000);
    await waitFor(() => rec.reports.length === 2, 5000, 'critical after two failures');
    expect(rec.reports[1]?.[0]).to.equal('critical');
    await runner.stop();
  });

  it('refuses script checks unless allowed, and runs them when allowed', async () => {
    const spec = parsed({ Name: 's', Args: ['sh', '-c', 'echo hi; exit 1'], Interval: '5s' });
    const clock = new ManualClock(0);
    expect(() => createCheckRunner(spec, { clock, rng: new SeededRng(1), report: () => {} })).to.throw(ScriptChecksDisabledError);
    const rec = recorder();
    const r = createCheckRunner(spec, { clock, rng: new SeededRng(1), report: rec.report, allowScripts: true });
    r.start();
    clock.advance(5000);
    await waitFor(() => rec.reports.length === 1, 5000, 'script report');
    expect(rec.reports[0]).to.deep.equal(['warning', 'hi\n']);
    await r.stop();
  });

  it('has no runner for TTL checks, and alias checks need a fetch function', () => {
    const deps = { clock: new ManualClock(0), rng: new SeededRng(1), report: () => {} };
    expect(() => createCheckRunner(parsed({ Name: 't', TTL: '10s' }), deps)).to.throw(ChecksError, /^checks: TTL check "t" has no runner/);
    expect(() => createCheckRunner(parsed({ Name: 'a', AliasNode: 'n2' }), deps)).to.throw(ChecksError, /needs aliasFetch and localNode/);
    const alias = createCheckRunner(parsed({ Name: 'a', AliasNode: 'n2' }), { ...deps, localNode: 'n1', aliasFetch: async () => ({ index: 1, checks: [] }) });
    expect(alias.checkId).to.equal('a');
  });
});
