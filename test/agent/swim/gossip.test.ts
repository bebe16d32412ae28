import { expect } from 'chai';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { encodePacket } from '../../../agent/swim/codec.js';
import type { MemberStatus } from '../../../agent/swim/core/membership.js';
import { MsgType } from '../../../agent/swim/core/messages.js';
import { Gossip, type UserEvent } from '../../../agent/swim/gossip.js';
import { generateKey, Keyring } from '../../../agent/swim/keyring.js';

const HOST = '127.0.0.1';

async function waitFor(what: string, cond: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!cond()) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function status(g: Gossip, name: string): MemberStatus | undefined {
  return g.members().find((m) => m.name === name)?.status;
}

function allSeeAll(gs: Gossip[]): boolean {
  return gs.every((g) => gs.every((o) => status(g, o.name) === 'alive'));
}

async function startCluster(n: number, prefix: string, keyring?: () => Keyring): Promise<Gossip[]> {
  const gs: Gossip[] = [];
  for (let i = 0; i < n; i++) {
    const g = new Gossip({
      name: `${prefix}-${i}`,
      bindAddr: HOST,
      bindPort: 0,
      tags: { role: i === 0 ? 'server' : 'client', dc: 'dc1' },
      profile: 'local',
      rng: new SeededRng(1000 + i),
      ...(keyring ? { keyring: keyring() } : {}),
    });
    await g.start();
    gs.push(g);
  }
  for (let i = 1; i < n; i++) expect(await gs[i]!.join([gs[0]!.address()])).to.equal(1);
  await waitFor('convergence', () => allSeeAll(gs));
  return gs;
}

