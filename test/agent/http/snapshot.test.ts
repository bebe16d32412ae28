import { expect } from 'chai';
import { kvApi } from '../../lib/kv-http.js';
import { unpackSnapshotArchive } from '../../../catalog/archive.js';

type Api = Awaited<ReturnType<typeof kvApi>>;

async function dump(t: Api): Promise<unknown> {
  const kv = await t.json('GET', '/v1/kv/?recurse');
  const nodes = await t.json('GET', '/v1/catalog/nodes');
  const services = await t.json('GET', '/v1/catalog/services');
  return { kv: kv.body, nodes: (nodes.body as Array<{ Node: string; Address: string }>).map((n) => [n.Node, n.Address]), services: services.body };
}

describe('http: /v1/snapshot', function () {
  this.timeout(30_000);
  let a: Api;
  let b: Api;
  before(async () => {
    a = await kvApi();
    b = await kvApi();
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  it('save on one server and restore into a fresh one gives identical KV and catalog', async () => {
    for (let i = 0; i < 30; i++) await a.json('PUT', `/v1/kv/cfg/${i}?flags=${i}`, `value-${i}`);
    await a.json('PUT', '/v1/catalog/register', { Node: 'web-1', Address: '203.0.113.111', Service: { Service: 'web', Port: 80, Tags: ['v1'] } });
    const save = await a.req('GET', '/v1/snapshot');
    expect(save.status).to.equal(200);
    expect(Number(save.headers.get('x-consul-index'))).to.be.greaterThan(30);
    const archive = new Uint8Array(await save.arrayBuffer());
    expect(unpackSnapshotArchive(archive).meta.Index).to.be.greaterThan(30);
    await b.json('PUT', '/v1/kv/only-in-b', 'x');
    const r = await b.req('PUT', '/v1/snapshot', archive);
    expect(r.status, await r.clone().text()).to.equal(200);
    const da = (await dump(a)) as { kv: Array<Record<string, unknown>> };
    const db = (await dump(b)) as { kv: Array<Record<string, unknown>> };
    const strip = (d: { kv: Array<Record<string, unknown>> }) => ({ ...d, kv: d.kv.map(({ Key, Value, Flags, LockIndex }) => ({ Key, Value, Flags, LockIndex })) });
    expect(strip(db)).to.deep.equal(strip(da));
    expect(db.kv.map((e) => e.Key)).to.not.include('only-in-b');
    // The restored server keeps taking writes.
    expect((await b.json('PUT', '/v1/kv/after', 'y')).body).to.equal(true);
  });

  it('refuses a truncated or altered archive with a clear message and changes nothing', async () => {
    const archive = new Uint8Array(await (await a.req('GET', '/v1/snapshot')).arrayBuffer());
    const before = await dump(b);
    const truncated = archive.subarray(0, Math.floor(archive.length / 2));
    let r = await b.json('PUT', '/v1/snapshot', truncated);
    expect(r.status).to.equal(400);
    expect(r.body).to.match(/^Snapshot refused, nothing changed: snapshot: archive is truncated/);
    const altered = new Uint8Array(archive);
    altered[Math.floor(altered.length / 2)] ^= 0xff;
    r = await b.json('PUT', '/v1/snapshot', altered);
    expect(r.status).to.equal(400);
    expect(r.body).to.match(/^Snapshot refused, nothing changed: snapshot: archive is (corrupt|truncated)|checksum mismatch/);
    r = await b.json('PUT', '/v1/snapshot', 'not a snapshot');
    expect(r.status).to.equal(400);
    expect(await dump(b)).to.deep.equal(before);
  });
});
