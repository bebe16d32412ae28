import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../../agent/cli/program.js';
import { captureIO } from '../../lib/io.js';
import { kvApi } from '../../lib/kv-http.js';
import { tempDir } from '../../lib/tmp.js';

describe('cli: herald snapshot', function () {
  this.timeout(20_000);
  let a: Awaited<ReturnType<typeof kvApi>>;
  let b: Awaited<ReturnType<typeof kvApi>>;
  let tmp: ReturnType<typeof tempDir>;
  before(async () => {
    a = await kvApi();
    b = await kvApi();
    tmp = tempDir();
  });
  after(async () => {
    await a.close();
    await b.close();
    tmp.cleanup();
  });
  const run = async (url: string, ...args: string[]) => {
    const io = captureIO();
    const code = await runCli([...args, `-http-addr=${url}`], io);
    return { code, out: io.out(), err: io.err() };
  };

  it('save, inspect and restore; a damaged file is refused before anything is sent', async () => {
    await a.json('PUT', '/v1/kv/snap/one', '1');
    const file = join(tmp.dir, 'backup.snap');
    const saved = await run(a.srv.url, 'snapshot', 'save', file);
    expect(saved.code, saved.err).to.equal(0);
    expect(saved.out).to.match(/^Saved and verified snapshot to index \d+\n$/);
    const insp = await run(a.srv.url, 'snapshot', 'inspect', file);
    expect(insp.out).to.match(/^Index\s+\d+\nSize\s+\d+\nVersion\s+1\nStateVersion\s+2\nDatacenter\s+dc1\nCreated\s+\S+\n$/);

    const bytes = readFileSync(file);
    const cut = join(tmp.dir, 'cut.snap');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 20));
    const refused = await run(b.srv.url, 'snapshot', 'restore', cut);
    expect(refused.code).to.equal(1);
    expect(refused.err).to.match(/Error verifying snapshot file .*cut\.snap: snapshot: archive is truncated/);
    expect((await b.req('GET', '/v1/kv/snap/one')).status).to.equal(404);

    const restored = await run(b.srv.url, 'snapshot', 'restore', file);
    expect(restored).to.deep.include({ code: 0, out: 'Restored snapshot\n' });
    expect(await (await b.req('GET', '/v1/kv/snap/one?raw')).text()).to.equal('1');
    expect(existsSync(`${file}.part`)).to.equal(false);
  });

  it('long transfers print progress lines on stderr (interval shortened with HERALD_PROGRESS_MS)', async () => {
    // About 3 MiB of state, so both directions move several chunks.
    const value = 'v'.repeat(256 * 1024);
    for (let i = 0; i < 12; i++) await a.json('PUT', `/v1/kv/big/k${i}`, value);
    const file = join(tmp.dir, 'big.snap');
    const before = process.env['HERALD_PROGRESS_MS'];
    process.env['HERALD_PROGRESS_MS'] = '0';
    try {
      const saved = await run(a.srv.url, 'snapshot', 'save', file);
      expect(saved.code, saved.err).to.equal(0);
      expect(saved.err).to.match(/^Saving snapshot: [\d.]+ (B|KiB|MiB) transferred \(\d+ s\)$/m);
      const restored = await run(b.srv.url, 'snapshot', 'restore', file);
      expect(restored.code, restored.err).to.equal(0);
      expect(restored.err).to.match(/^Restoring snapshot: [\d.]+ (B|KiB|MiB) transferred \(\d+ s\)$/m);
      expect(await (await b.req('GET', '/v1/kv/big/k11?raw')).text()).to.equal(value);
    } finally {
      if (before === undefined) delete process.env['HERALD_PROGRESS_MS'];
      else process.env['HERALD_PROGRESS_MS'] = before;
    }
    // The default: a transfer of well under a second prints none.
    const t0 = Date.now();
    const quiet = await run(a.srv.url, 'snapshot', 'save', join(tmp.dir, 'quiet.snap'));
    if (Date.now() - t0 < 900) expect(quiet.err).to.equal('');
  });
});
