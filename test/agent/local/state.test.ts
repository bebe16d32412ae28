import { expect } from 'chai';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalState, LocalStateError, type LocalChange } from '../../../agent/local/state.js';
import { silentLogger } from '../../../agent/runtime/logger.js';
import { tempDir } from '../../lib/tmp.js';
import { svc, ttlCheck } from '../../lib/local.js';

describe('agent/local: LocalState', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.cleanup());

  it('persists services and checks across a re-open, with one file per entry', () => {
    const a = LocalState.open({ dataDir: tmp.dir, logger: silentLogger() });
    a.addService(svc('web-1'), [ttlCheck('service:web-1', 'web-1')]);
    a.addService(svc('db/1', { Service: 'db', Port: 5432 }));
    a.addCheck({ ...ttlCheck('mem', ''), Status: 'passing' });
    a.updateCheck('service:web-1', 'warning', 'slow');
    expect(readdirSync(join(tmp.dir, 'services'))).to.have.length(2);
    expect(readdirSync(join(tmp.dir, 'checks'))).to.have.length(2);

    const b = LocalState.open({ dataDir: tmp.dir, logger: silentLogger() });
    expect(b.services().map((s) => s.ID)).to.deep.equal(['db/1', 'web-1']);
    expect(b.service('db/1')!.Port).to.equal(5432);
    expect(b.check('service:web-1')).to.deep.include({ Status: 'warning', Output: 'slow', ServiceName: 'web', ServiceTags: ['v1'] });
    expect(b.check('mem')!.ServiceID).to.equal('');

    b.removeService('web-1');
    const c = LocalState.open({ dataDir: tmp.dir, logger: silentLogger() });
    expect(c.services().map((s) => s.ID)).to.deep.equal(['db/1']);
    expect(c.checks().map((x) => x.CheckID)).to.deep.equal(['mem']);
  });

  it('skips unreadable files and leftover temp files on open', () => {
    const a = LocalState.open({ dataDir: tmp.dir, logger: silentLogger() });
    a.addService(svc('web-1'));
    writeFileSync(join(tmp.dir, 'services', 'junk.json'), '{not json');
    writeFileSync(join(tmp.dir, 'services', 'x.json.tmp'), '{}');
    const b = LocalState.open({ dataDir: tmp.dir, logger: silentLogger() });
    expect(b.services().map((s) => s.ID)).to.deep.equal(['web-1']);
    expect(readdirSync(join(tmp.dir, 'services')).some((n) => n.endsWith('.tmp'))).to.equal(false);
  });

  it('without a data dir keeps state in memory only', () => {
    const a = LocalState.open({ logger: silentLogger() });
    a.addService(svc('web-1'));
    expect(a.services()).to.have.length(1);
    expect(LocalState.open({ logger: silentLogger() }).services()).to.have.length(0);
  });

  it('replace-existing-checks drops checks not in the new registration; otherwise they stay, renamed', () => {
    const s = LocalState.open({ logger: silentLogger() });
    s.addService(svc('web-1'), [ttlCheck('a', 'web-1'), ttlCheck('b', 'web-1')]);
    s.addService(svc('web-1', { Service: 'www', Tags: ['v2'] }), [ttlCheck('a', 'web-1')]);
    expect(s.checks().map((c) => [c.CheckID, c.ServiceName, c.ServiceTags.join()])).to.deep.equal([
      ['a', 'www', 'v2'],
      ['b', 'www', 'v2'],
    ]);
    s.addService(svc('web-1'), [ttlCheck('a', 'web-1')], { replaceExistingChecks: true });
    expect(s.checks().map((c) => c.CheckID)).to.deep.equal(['a']);
  });

  it('refuses a check of an unknown service and a check ID owned by another service, changing nothing', () => {
    const s = LocalState.open({ logger: silentLogger() });
    const seen: LocalChange[] = [];
    s.subscribe((c) => seen.push(c));
    expect(() => s.addCheck(ttlCheck('x', 'nope'))).to.throw(LocalStateError, 'ServiceID "nope" does not exist');
    s.addService(svc('a'), [ttlCheck('c1', 'a')]);
    expect(() => s.addService(svc('b'), [ttlCheck('c1', 'b')])).to.throw(LocalStateError, /already used by service "a"/);
    expect(s.service('b')).to.equal(undefined);
    expect(seen).to.deep.equal([
      { kind: 'service', id: 'a', op: 'put' },
      { kind: 'check', id: 'c1', op: 'put' },
    ]);
  });

  it('emits one event per changed entry; a no-op check update emits nothing', () => {
    const s = LocalState.open({ logger: silentLogger() });
    s.addService(svc('a'), [ttlCheck('c1', 'a')]);
    const seen: LocalChange[] = [];
    s.subscribe((c) => seen.push(c));
    expect(s.updateCheck('c1', 'critical', '')).to.equal(true);
    expect(s.updateCheck('nope', 'passing', '')).to.equal(false);
    s.updateCheck('c1', 'passing', 'ok');
    s.removeService('a');
    expect(seen).to.deep.equal([
      { kind: 'check', id: 'c1', op: 'update' },
      { kind: 'check', id: 'c1', op: 'remove' },
      { kind: 'service', id: 'a', op: 'remove' },
    ]);
  });
});
