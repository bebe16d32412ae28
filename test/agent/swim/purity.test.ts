import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const FORBIDDEN = [/from ['"]node:(net|dgram|fs|child_process|crypto)['"]/, /\bsetTimeout\(/, /\bsetInterval\(/, /\bDate\.now\(/, /\bMath\.random\(/, /\bperformance\.now\(/];

describe('swim core purity', () => {
  it('agent/swim/core does no I/O, uses no timers, wall clock or global randomness', () => {
    const dir = join(process.cwd(), 'agent/swim/core');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).to.be.greaterThan(5);
    for (const f of files) {
      const src = readFileSync(join(dir, f), 'utf8');
      for (const re of FORBIDDEN) expect(re.test(src), `${f} matches ${re}`).to.equal(false);
    }
  });
});
