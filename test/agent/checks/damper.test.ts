import { expect } from 'chai';
import { StatusDamper, type DamperThresholds } from '../../../agent/checks/damper.js';
import type { CheckStatus } from '../../../agent/checks/types.js';

const P: CheckStatus = 'passing';
const W: CheckStatus = 'warning';
const C: CheckStatus = 'critical';

/** [thresholds S/FW/FC, inputs, expected reports ('-' = nothing reported)] */
const TABLE: Array<{ name: string; t: [number, number, number]; inputs: CheckStatus[]; want: Array<CheckStatus | '-'> }> = [
  { name: 'defaults report everything', t: [0, 0, 0], inputs: [P, C, W, C, P], want: [P, C, W, C, P] },
  { name: 'threshold 1 equals defaults', t: [1, 1, 1], inputs: [P, C, W, C, P], want: [P, C, W, C, P] },
  { name: 'the first result is reported at once (critical)', t: [3, 3, 3], inputs: [C, P, P, P], want: [C, '-', '-', P] },
  { name: 'the first result is reported at once (passing)', t: [3, 3, 3], inputs: [P, C, C, C], want: [P, '-', '-', C] },
  { name: 'success before passing 3', t: [3, 0, 0], inputs: [C, P, P, P, P, C, P], want: [C, '-', '-', P, P, C, '-'] },
  { name: 'warning counts as a success', t: [2, 0, 0], inputs: [C, W, P, W], want: [C, '-', P, W] },
  { name: 'failures before critical 3', t: [0, 3, 3], inputs: [P, C, C, C, C, P, C], want: [P, '-', '-', C, C, P, '-'] },
  { name: 'a success resets the failure count', t: [0, 2, 2], inputs: [P, C, P, C, C], want: [P, '-', P, '-', C] },
  { name: 'warning before critical', t: [0, 1, 3], inputs: [P, C, C, C, C], want: [P, W, W, C, C] },
  { name: 'warning at 2, critical at 4', t: [0, 2, 4], inputs: [P, C, C, C, C, C], want: [P, '-', W, W, C, C] },
  { name: 'warning threshold above critical never warns', t: [0, 5, 2], inputs: [P, C, C, C], want: [P, '-', C, C] },
  { name: 'both directions damped', t: [2, 2, 2], inputs: [P, P, C, P, C, C, P, P], want: [P, P, '-', '-', '-', C, '-', P] },
  { name: 'a failure resets the success count', t: [3, 0, 0], inputs: [P, P, C, P, P, P], want: [P, P, C, '-', '-', P] },
];

describe('checks: StatusDamper (flap damping)', () => {
  for (const row of TABLE) {
    it(`${row.name} (S=${row.t[0]} FW=${row.t[1]} FC=${row.t[2]})`, () => {
      const t: DamperThresholds = { successBeforePassing: row.t[0], failuresBeforeWarning: row.t[1], failuresBeforeCritical: row.t[2] };
      const d = new StatusDamper(t);
      const got = row.inputs.map((s, i) => d.step(s, `out${i}`));
      expect(got.map((r) => (r ? r.status : '-'))).to.deep.equal(row.want);
      got.forEach((r, i) => {
        if (r) expect(r.output).to.equal(`out${i}`);
      });
    });
  }

  it('counts consecutive results', () => {
    const d = new StatusDamper({ successBeforePassing: 5, failuresBeforeWarning: 5, failuresBeforeCritical: 7 });
    expect([d.successCount, d.failureCount]).to.deep.equal([5, 7]);
    d.step(C, '');
    d.step(P, '');
    d.step(W, '');
    expect([d.successCount, d.failureCount]).to.deep.equal([2, 0]);
    d.step(C, '');
    expect([d.successCount, d.failureCount]).to.deep.equal([0, 1]);
  });
});
