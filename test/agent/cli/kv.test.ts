import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { runCli } from '../../../agent/cli/program.js';
import { captureIO } from '../../lib/io.js';
import { kvApi } from '../../lib/kv-http.js';
import { tempDir } from '../../lib/tmp.js';

describe('cli: kv commands', function () {
  this.timeout(20_000);
  let t: Awaited<ReturnType<typeof kvApi>>;
  let tmp: ReturnType<typeof tempDir>;
  before(async () => {
    t = await kvApi();
    tmp = tempDir();
  });
  after(async () => {
    await t.close();
    tmp.cleanup();
  });
  const run = async (args: string[], stdin?: string) => {
    const io = captureIO();
    if (stdin !== undefined) io.stdin = Readable.from([Buffer.from(stdin)]);
    const code = await runCli([...args, `-http-addr=${t.srv.url}`], io);
    return { code, out: io.out(), err: io.err() };
  };

  it('put and get, with @file, stdin, -base64, -flags and -detailed', async () => {
    expect(await run(['kv', 'put', 'cli/a', 'hello world'])).to.deep.equal({ code: 0, out: 'Success! Data written to: cli/a\n', err: '' });
    expect((await run(['kv', 'get', 'cli/a'])).out).to.equal('hello world\n');
    const f = join(tmp.dir, 'v.txt');
    writeFileSync(f, 'from file');
    await run(['kv', 'put', '-flags=7', 'cli/b', `@${f}`]);
    expect((await run(['kv', 'get', 'cli/b'])).out).to.equal('from file\n');
    await run(['kv', 'put', 'cli/c', '-'], 'from stdin');
    expect((await run(['kv', 'get', 'cli/c'])).out).to.equal('from stdin\n');
    await run(['kv', 'put', '-base64', 'cli/d', Buffer.from('decoded').toString('base64')]);
    expect((await run(['kv', 'get', 'cli/d'])).out).to.equal('decoded\n');
    expect((await run(['kv', 'get', '-base64', 'cli/d'])).out).to.equal(`${Buffer.from('decoded').toString('base64')}\n`);
    const d = await run(['kv', 'get', '-detailed', 'cli/b']);
    expect(d.out).to.match(/^CreateIndex\s+\d+\nFlags\s+7\nKey\s+cli\/b\nLockIndex\s+0\nModifyIndex\s+\d+\nSession\s+-\nValue\s+from file\n$/);
    expect(await run(['kv', 'get', 'cli/missing'])).to.deep.include({ code: 1, err: 'Error: Error! No key exists at: cli/missing\n' });
  });

  it('recurse, keys, cas, delete', async () => {
    expect((await run(['kv', 'get', '-recurse', 'cli/'])).out).to.equal('cli/a:hello world\ncli/b:from file\ncli/c:from stdin\ncli/d:decoded\n');
    await run(['kv', 'put', 'cli/sub/x', '1']);
    expect((await run(['kv', 'get', '-keys', 'cli/'])).out).to.equal('cli/a\ncli/b\ncli/c\ncli/d\ncli/sub/\n');
    const bad = await run(['kv', 'put', '-cas', '-modify-index=1', 'cli/a', 'new']);
    expect(bad).to.deep.include({ code: 1, err: 'Error: Error! Did not write to cli/a: CAS failed\n' });
    expect((await run(['kv', 'put', '-cas', '-modify-index=0', 'cli/new', 'created'])).code).to.equal(0);
    expect(await run(['kv', 'delete', 'cli/new'])).to.deep.include({ code: 0, out: 'Success! Deleted key: cli/new\n' });
    expect(await run(['kv', 'delete', '-recurse', 'cli/sub/'])).to.deep.include({ code: 0, out: 'Success! Deleted keys with prefix: cli/sub/\n' });
    expect((await run(['kv', 'get', '-keys', 'cli/'])).out).to.not.include('cli/sub/');
  });

  it('export and import round trip', async () => {
    const exp = await run(['kv', 'export', 'cli/']);
    const data = JSON.parse(exp.out) as Array<{ key: string; flags: number; value: string }>;
    expect(data.find((e) => e.key === 'cli/b')).to.deep.equal({ key: 'cli/b', flags: 7, value: Buffer.from('from file').toString('base64') });
    const imp = await run(['kv', 'import', '-prefix=copy/', '-'], exp.out);
    expect(imp.code, imp.err).to.equal(0);
    expect(imp.out).to.include('Imported: copy/cli/b\n');
    expect((await run(['kv', 'get', '-detailed', 'copy/cli/b'])).out).to.match(/Flags\s+7/);
    expect((await run(['kv', 'get', 'copy/cli/c'])).out).to.equal('from stdin\n');
  });

  it('keeps 64-bit flags exact through put, get -detailed, export and import; bad import data writes nothing', async () => {
    expect((await run(['kv', 'put', '-flags=16210313421097356768', 'big/a', 'v'])).code).to.equal(0);
    expect((await run(['kv', 'get', '-detailed', 'big/a'])).out).to.match(/Flags\s+16210313421097356768\n/);
    const exp = await run(['kv', 'export', 'big/']);
    expect(exp.out).to.include('\t\t"flags": 16210313421097356768,');
    const imp = await run(['kv', 'import', '-prefix=copy/', '-'], exp.out);
    expect(imp.code, imp.err).to.equal(0);
    expect((await run(['kv', 'get', '-detailed', 'copy/big/a'])).out).to.match(/Flags\s+16210313421097356768\n/);
    const tooBig = await run(['kv', 'put', '-flags=18446744073709551616', 'big/b', 'v']);
    expect(tooBig.code).to.equal(1);
    expect(tooBig.err).to.include('Invalid -flags');
    const bad = await run(['kv', 'import', '-'], '[{"key":"imp/ok","value":""},{"key":"imp/bad","flags":-3}]');
    expect(bad.code).to.equal(1);
    expect(bad.err).to.include('entry 1: "flags" must be an unsigned 64-bit integer');
    expect((await run(['kv', 'get', 'imp/ok'])).code, 'nothing imported').to.equal(1);
  });
});
