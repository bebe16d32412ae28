import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Repository root, from dist/test/catalog/state/. */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

describe('catalog/state purity (design rule)', () => {
  const files = [
    ...readdirSync(join(ROOT, 'catalog/state')).filter((f) => f.endsWith('.ts')).map((f) => join('catalog/state', f)),
    'catalog/filter.ts',
  ];

  it('finds the sources', () => {
    expect(files).to.include('catalog/state/store.ts');
  });

  for (const f of files) {
    it(`${f} does no I/O, reads no clock, sets no timer and imports nothing from agent/`, () => {
      const src = readFileSync(join(ROOT, f), 'utf8');
      expect(src, f).to.not.match(/from ['"]node:/);
      expect(src, f).to.not.match(/\b(setTimeout|setInterval|setImmediate|Date\.now|new Date|performance\.now|Math\.random)\b/);
      expect(src, f).to.not.match(/from ['"](\.\.\/)+agent\//);
    });
  }
});