describe('swim gossip over real UDP/TCP on 127.0.0.1', function () {
  this.timeout(30_000);
  let cluster: Gossip[] = [];

  afterEach(async () => {
    await Promise.all(cluster.map((g) => g.shutdown()));
    cluster = [];
  });

  it('joins, carries tags, and detects a member shut down without leaving as failed', async () => {
    cluster = await startCluster(4, 'fail');
    const [a, b] = cluster;
    const m = a!.members().find((x) => x.name === b!.name)!;
    expect(m.tags).to.deep.equal({ role: 'client', dc: 'dc1' });
    expect(m.port).to.be.greaterThan(0);
    const failed: string[] = [];
    a!.on('member-failed', (mi) => failed.push(mi.name));
    const victim = cluster[3]!;
    await victim.shutdown();
    const survivors = cluster.slice(0, 3);
    await waitFor('failure detection', () => survivors.every((g) => status(g, victim.name) === 'failed'), 10_000);
    expect(failed).to.include(victim.name);
    // Survivors agree on each other (a transient suspicion under machine load is tolerated).
    await waitFor('survivors alive', () => allSeeAll(survivors));
  });

  it('sees a graceful leave as left, not failed', async () => {
    cluster = await startCluster(3, 'leave');
    const leaver = cluster[2]!;
    const events: string[] = [];
    cluster[0]!.on('member-leave', (m) => events.push(`leave ${m.name}`));
    cluster[0]!.on('member-failed', (m) => events.push(`failed ${m.name}`));
    await leaver.leave(2000);
    await leaver.shutdown();
    await waitFor('left', () => cluster.slice(0, 2).every((g) => status(g, leaver.name) === 'left'));
    // Stays left (is not turned into failed by later probes).
    await new Promise((r) => setTimeout(r, 1500));
    expect(cluster.slice(0, 2).map((g) => status(g, leaver.name))).to.deep.equal(['left', 'left']);
    expect(events.filter((e) => e.endsWith(leaver.name))).to.deep.equal([`leave ${leaver.name}`]);
  });

  it('spreads user events and tag updates', async () => {
    cluster = await startCluster(3, 'ev');
    const got: UserEvent[] = [];
    cluster[2]!.on('user-event', (e) => got.push(e));
    cluster[0]!.fireEvent('deploy', 'v42');
    cluster[1]!.setTags({ role: 'client', dc: 'dc1', version: '2' });
    await waitFor('event', () => got.length === 1);
    expect(got[0]!.name).to.equal('deploy');
    expect(new TextDecoder().decode(got[0]!.payload)).to.equal('v42');
    await waitFor('tags', () => cluster[2]!.members().find((m) => m.name === cluster[1]!.name)?.tags.version === '2');
    expect(cluster[0]!.userEvents().map((e) => e.name)).to.deep.equal(['deploy']);
  });

  it('encrypts with a keyring and rotates keys across the cluster without downtime', async () => {
    const k1 = generateKey();
    const k2 = generateKey();
    cluster = await startCluster(3, 'enc', () => new Keyring([k1]));
    const [a] = cluster;
    const inst = await a!.installKey(k2);
    expect(inst).to.deep.equal({ members: 3, acks: 3, errors: {} });
    for (const g of cluster) expect(g.listKeys().keys.sort()).to.deep.equal([k1, k2].sort());
    const use = await a!.useKey(k2);
    expect(use.acks).to.equal(3);
    const rm = await a!.removeKey(k1);
    expect(rm.acks).to.equal(3);
    for (const g of cluster) expect(g.listKeys()).to.deep.equal({ keys: [k2], primary: k2 });
    // Still one healthy cluster that gossips under the new key only.
    await waitFor('healthy after rotation', () => allSeeAll(cluster));
    cluster[2]!.fireEvent('rotated');
    await waitFor('event under the new key', () => cluster.every((g) => g.userEvents().some((e) => e.name === 'rotated')));
    const authDropsBefore = a!.stats().droppedAuth;
    // A node with only the old key cannot join; its packets are dropped and counted.
    const outsider = new Gossip({ name: 'enc-out', bindAddr: HOST, bindPort: 0, profile: 'local', keyring: new Keyring([k1]) });
    await outsider.start();
    cluster.push(outsider);
    let err: unknown;
    await outsider.join([a!.address()]).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/swim: join failed/);
    expect(a!.stats().droppedAuth).to.be.greaterThan(authDropsBefore);
    expect(status(a!, 'enc-out')).to.equal(undefined);
  });

  it('survives a garbage, oversized and wrong-key datagram and TCP storm unchanged', async () => {
    const key = generateKey();
    cluster = await startCluster(3, 'storm', () => new Keyring([key]));
    const target = cluster[0]!;
    const before = JSON.stringify(target.members().map((m) => [m.name, m.status, m.incarnation]).sort());
    const [host, portStr] = target.address().split(':');
    const port = Number(portStr);
    const rng = new SeededRng(99);
    const wrong = new Keyring([generateKey()]);
    const forged = encodePacket({ v: 1, msgs: [{ t: MsgType.Dead, node: cluster[1]!.name, inc: 1000, from: 'x' }] });
    const sock = createSocket('udp4');
    const datagrams: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const kind = i % 4;
      if (kind === 0) datagrams.push(Buffer.from(Array.from({ length: 1 + rng.int(1400) }, () => rng.int(256))));
      else if (kind === 1) datagrams.push(Buffer.from(wrong.encrypt(forged)));
      else if (kind === 2) datagrams.push(Buffer.from(forged));
      else datagrams.push(Buffer.alloc(60_000, i & 255));
    }
    // Paced so the kernel's receive buffer does not drop most of them before the agent sees them.
    for (let i = 0; i < datagrams.length; i++) {
      sock.send(datagrams[i]!, port, host);
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 5));
    }
    // TCP: garbage, a frame header claiming 4 GB, wrong-key frames, and half-open connections.
    const tcpPayloads: Buffer[] = [
      Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]),
      Buffer.concat([Buffer.from([0, 0, 0, 50]), Buffer.alloc(50, 7)]),
      (() => {
        const f = wrong.encrypt(forged);
        const h = Buffer.alloc(4);
        h.writeUInt32BE(f.length);
        return Buffer.concat([h, f]);
      })(),
      Buffer.from([0, 0]),
    ];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        new Promise<void>((resolve) => {
          const s = connect({ host, port }, () => s.write(tcpPayloads[i % tcpPayloads.length]!));
          s.on('error', () => resolve());
          s.on('close', () => resolve());
          setTimeout(() => {
            s.destroy();
            resolve();
          }, 1500);
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, 500));
    sock.close();
    const stats = target.stats();
    expect(stats.droppedAuth, JSON.stringify(stats)).to.be.greaterThan(200);
    const after = JSON.stringify(target.members().map((m) => [m.name, m.status, m.incarnation]).sort());
    expect(after).to.equal(before);
    await waitFor('healthy after the storm', () => allSeeAll(cluster));
    // Still fully functional.
    cluster[1]!.fireEvent('after-storm');
    await waitFor('event after storm', () => target.userEvents().some((e) => e.name === 'after-storm'));
  });

  it('refuses a second agent claiming a live member name from another address', async () => {
    cluster = await startCluster(3, 'dup');
    const original = cluster[1]!;
    const conflicts: string[] = [];
    cluster[0]!.on('member-conflict', (m, claimed) => conflicts.push(`${m.name}@${claimed.port}`));
    const impostor = new Gossip({ name: original.name, bindAddr: HOST, bindPort: 0, profile: 'local' });
    await impostor.start();
    cluster.push(impostor);
    await impostor.join([cluster[0]!.address()]);
    const impostorPort = Number(impostor.address().split(':')[1]);
    await waitFor('conflict reported', () => conflicts.length > 0);
    expect(conflicts[0]).to.equal(`${original.name}@${impostorPort}`);
    await new Promise((r) => setTimeout(r, 500));
    for (const g of cluster.slice(0, 3)) {
      const m = g.members().find((x) => x.name === original.name)!;
      expect(m.port, g.name).to.equal(Number(original.address().split(':')[1]));
      expect(m.status, g.name).to.not.equal('failed');
    }
  });
});
