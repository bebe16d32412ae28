import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Repository root, from dist/test/dns/. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('dns design rules', () => {
  const files = readdirSync(join(ROOT, 'dns')).filter((f) => f.endsWith('.ts')).map((f) => join('dns', f));

  it('finds the sources', () => {
    expect(files).to.include('dns/resolver.ts');
  });

  for (const f of files) {
    it(`${f} imports nothing from agent/`, () => {
      expect(readFileSync(join(ROOT, f), 'utf8'), f).to.not.match(/from ['"](\.\.\/)+agent\//);
    });
  }

  for (const f of ['dns/resolver.ts', 'dns/names.ts', 'dns/reader.ts', 'dns/catalog-reader.ts']) {
    it(`${f} is pure: no node: imports, clocks, timers or Math.random`, () => {
      const src = readFileSync(join(ROOT, f), 'utf8');
      expect(src, f).to.not.match(/from ['"]node:/);
      expect(src, f).to.not.match(/\b(setTimeout|setInterval|setImmediate|Date\.now|new Date|performance\.now|Math\.random)\b/);
    });
  }
});
