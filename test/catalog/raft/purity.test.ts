import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** DESIGN.md dependency rule: the Raft core does no I/O and reads no clock. */
describe('raft core purity', () => {
  it('catalog/raft/core imports no I/O modules and uses no timers or wall clock', () => {
    const dir = join(process.cwd(), 'catalog', 'raft', 'core');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).to.be.greaterThan(3);
    for (const f of files) {
      const src = readFileSync(join(dir, f), 'utf8');
      expect(src, f).to.not.match(/from ['"](node:)?(net|dgram|fs|fs\/promises|child_process|http|https|timers)['"]/);
      expect(src, f).to.not.match(/\b(setTimeout|setInterval|setImmediate|Date\.now|performance\.now|Math\.random)\s*\(/);
      expect(src, f).to.not.match(/from ['"]\.\.\/\.\.\/\.\.\/agent\/(?!runtime\/rng)/);
    }
  });
});
