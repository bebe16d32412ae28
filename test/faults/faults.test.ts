import { expect } from 'chai';
import { formatReport, runScenario } from './harness/runner.js';
import { scenarios } from './harness/scenarios.js';
import { cleanupLeftovers, unsupportedReason } from './harness/netns.js';

/**
 * The fault suite in CI: every scenario once, with a fixed seed and a short fault phase
 * (HERALD_FAULTS_TIME seconds, default 8), real agents in network namespaces; about 3
 * minutes in all. It runs in CI (CI=true) or when HERALD_FAULTS=1, so that a plain
 * `npm test` on a shared developer machine stays fast; HERALD_FAULTS=0 always skips. Needs
 * root, `ip netns` and iptables; skipped with the reason otherwise.
 * Longer runs: `node dist/test/faults/run.js --seed N --time 120`.
 */
describe('faults: real agents in network namespaces (Jepsen-style)', function () {
  const timeSec = Number(process.env['HERALD_FAULTS_TIME'] ?? 8);
  this.timeout((timeSec + 400) * 1000);
  const flag = process.env['HERALD_FAULTS'];
  const wanted = flag === '1' || (flag !== '0' && process.env['CI'] === 'true');
  const why = !wanted ? 'runs in CI (CI=true) or with HERALD_FAULTS=1 (about 3 min)' : unsupportedReason();

  before(function () {
    if (why) {
      console.log(`      faults: skipped: ${why}`);
      this.skip();
    }
  });

  after(() => {
    if (!why) cleanupLeftovers();
  });

  scenarios.forEach((sc, i) => {
    const seed = 9000 + i;
    it(`${sc.name}: ${sc.summary}`, async () => {
      const r = await runScenario(sc, { seed, timeSec, verbose: false });
      const text = formatReport(r);
      console.log(text.replace(/^/gm, '      '));
      expect(r.error, text).to.equal(undefined);
      expect(r.ok, text).to.equal(true);
      expect(r.operations.ok, `no operation succeeded\n${text}`).to.be.greaterThan(0);
    });
  });
});
