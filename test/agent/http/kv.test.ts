import { expect } from 'chai';
import { kvApi } from '../../lib/kv-http.js';

type Api = Awaited<ReturnType<typeof kvApi>>;
type Entry = { Key: string; Value: string | null; Flags: number; LockIndex: number; Session?: string; CreateIndex: number; ModifyIndex: number };
const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('http: /v1/kv, /v1/session, /v1/txn', function () {
  this.timeout(20_000);
  let t: Api;
  before(async () => {
    t = await kvApi();
  });
  after(async () => t.close());

  it('PUT answers true; GET answers the entry with a base64 Value; 404 when missing', async () => {
    let r = await t.json('PUT', '/v1/kv/app/config?flags=42', 'hello');
    expect(r).to.deep.include({ status: 200, body: true });
    r = await t.json<Entry[]>('GET', '/v1/kv/app/config');
    expect(r.status).to.equal(200);
    const [e] = r.body as Entry[];
    expect(e).to.include({ Key: 'app/config', Flags: 42, Value: b64('hello'), LockIndex: 0 });
    expect(e).to.not.have.property('Session');
    expect(Number(r.headers.get('x-consul-index'))).to.equal(e!.ModifyIndex);
    const raw = await t.req('GET', '/v1/kv/app/config?raw');
    expect(Buffer.from(await raw.arrayBuffer()).toString()).to.equal('hello');
    expect((await t.req('GET', '/v1/kv/app/nope')).status).to.equal(404);
    // Binary values survive byte for byte; an empty value reads as null.
    const bin = new Uint8Array([0, 255, 10, 13, 128]);
    await t.json('PUT', '/v1/kv/bin', bin);
    const back = await t.req('GET', '/v1/kv/bin?raw');
    expect([...new Uint8Array(await back.arrayBuffer())]).to.deep.equal([...bin]);
    await t.json('PUT', '/v1/kv/empty');
    expect(((await t.json<Entry[]>('GET', '/v1/kv/empty')).body as Entry[])[0]!.Value).to.equal(null);
  });

  it('rejects an empty key, a bad flag and a value over 512 KiB', async () => {
    expect(await t.json('PUT', '/v1/kv/', 'x')).to.deep.include({ status: 400, body: 'Missing key name' });
    expect((await t.json('PUT', '/v1/kv/k?flags=-1', 'x')).status).to.equal(400);
    const big = new Uint8Array(512 * 1024 + 1);
    expect(await t.json('PUT', '/v1/kv/big', big)).to.deep.include({ status: 413, body: 'Value exceeds 524288 byte limit' });
    expect((await t.req('GET', '/v1/kv/big')).status).to.equal(404);
    expect((await t.json('PUT', '/v1/kv/edge', new Uint8Array(512 * 1024))).status).to.equal(200);
  });

  it('flags are exact unsigned 64-bit integers, as Consul\'s lock (0x2ddccbc058a50c18) and semaphore flags need', async () => {
    for (const flags of ['3304740253564472344', '16210313421097356768', '18446744073709551615']) {
      expect((await t.json('PUT', `/v1/kv/flags/${flags}?flags=${flags}`, 'x')).status).to.equal(200);
      const text = await (await t.req('GET', `/v1/kv/flags/${flags}`)).text();
      expect(text).to.include(`"Flags":${flags},`);
    }
    const pretty = await (await t.req('GET', '/v1/kv/flags/?recurse&pretty')).text();
    expect(pretty).to.include('"Flags": 18446744073709551615,');
    for (const bad of ['18446744073709551616', '1.5', '0x10', '']) {
      const r = await t.json('PUT', `/v1/kv/flags/bad?flags=${bad}`, 'x');
      expect(r, bad).to.deep.include({ status: 400, body: `Invalid flags: "${bad}"` });
    }
    expect((await t.req('GET', '/v1/kv/flags/bad')).status).to.equal(404);
    // The transaction body carries them exactly too (JSON numbers beyond 2^53).
    const txn = await t.req('PUT', '/v1/txn', '[{"KV":{"Verb":"set","Key":"flags/txn","Flags":16210313421097356768}},{"KV":{"Verb":"get","Key":"flags/txn"}}]');
    expect(txn.status).to.equal(200);
    expect(await txn.text()).to.match(/"Key":"flags\/txn","Flags":16210313421097356768,.*"Key":"flags\/txn","Flags":16210313421097356768,/);
    const tooBig = await t.json('PUT', '/v1/txn', '[{"KV":{"Verb":"set","Key":"flags/t2","Flags":18446744073709551616}}]');
    expect(tooBig).to.deep.include({ status: 400, body: 'Operation 0: Flags: expected an unsigned 64-bit integer' });
  });

  it('cas: 0 creates only; the current index wins once', async () => {
    expect((await t.json('PUT', '/v1/kv/c?cas=0', 'a')).body).to.equal(true);
    expect((await t.json('PUT', '/v1/kv/c?cas=0', 'b')).body).to.equal(false);
    const idx = ((await t.json<Entry[]>('GET', '/v1/kv/c')).body as Entry[])[0]!.ModifyIndex;
    const [a, b] = await Promise.all([t.json('PUT', `/v1/kv/c?cas=${idx}`, 'x'), t.json('PUT', `/v1/kv/c?cas=${idx}`, 'y')]);
    expect([a.body, b.body].sort()).to.deep.equal([false, true]);
    expect((await t.json('DELETE', `/v1/kv/c?cas=${idx}`)).body).to.equal(false);
  });

  it('recurse, keys with separator, delete and delete-tree', async () => {
    for (const k of ['tree/a', 'tree/b/c', 'tree/b/d', 'treeish']) await t.json('PUT', `/v1/kv/${k}`, k);
    const all = await t.json<Entry[]>('GET', '/v1/kv/tree/?recurse');
    expect((all.body as Entry[]).map((e) => e.Key)).to.deep.equal(['tree/a', 'tree/b/c', 'tree/b/d']);
    expect((await t.json('GET', '/v1/kv/tree/?keys&separator=/')).body).to.deep.equal(['tree/a', 'tree/b/']);
    expect((await t.req('GET', '/v1/kv/nothing/?keys')).status).to.equal(404);
    expect((await t.json('DELETE', '/v1/kv/tree/a')).body).to.equal(true);
    expect((await t.json('DELETE', '/v1/kv/tree/?recurse')).body).to.equal(true);
    expect((await t.req('GET', '/v1/kv/tree/?recurse')).status).to.equal(404);
    expect((await t.json('GET', '/v1/kv/treeish')).status).to.equal(200);
  });

  it('a blocking GET on a prefix returns when a key under it is deleted (tombstone)', async () => {
    await t.json('PUT', '/v1/kv/blk/x', '1');
    const first = await t.json('GET', '/v1/kv/blk/?recurse');
    const idx = Number(first.headers.get('x-consul-index'));
    const blocked = t.json('GET', `/v1/kv/blk/?recurse&index=${idx}&wait=5s`);
    await new Promise((r) => setTimeout(r, 100));
    await t.json('DELETE', '/v1/kv/blk/x');
    const r = await blocked;
    expect(r.status).to.equal(404);
    expect(Number(r.headers.get('x-consul-index'))).to.be.greaterThan(idx);
    // ?consistent and ?stale answer too.
    expect((await t.json('GET', '/v1/kv/treeish?consistent')).status).to.equal(200);
    expect((await t.json('GET', '/v1/kv/treeish?stale')).status).to.equal(200);
  });

  it('sessions: create with defaults, info, node, list, renew, destroy; TTL bounds', async () => {
    const c = await t.json<{ ID: string }>('PUT', '/v1/session/create', { Name: 'svc', TTL: '15s' });
    expect(c.status, String(c.body)).to.equal(200);
    const id = (c.body as { ID: string }).ID;
    const info = (await t.json<Array<Record<string, unknown>>>('GET', `/v1/session/info/${id}`)).body as Array<Record<string, unknown>>;
    expect(info[0]).to.include({ ID: id, Name: 'svc', Node: 'node-a', LockDelay: 15e9, Behavior: 'release', TTL: '15s' });
    expect(info[0]!.NodeChecks).to.deep.equal(['serfHealth']);
    expect(((await t.json<unknown[]>('GET', '/v1/session/node/node-a')).body as unknown[]).length).to.be.at.least(1);
    expect(((await t.json<unknown[]>('GET', '/v1/session/list')).body as Array<{ ID: string }>).map((s) => s.ID)).to.include(id);
    const renewed = await t.json<Array<{ ID: string }>>('PUT', `/v1/session/renew/${id}`);
    expect(renewed.status).to.equal(200);
    expect((renewed.body as Array<{ ID: string }>)[0]!.ID).to.equal(id);
    expect((await t.json('PUT', '/v1/session/renew/00000000-0000-0000-0000-000000000000')).status).to.equal(404);
    expect((await t.json('PUT', `/v1/session/destroy/${id}`)).body).to.equal(true);
    expect((await t.json('GET', `/v1/session/info/${id}`)).body).to.deep.equal([]);
    const bad = await t.json('PUT', '/v1/session/create', { TTL: '5s' });
    expect(bad.status).to.equal(400);
    expect(bad.body).to.match(/Invalid Session TTL '5s', must be between \[10s=24h0m0s\]/);
    expect((await t.json('PUT', '/v1/session/create', { TTL: '25h' })).status).to.equal(400);
    expect((await t.json('PUT', '/v1/session/create', { Node: 'ghost' })).body).to.match(/Missing node registration/);
  });

  it('acquire and release: one holder at a time; lock-delay after destroy', async () => {
    const s1 = ((await t.json<{ ID: string }>('PUT', '/v1/session/create', { LockDelay: '0s' })).body as { ID: string }).ID;
    const s2 = ((await t.json<{ ID: string }>('PUT', '/v1/session/create', { LockDelay: '0s' })).body as { ID: string }).ID;
    const s3 = ((await t.json<{ ID: string }>('PUT', '/v1/session/create', { LockDelay: '30s' })).body as { ID: string }).ID;
    expect((await t.json('PUT', `/v1/kv/lock/a?acquire=${s1}`, 'one')).body).to.equal(true);
    expect((await t.json('PUT', `/v1/kv/lock/a?acquire=${s2}`, 'two')).body).to.equal(false);
    const e = ((await t.json<Entry[]>('GET', '/v1/kv/lock/a')).body as Entry[])[0]!;
    expect(e).to.include({ Session: s1, LockIndex: 1 });
    expect((await t.json('PUT', `/v1/kv/lock/a?release=${s2}`)).body).to.equal(false);
    expect((await t.json('PUT', `/v1/kv/lock/a?release=${s1}`)).body).to.equal(true);
    expect((await t.json('PUT', `/v1/kv/lock/a?acquire=${s2}`)).body).to.equal(true);
    const bogus = await t.json('PUT', '/v1/kv/lock/a?acquire=not-a-session');
    expect(bogus.status).to.equal(500);
    expect(bogus.body).to.match(/invalid session/);
    expect((await t.json('PUT', `/v1/kv/lock/b?acquire=${s3}`)).body).to.equal(true);
    await t.json('PUT', `/v1/session/destroy/${s3}`);
    expect((await t.json('PUT', `/v1/kv/lock/b?acquire=${s1}`)).body, 'inside the 30 s lock-delay').to.equal(false);
  });

  it('txn: 200 with Results; 409 with per-op Errors and nothing changed; 413 over 64 ops', async () => {
    const ok = await t.json<{ Results: Array<{ KV: Entry }>; Errors: null }>('PUT', '/v1/txn', [
      { KV: { Verb: 'set', Key: 'txn/a', Value: b64('1') } },
      { KV: { Verb: 'set', Key: 'txn/b', Value: b64('2'), Flags: 3 } },
      { KV: { Verb: 'get', Key: 'txn/a' } },
    ]);
    expect(ok.status).to.equal(200);
    const body = ok.body as { Results: Array<{ KV: Entry }>; Errors: null };
    expect(body.Errors).to.equal(null);
    expect(body.Results.map((r) => r.KV.Key)).to.deep.equal(['txn/a', 'txn/b', 'txn/a']);
    expect(body.Results[0]!.KV.Value).to.equal(null);
    expect(body.Results[2]!.KV.Value).to.equal(b64('1'));
    const bad = await t.json<{ Results: null; Errors: Array<{ OpIndex: number; What: string }> }>('PUT', '/v1/txn', [
      { KV: { Verb: 'set', Key: 'txn/c', Value: b64('3') } },
      { KV: { Verb: 'check-not-exists', Key: 'txn/a' } },
      { KV: { Verb: 'delete', Key: 'txn/b' } },
    ]);
    expect(bad.status).to.equal(409);
    expect(bad.body).to.deep.equal({ Results: null, Errors: [{ OpIndex: 1, What: 'key "txn/a" exists' }] });
    expect((await t.req('GET', '/v1/kv/txn/c')).status).to.equal(404);
    expect((await t.req('GET', '/v1/kv/txn/b')).status).to.equal(200);
    // Read-only transactions are reads: no Raft entry, X-Consul-Index set, consistency modes.
    const before = t.server.raft.appliedIndex;
    const ro = await t.json<{ Results: Array<{ KV: Entry }> }>('PUT', '/v1/txn?consistent', [
      { KV: { Verb: 'get', Key: 'txn/a' } },
      { KV: { Verb: 'check-not-exists', Key: 'txn/zzz' } },
    ]);
    expect(ro.status).to.equal(200);
    expect((ro.body as { Results: Array<{ KV: Entry }> }).Results.map((r) => r.KV.Value)).to.deep.equal([b64('1')]);
    expect(Number(ro.headers.get('x-consul-index'))).to.be.at.least(1);
    const roBad = await t.json('PUT', '/v1/txn?stale', [{ KV: { Verb: 'check-index', Key: 'txn/a', Index: 1 } }]);
    expect(roBad.status).to.equal(409);
    expect(t.server.raft.appliedIndex, 'no Raft entry for read-only transactions').to.equal(before);
    const many = Array.from({ length: 65 }, (_, i) => ({ KV: { Verb: 'set', Key: `m/${i}` } }));
    const tooMany = await t.json('PUT', '/v1/txn', many);
    expect(tooMany.status).to.equal(413);
    expect(tooMany.body).to.match(/too many operations \(65 > 64\)/);
    expect((await t.json('PUT', '/v1/txn', [{ KV: { Verb: 'explode', Key: 'x' } }])).status).to.equal(400);
  });
});
