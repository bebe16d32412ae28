import { expect } from 'chai';
import { startTestStall } from '../../../agent/cli/test-stall.js';

describe('cli: test-only event-loop stall (HERALD_TEST_STALL_MS)', () => {
  it('does nothing unless the variable is set to a positive number', () => {
    expect(startTestStall({})).to.equal(undefined);
    expect(startTestStall({ HERALD_TEST_STALL_MS: '' })).to.equal(undefined);
    expect(startTestStall({ HERALD_TEST_STALL_MS: '0' })).to.equal(undefined);
    expect(startTestStall({ HERALD_TEST_STALL_MS: 'abc' })).to.equal(undefined);
  });

  it('blocks the event loop for about N ms every period', async () => {
    const t = startTestStall({ HERALD_TEST_STALL_MS: '60', HERALD_TEST_STALL_EVERY_MS: '100' });
    expect(t).to.not.equal(undefined);
    try {
      // A 5 ms ticker sees at least one gap as long as the stall within ~400 ms.
      let last = performance.now();
      let maxGap = 0;
      await new Promise<void>((resolve) => {
        const iv = setInterval(() => {
          const now = performance.now();
          maxGap = Math.max(maxGap, now - last);
          last = now;
        }, 5);
        setTimeout(() => {
          clearInterval(iv);
          resolve();
        }, 400);
      });
      expect(maxGap).to.be.at.least(55);
    } finally {
      clearInterval(t);
    }
  });
});
