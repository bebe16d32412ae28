import { expect } from 'chai';
import { readFileSync } from 'node:fs';

/**
 * The pure parts of agent/checks (definition parsing, damping, wire codec, output buffer,
 * types) import no I/O modules and read no clock or timers, so they stay table-testable.
 */
describe('checks: pure modules stay pure', () => {
  const PURE = ['definition.ts', 'damper.ts', 'grpc-wire.ts', 'output.ts', 'types.ts', 'errors.ts'];
  const io = /^(node:)?(net|dgram|fs|fs\/promises|child_process|http|https|http2|tls|worker_threads|cluster)$/;
  for (const f of PURE) {
    it(f, () => {
      const src = readFileSync(`agent/checks/${f}`, 'utf8');
      const imports = [...src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1] as string);
      expect(imports.filter((i) => io.test(i)), `${f} imports I/O`).to.deep.equal([]);
      const code = src.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      for (const bad of ['Date.now(', 'setTimeout(', 'setInterval(', 'performance.now(', 'Math.random(']) {
        expect(code.includes(bad), `${f} uses ${bad}`).to.equal(false);
      }
    });
  }
});
