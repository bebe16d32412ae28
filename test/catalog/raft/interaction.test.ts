import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runDataDriven } from './datadriven.js';
import { Interaction } from './interaction.js';

/**
 * Data-driven interaction tests: scripts in test/catalog/raft/testdata (read from the
 * source tree: tests run from dist/, so paths are relative to the repo root).
 * RAFT_TESTDATA_REWRITE=1 rewrites the expected output in place.
 */
const dir = join(process.cwd(), 'test', 'catalog', 'raft', 'testdata');
const rewrite = process.env['RAFT_TESTDATA_REWRITE'] === '1';

describe('raft interaction (data-driven)', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();
  it('has scripts', () => expect(files.length).to.be.greaterThan(0));
  for (const f of files) {
    it(f, () => {
      const inter = new Interaction();
      const mismatches = runDataDriven(join(dir, f), (d) => inter.run(d), rewrite);
      const msg = mismatches
        .map((m) => `${f}:${m.line}: ${m.input}\n--- expected\n${m.expected}\n--- actual\n${m.actual}`)
        .join('\n\n');
      expect(mismatches.length, `${msg}\n(rerun with RAFT_TESTDATA_REWRITE=1 to accept)`).to.equal(0);
    });
  }
});
