import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parseCheckDefinition } from '../../../agent/checks/definition.js';

/** Every check definition shown in docs/checks.md parses (API and config-file forms). */
describe('checks: docs/checks.md examples', () => {
  const md = readFileSync('docs/checks.md', 'utf8');
  const blocks = [...md.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const inline = [...md.matchAll(/Config-file form: `(\{.*?\})`/g)].map((m) => m[1] as string);

  it('has examples', () => {
    expect(blocks.length).to.be.greaterThan(5);
    expect(inline.length).to.be.greaterThan(5);
  });

  for (const [i, text] of [...blocks, ...inline].entries()) {
    it(`example ${i + 1} parses`, () => {
      const raw = JSON.parse(text) as Record<string, unknown>;
      const def = 'check' in raw ? raw.check : raw;
      const r = parseCheckDefinition(def);
      expect(r.ok, r.ok ? '' : `${r.error} in ${text}`).to.equal(true);
    });
  }

  it('API and config-file forms of each kind agree', () => {
    const api = blocks.filter((b) => !b.includes('"check"')).map((b) => parseCheckDefinition(JSON.parse(b)));
    const file = inline.map((b) => parseCheckDefinition((JSON.parse(b) as { check: unknown }).check));
    for (const f of file) {
      if (!f.ok) throw new Error(f.error);
      const twin = api.find((a) => a.ok && a.check.spec.checkId === f.check.spec.checkId);
      if (!twin || !twin.ok) throw new Error(`no API example for ${f.check.spec.checkId}`);
      expect(f.check.spec.kind).to.equal(twin.check.spec.kind);
      expect(f.check.serviceId).to.equal(twin.check.serviceId);
    }
  });
});
