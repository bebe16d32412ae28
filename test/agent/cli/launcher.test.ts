import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HERALD_BIN } from '../../lib/herald-bin.js';

/** Runs `node <dir>/herald.mjs version` with the cache debug line on; stdout and stderr. */
function version(dir: string, env: Record<string, string> = {}, nodeFlags: string[] = []): { out: string; err: string; status: number | null } {
  const r = spawnSync(process.execPath, [...nodeFlags, join(dir, 'herald.mjs'), 'version'], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, HERALD_CODE_CACHE_DEBUG: '1', ...env },
  });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

describe('herald launcher (dist/herald.mjs): V8 code cache', function () {
  this.timeout(60_000);
  const built = HERALD_BIN.replace(/herald\.mjs$/, '');
  let dir = '';

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'herald-launcher-'));
    for (const f of ['herald.mjs', 'herald.cjs', 'herald.cjs.cache']) copyFileSync(join(built, f), join(dir, f));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the cache the build wrote', () => {
    const r = version(built);
    expect(r.status, r.err).to.equal(0);
    expect(r.out).to.match(/^Herald v\d/);
    expect(r.err).to.match(/code cache used/);
  });

  it('ignores a cache made for other bundle bytes, even of the same length, and runs the new code', () => {
    const bundle = readFileSync(join(dir, 'herald.cjs'), 'utf8');
    const before = "Consul-compatible HTTP and DNS APIs";
    expect(bundle, 'the version text is in the bundle').to.contain(before);
    // Same length, so V8's own check (source length) would accept the old cache.
    const after = before.replace('Consul', 'CONSUL');
    writeFileSync(join(dir, 'herald.cjs'), bundle.replace(before, after));
    expect(statSync(join(dir, 'herald.cjs')).size).to.equal(Buffer.byteLength(bundle));
    const r = version(dir);
    expect(r.status, r.err).to.equal(0);
    expect(r.err).to.match(/code cache stale/);
    expect(r.out).to.contain(after);
  });

  it('survives a missing, truncated, garbage, damaged or foreign cache, and HERALD_WRITE_CODE_CACHE=1 writes one that is then used', () => {
    const cache = join(dir, 'herald.cjs.cache');
    const good = readFileSync(cache);
    // Right header, altered V8 data: without the launcher's own checksum V8's deserializer
    // crashes the process on this (seen: a fatal error in ReadSingleBytecodeData).
    const altered = Buffer.from(good);
    for (let i = 100; i < altered.length; i += 97) altered[i] = altered[i]! ^ 0xff;
    for (const [label, bytes, state] of [
      ['truncated header', good.subarray(0, 10), 'stale'],
      ['garbage', Buffer.from('not a cache at all, but longer than the header of one'), 'stale'],
      ['altered V8 data', altered, 'damaged'],
    ] as const) {
      writeFileSync(cache, bytes);
      const r = version(dir);
      expect(r.status, `${label}: ${r.err}`).to.equal(0);
      expect(r.out, label).to.match(/^Herald v\d/);
      expect(r.err, label).to.contain(`code cache ${state}`);
    }
    // The build's cache under other V8 flags: V8's own check refuses it.
    writeFileSync(cache, good);
    const otherFlags = version(dir, {}, ['--no-lazy-feedback-allocation']);
    expect(otherFlags.status, otherFlags.err).to.equal(0);
    expect(otherFlags.err).to.contain('code cache rejected');
    rmSync(cache);
    const missing = version(dir, { HERALD_WRITE_CODE_CACHE: '1' });
    expect(missing.status, missing.err).to.equal(0);
    expect(missing.err).to.match(/code cache missing/);
    const again = version(dir);
    expect(again.err).to.match(/code cache used/);
  });

  it('the build step trains the cache on a real server and client, and keeps the old cache when training fails', () => {
    const cache = join(dir, 'herald.cjs.cache');
    const before = readFileSync(cache);
    const train = (bin: string) =>
      spawnSync(process.execPath, ['dist/agent/cli/code-cache-train.js', bin], { encoding: 'utf8', timeout: 45_000 });
    // A launcher that cannot start: the step says so, exits 0, and the cache is untouched.
    writeFileSync(join(dir, 'broken.mjs'), 'process.exit(3);\n');
    const failed = train(join(dir, 'broken.mjs'));
    expect(failed.status, failed.stderr).to.equal(0);
    expect(failed.stderr).to.contain('code cache training skipped');
    expect(readFileSync(cache).equals(before)).to.equal(true);
    // The real launcher: a new cache is written, and it is used.
    rmSync(cache);
    const ok = train(join(dir, 'herald.mjs'));
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stderr).to.not.contain('skipped');
    expect(version(dir).err).to.match(/code cache used/);
  });
});
