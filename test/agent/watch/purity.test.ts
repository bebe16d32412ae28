import { expect } from 'chai';
import { readFileSync } from 'node:fs';

/** The watch plan is pure: it names queries and touches no I/O, clock or timers. */
describe('watch: plan.ts is pure', () => {
  it('imports nothing and uses no timers or wall clock', () => {
    const src = readFileSync('agent/watch/plan.ts', 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    expect(src).to.not.match(/^\s*import\s/m);
    for (const bad of ['Date.now(', 'new Date(', 'setTimeout(', 'setInterval(', 'process.', 'Math.random(']) expect(src, bad).to.not.include(bad);
  });
});
