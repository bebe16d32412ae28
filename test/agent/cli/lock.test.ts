import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../../agent/cli/program.js';
import { captureIO } from '../../lib/io.js';
import { kvApi } from '../../lib/kv-http.js';
import { tempDir } from '../../lib/tmp.js';

/** Intervals [start, end] (ns) the children wrote as "start <ns>" / "end <ns>" lines, paired in order per writer id. */
function intervals(file: string): Array<[number, number]> {
  const open = new Map<string, number>();
  const out: Array<[number, number]> = [];
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const [what, id, ns] = line.split(' ') as [string, string, string];
    if (what === 'start') open.set(id, Number(ns));
    else {
      out.push([open.get(id)!, Number(ns)]);
      open.delete(id);
    }
  }
  return out;
}

function maxConcurrency(iv: Array<[number, number]>): number {
  const ev = iv.flatMap(([s, e]) => [[s, 1], [e, -1]] as Array<[number, number]>).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of ev) max = Math.max(max, (cur += d));
  return max;
}

describe('cli: herald lock', function () {
  this.timeout(30_000);
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
  const lock = async (...args: string[]) => {
    const io = captureIO();
    const code = await runCli([`-http-addr=${t.srv.url}`, 'lock', ...args], io);
    return { code, out: io.out(), err: io.err() };
  };
  const child = (file: string, id: string, sleep = '0.2') =>
    `echo "start ${id} $(date +%s%N)" >> ${file}; sleep ${sleep}; echo "end ${id} $(date +%s%N)" >> ${file}`;

  it('holders of one lock never overlap; the child sees HERALD_LOCK_HELD and CONSUL_LOCK_HELD', async () => {
    const file = join(tmp.dir, 'mutex.log');
    const runs = await Promise.all([1, 2, 3].map((i) => lock('jobs/mutex', child(file, `w${i}`))));
    for (const r of runs) expect(r.code, r.err).to.equal(0);
    const iv = intervals(file);
    expect(iv).to.have.length(3);
    expect(maxConcurrency(iv), JSON.stringify(iv)).to.equal(1);
    const env = join(tmp.dir, 'env');
    expect((await lock('jobs/mutex', `echo "$HERALD_LOCK_HELD $CONSUL_LOCK_HELD" > ${env}`)).code).to.equal(0);
    expect(readFileSync(env, 'utf8')).to.equal('true true\n');
    // Released: nobody holds the key and the sessions are gone.
    const e = (await t.json<Array<{ Session?: string }>>('GET', '/v1/kv/jobs/mutex/.lock')).body as Array<{ Session?: string }>;
    expect(e[0]!.Session).to.equal(undefined);
    expect((await t.json('GET', '/v1/session/list')).body).to.deep.equal([]);
  });

  it('a semaphore (-n 2) admits at most two holders at once', async () => {
    const file = join(tmp.dir, 'sem.log');
    const runs = await Promise.all([1, 2, 3, 4].map((i) => lock('-n', '2', 'jobs/sem', child(file, `s${i}`, '0.4'))));
    for (const r of runs) expect(r.code, r.err).to.equal(0);
    const iv = intervals(file);
    expect(iv).to.have.length(4);
    expect(maxConcurrency(iv), JSON.stringify(iv)).to.be.at.most(2);
    const lockEntry = (await t.json<Array<{ Value: string }>>('GET', '/v1/kv/jobs/sem/.lock')).body as Array<{ Value: string }>;
    expect(JSON.parse(Buffer.from(lockEntry[0]!.Value, 'base64').toString())).to.deep.equal({ Limit: 2, Holders: {} });
  });

  it("uses Consul's lock and semaphore flags and refuses a key used the other way", async () => {
    expect((await lock('jobs/flags', 'true')).code).to.equal(0);
    expect(await (await t.req('GET', '/v1/kv/jobs/flags/.lock')).text()).to.include('"Flags":3304740253564472344,');
    expect((await lock('-n', '2', 'jobs/semflags', 'true')).code).to.equal(0);
    expect(await (await t.req('GET', '/v1/kv/jobs/semflags/.lock')).text()).to.include('"Flags":16210313421097356768,');
    // A lock prefix used as a semaphore and the other way round are conflicts, as in Consul.
    const asSem = await lock('-n', '2', 'jobs/flags', 'true');
    expect(asSem.code).to.equal(1);
    expect(asSem.err).to.include('Existing key does not match semaphore use');
    const asLock = await lock('jobs/semflags', 'true');
    expect(asLock.code).to.equal(1);
    expect(asLock.err).to.include('Existing key does not match lock use');
  });

  it('-timeout gives up while another session holds the lock; -child-exit-code propagates failure', async () => {
    const held = lock('jobs/busy', 'sleep 2');
    await new Promise((r) => setTimeout(r, 400));
    const r = await lock('-timeout=500ms', 'jobs/busy', 'true');
    expect(r.code).to.equal(1);
    expect(r.err).to.include('Lock acquisition failed');
    expect((await held).code).to.equal(0);
    expect((await lock('jobs/x', 'exit 3')).code).to.equal(0);
    expect((await lock('-child-exit-code', 'jobs/x', 'exit 3')).code).to.equal(2);
  });

  it('stops the child when the lock is lost (session destroyed)', async () => {
    const marker = join(tmp.dir, 'lost.log');
    const running = lock('jobs/lost', `echo started > ${marker}; sleep 20; echo finished >> ${marker}`);
    let sessions: Array<{ ID: string }> = [];
    for (let i = 0; i < 50 && sessions.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      sessions = (await t.json<Array<{ ID: string }>>('GET', '/v1/session/list')).body as Array<{ ID: string }>;
    }
    await new Promise((r) => setTimeout(r, 300));
    await t.json('PUT', `/v1/session/destroy/${sessions[0]!.ID}`);
    const r = await running;
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/Lock lost/);
    expect(readFileSync(marker, 'utf8')).to.equal('started\n');
  });

  it('presumes the lock lost and stops the child when the agent stops answering', async () => {
    const other = await kvApi();
    const marker = join(tmp.dir, 'unreachable.log');
    const io = captureIO();
    const running = runCli([`-http-addr=${other.srv.url}`, 'lock', '-monitor-retry=1', 'jobs/gone', `echo started > ${marker}; sleep 20; echo finished >> ${marker}`], io);
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const e = (await other.json<Array<{ Session?: string }>>('GET', '/v1/kv/jobs/gone/.lock')).body;
      if (Array.isArray(e) && e[0]?.Session) break;
    }
    await new Promise((r) => setTimeout(r, 200));
    await other.close();
    const code = await running;
    expect(code).to.equal(1);
    expect(io.err()).to.match(/Lock lost \(agent unreachable\)/);
    expect(readFileSync(marker, 'utf8')).to.equal('started\n');
  });
});
