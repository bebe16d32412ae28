import { expect } from 'chai';
import { CommandType, type Command, type KVSRequest, type TxnKVOp } from '../../../catalog/state/commands.js';
import { StateStore, type ApplyResult } from '../../../catalog/state/store.js';
import type { TxnOutcome } from '../../../catalog/state/index.js';
import { applyEncoded, deregisterCmd, mustApply, nodeReq, registerCmd } from './helpers.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

/** A store with its own index counter, applying through the encoded form. */
class Harness {
  readonly s = new StateStore();
  private i = 0;
  apply(cmd: Command): ApplyResult {
    return applyEncoded(this.s, ++this.i, cmd);
  }
  get index(): number {
    return this.i;
  }
  kv(op: KVSRequest['Op'], key: string, extra: Partial<KVSRequest['DirEnt']> & { value?: string; now?: number } = {}): unknown {
    const { value, now, ...rest } = extra;
    const r = this.apply({ type: CommandType.KVS, req: { Op: op, DirEnt: { Key: key, ...(value !== undefined ? { Value: bytes(value) } : {}), ...rest }, ...(now !== undefined ? { Now: now } : {}) } });
    if (!r.ok) return `error: ${r.error}`;
    return r.value;
  }
  session(id: string, extra: Record<string, unknown> = {}): ApplyResult {
    return this.apply({ type: CommandType.Session, req: { Op: 'create', Session: { ID: id, Node: 'n1', NodeChecks: ['serfHealth'], ...extra } } });
  }
  destroy(id: string, now?: number): ApplyResult {
    return this.apply({ type: CommandType.Session, req: { Op: 'destroy', Session: { ID: id }, ...(now !== undefined ? { Now: now } : {}) } });
  }
  txn(ops: TxnKVOp[], now?: number): TxnOutcome {
    const r = this.apply({ type: CommandType.Txn, req: { Ops: ops.map((KV) => ({ KV })), ...(now !== undefined ? { Now: now } : {}) } });
    expect(r.ok, r.ok ? '' : r.error).to.equal(true);
    return (r as { value: TxnOutcome }).value;
  }
}

const S1 = '11111111-1111-1111-1111-111111111111';
const S2 = '22222222-2222-2222-2222-222222222222';

function withNode(): Harness {
  const h = new Harness();
  expect(h.apply(registerCmd(nodeReq('n1', '203.0.113.1'))).ok).to.equal(true);
  return h;
}

describe('catalog/state KV', () => {
  it('set, get and update keep CreateIndex and move ModifyIndex; Flags and bytes round trip', () => {
    const h = new Harness();
    expect(h.kv('set', 'app/config', { value: 'v1', Flags: 42 })).to.equal(true);
    const first = h.s.kvGet('app/config');
    expect(first.value).to.include({ Key: 'app/config', Flags: 42, LockIndex: 0, Session: '', CreateIndex: 1, ModifyIndex: 1 });
    expect(text(first.value!.Value)).to.equal('v1');
    expect(first.index).to.equal(1);
    h.kv('set', 'app/config', { value: 'v2' });
    const second = h.s.kvGet('app/config');
    expect(second.value).to.include({ CreateIndex: 1, ModifyIndex: 2, Flags: 0 });
    expect(text(second.value!.Value)).to.equal('v2');
    expect(h.s.kvGet('missing').value).to.equal(null);
    expect(h.s.kvGet('missing').index).to.equal(2);
    // Keys are opaque: path-like and odd characters are just strings.
    expect(h.kv('set', '../../etc/passwd', { value: 'x' })).to.equal(true);
    expect(h.s.kvGet('../../etc/passwd').value!.Key).to.equal('../../etc/passwd');
  });

  it('Flags are exact unsigned 64-bit integers: canonical form, snapshot round trip, bad values refused', () => {
    const h = new Harness();
    const LOCK = 0x2ddccbc058a50c18n;
    const MAX = 18446744073709551615n;
    expect(h.kv('set', 'lock', { Flags: LOCK })).to.equal(true);
    expect(h.kv('set', 'max', { Flags: MAX })).to.equal(true);
    // A small bigint is stored as a number, so equal flags have one representation.
    expect(h.kv('set', 'small', { Flags: 5n })).to.equal(true);
    expect(h.s.kvGet('lock').value!.Flags).to.equal(LOCK);
    expect(h.s.kvGet('max').value!.Flags).to.equal(MAX);
    expect(h.s.kvGet('small').value!.Flags).to.equal(5);
    const copy = new StateStore();
    copy.restore(h.s.snapshot());
    expect(copy.kvGet('lock').value!.Flags).to.equal(LOCK);
    expect(copy.kvGet('max').value!.Flags).to.equal(MAX);
    expect(Buffer.from(copy.snapshot()).equals(Buffer.from(h.s.snapshot()))).to.equal(true);
    expect(() => h.kv('set', 'bad', { Flags: MAX + 1n })).to.throw();
    for (const bad of [-1n, -1, 1.5, 2 ** 60]) {
      expect(h.kv('set', 'bad', { Flags: bad as never }), String(bad)).to.match(/^error: .*Flags: expected an unsigned 64-bit integer/);
    }
    expect(h.s.kvGet('bad').value).to.equal(null);
    // The transaction path takes the same values.
    const out = h.txn([{ Verb: 'set', Key: 'txn', Flags: LOCK }]);
    expect(out.Errors).to.equal(null);
    expect(h.s.kvGet('txn').value!.Flags).to.equal(LOCK);
  });

  it('cas: 0 creates only; a stale index loses a race and changes nothing', () => {
    const h = new Harness();
    expect(h.kv('cas', 'k', { value: 'a', ModifyIndex: 0 })).to.equal(true);
    expect(h.kv('cas', 'k', { value: 'b', ModifyIndex: 0 })).to.equal(false);
    const idx = h.s.kvGet('k').value!.ModifyIndex;
    // Two writers read the same index; only the first CAS wins.
    expect(h.kv('cas', 'k', { value: 'w1', ModifyIndex: idx })).to.equal(true);
    expect(h.kv('cas', 'k', { value: 'w2', ModifyIndex: idx })).to.equal(false);
    expect(text(h.s.kvGet('k').value!.Value)).to.equal('w1');
    expect(h.kv('cas', 'nope', { value: 'x', ModifyIndex: 5 })).to.equal(false);
    expect(h.s.kvGet('nope').value).to.equal(null);
  });

  it('delete, delete-cas and delete-tree leave tombstones that move a prefix index forward', () => {
    const h = new Harness();
    h.kv('set', 'a/1', { value: '1' });
    h.kv('set', 'a/2', { value: '2' });
    h.kv('set', 'a/b/3', { value: '3' });
    h.kv('set', 'b/1', { value: 'x' });
    expect(h.s.kvList('a/').value.map((r) => r.Key)).to.deep.equal(['a/1', 'a/2', 'a/b/3']);
    expect(h.s.kvList('a/').index).to.equal(3);
    expect(h.kv('delete', 'a/b/3')).to.equal(true);
    const afterDelete = h.s.kvList('a/');
    expect(afterDelete.value.map((r) => r.Key)).to.deep.equal(['a/1', 'a/2']);
    expect(afterDelete.index, 'the tombstone carries the prefix index past the last write').to.equal(5);
    expect(h.kv('delete-cas', 'a/1', { ModifyIndex: 99 })).to.equal(false);
    expect(h.kv('delete-cas', 'a/1', { ModifyIndex: 1 })).to.equal(true);
    expect(h.kv('delete-cas', 'a/1', { ModifyIndex: 1 }), 'a missing key is already deleted').to.equal(true);
    expect(h.kv('delete-tree', 'a/')).to.equal(true);
    const empty = h.s.kvList('a/');
    expect(empty.value).to.deep.equal([]);
    expect(empty.index).to.equal(9);
    expect(h.s.kvList('b/').value.map((r) => r.Key)).to.deep.equal(['b/1']);
    expect(h.s.kvList('b/').index).to.equal(4);
    // Reaping tombstones up to index 7 keeps the newer ones.
    expect(h.s.tombstonesUpTo(7)).to.equal(2);
    expect(h.apply({ type: CommandType.Tombstone, req: { Op: 'reap', ReapIndex: 7 } }).ok).to.equal(true);
    expect(h.s.tombstonesUpTo(100)).to.equal(1);
    expect(h.s.kvList('a/').index).to.equal(9);
    // A write after delete removes the tombstone.
    h.kv('set', 'a/2', { value: 'again' });
    expect(h.s.tombstonesUpTo(100)).to.equal(0);
  });

  it('keys with a separator roll up to one level', () => {
    const h = new Harness();
    for (const k of ['web/a', 'web/b/c', 'web/b/d', 'web/e/f/g', 'webx']) h.kv('set', k, { value: '' });
    expect(h.s.kvKeys('web/', '/').value).to.deep.equal(['web/a', 'web/b/', 'web/e/']);
    expect(h.s.kvKeys('web', '').value).to.deep.equal(['web/a', 'web/b/c', 'web/b/d', 'web/e/f/g', 'webx']);
    expect(h.s.kvKeys('', '/').value).to.deep.equal(['web/', 'webx']);
  });

  it('watches on a prefix fire for writes and deletes under it only', () => {
    const h = new Harness();
    let fired = 0;
    let other = 0;
    h.s.watch(h.s.kvList('cfg/').watch, () => fired++);
    h.s.watch(h.s.kvGet('zzz').watch, () => other++);
    h.kv('set', 'cfg/x', { value: '1' });
    expect(fired).to.equal(1);
    h.s.watch(h.s.kvList('cfg/').watch, () => fired++);
    h.kv('delete', 'cfg/x');
    expect(fired).to.equal(2);
    h.kv('set', 'other', { value: '1' });
    expect(fired).to.equal(2);
    expect(other).to.equal(0);
  });
});

describe('catalog/state KV watches', () => {
  it('a very long key wakes exactly the watchers of its prefixes, without building every prefix', () => {
    const h = new Harness();
    const long = `big/${'x'.repeat(400_000)}`;
    const fired: string[] = [];
    for (const p of ['big/', 'big/xx', 'bigger', '', long, `${long}y`]) h.s.watch([{ table: 'kvs', prefix: p }], () => fired.push(p === long ? 'long' : p === `${long}y` ? 'longer' : p));
    const t0 = performance.now();
    h.kv('set', long, { value: 'v' });
    expect(performance.now() - t0, 'a write of a 400 kB key').to.be.below(1000);
    expect(fired.sort()).to.deep.equal(['', 'big/', 'big/xx', 'long']);
    expect(h.s.watchCount).to.equal(2);
  });
});

describe('catalog/state sessions and locks', () => {
  it('create needs the node and healthy checks; defaults like Consul', () => {
    const h = new Harness();
    expect(h.session(S1)).to.deep.include({ ok: false, error: 'Missing node registration for "n1"' });
    h.apply(registerCmd(nodeReq('n1', '203.0.113.1', 'critical')));
    expect(h.session(S1)).to.deep.include({ ok: false, error: "Check 'serfHealth' is in critical state" });
    expect(h.session(S1, { NodeChecks: ['nope'] })).to.deep.include({ ok: false, error: "Missing check 'nope' registration" });
    h.apply(registerCmd(nodeReq('n1', '203.0.113.1', 'passing')));
    const r = h.session(S1, { Name: 'worker', LockDelay: 15_000, TTL: 10_000 });
    expect(r).to.deep.include({ ok: true, value: S1 });
    expect(h.s.sessionGet(S1).value).to.include({ ID: S1, Name: 'worker', Node: 'n1', Behavior: 'release', LockDelay: 15_000, TTL: 10_000 });
    expect(h.s.nodeSessions('N1').value.map((x) => x.ID)).to.deep.equal([S1]);
    expect(h.session(S2, { Behavior: 'explode' })).to.deep.include({ ok: false, error: 'Invalid Behavior setting "explode"' });
  });

  it('lock contention: one holder at a time; LockIndex counts new acquisitions only', () => {
    const h = withNode();
    h.session(S1);
    h.session(S2);
    expect(h.kv('lock', 'svc/leader', { Session: 'bogus', value: 'x' })).to.equal('error: invalid session "bogus"');
    expect(h.kv('lock', 'svc/leader', { Session: S1, value: 'me' })).to.equal(true);
    expect(h.s.kvGet('svc/leader').value).to.include({ Session: S1, LockIndex: 1 });
    expect(h.kv('lock', 'svc/leader', { Session: S2, value: 'you' })).to.equal(false);
    expect(h.kv('lock', 'svc/leader', { Session: S1, value: 'me again' }), 're-acquire by the holder').to.equal(true);
    expect(h.s.kvGet('svc/leader').value).to.include({ Session: S1, LockIndex: 1 });
    // A plain set keeps the holder.
    h.kv('set', 'svc/leader', { value: 'plain' });
    expect(h.s.kvGet('svc/leader').value).to.include({ Session: S1, LockIndex: 1 });
    expect(h.kv('unlock', 'svc/leader', { Session: S2 })).to.equal(false);
    expect(h.kv('unlock', 'svc/leader', { Session: S1 })).to.equal(true);
    expect(h.s.kvGet('svc/leader').value).to.include({ Session: '', LockIndex: 1 });
    expect(h.kv('lock', 'svc/leader', { Session: S2 })).to.equal(true);
    expect(h.s.kvGet('svc/leader').value).to.include({ Session: S2, LockIndex: 2 });
  });

  it('destroy releases locks and starts the lock-delay; behavior delete deletes the keys', () => {
    const h = withNode();
    const t0 = 1_000_000;
    h.session(S1, { LockDelay: 15_000 });
    h.session(S2, { LockDelay: 0 });
    h.kv('lock', 'l', { Session: S1, now: t0 });
    expect(h.destroy(S1, t0 + 100).ok).to.equal(true);
    expect(h.s.sessionGet(S1).value).to.equal(null);
    expect(h.s.kvGet('l').value).to.include({ Session: '', LockIndex: 1 });
    expect(h.kv('lock', 'l', { Session: S2, now: t0 + 15_000 }), 'inside the lock-delay').to.equal(false);
    expect(h.kv('lock', 'l', { Session: S2, now: t0 + 15_100 }), 'after the lock-delay').to.equal(true);

    const S3 = '33333333-3333-3333-3333-333333333333';
    h.session(S3, { Behavior: 'delete' });
    h.kv('lock', 'ephemeral', { Session: S3, value: 'x', now: t0 });
    h.destroy(S3, t0);
    expect(h.s.kvGet('ephemeral').value).to.equal(null);
  });

  it('a critical serfHealth invalidates the node\'s sessions; the delay starts at the next attempt', () => {
    const h = withNode();
    h.apply(registerCmd(nodeReq('n2', '203.0.113.2')));
    h.session(S1, { LockDelay: 5_000 });
    h.apply({ type: CommandType.Session, req: { Op: 'create', Session: { ID: S2, Node: 'n2', NodeChecks: ['serfHealth'] } } });
    h.kv('lock', 'leader', { Session: S1, value: 'n1', now: 10 });
    h.apply(registerCmd(nodeReq('n1', '203.0.113.1', 'warning')));
    expect(h.s.sessionGet(S1).value, 'warning keeps it').to.not.equal(null);
    h.apply(registerCmd(nodeReq('n1', '203.0.113.1', 'critical')));
    expect(h.s.sessionGet(S1).value).to.equal(null);
    expect(h.s.kvGet('leader').value).to.include({ Session: '' });
    expect(h.kv('lock', 'leader', { Session: S2, now: 50_000 }), 'first attempt starts the delay').to.equal(false);
    expect(h.kv('lock', 'leader', { Session: S2, now: 54_999 })).to.equal(false);
    expect(h.kv('lock', 'leader', { Session: S2, now: 55_000 })).to.equal(true);
    expect(h.s.kvGet('leader').value).to.include({ Session: S2, LockIndex: 2 });
  });

  it('node deregistration and check removal invalidate sessions', () => {
    const h = withNode();
    h.session(S1);
    h.apply(registerCmd({ Node: 'n1', Address: '203.0.113.1', Check: { CheckID: 'app', Status: 'passing' } }));
    h.session(S2, { NodeChecks: ['app'] });
    h.apply(deregisterCmd({ Node: 'n1', CheckID: 'app' }));
    expect(h.s.sessionGet(S2).value).to.equal(null);
    expect(h.s.sessionGet(S1).value).to.not.equal(null);
    h.apply(deregisterCmd({ Node: 'n1' }));
    expect(h.s.sessionList().value).to.deep.equal([]);
  });

  it('renew answers the session (or null) and changes nothing', () => {
    const h = withNode();
    h.session(S1, { TTL: 10_000 });
    const before = h.s.snapshot();
    const r = h.apply({ type: CommandType.Session, req: { Op: 'renew', Session: { ID: S1 } } });
    expect(r.ok && (r.value as { ID: string }).ID).to.equal(S1);
    const gone = h.apply({ type: CommandType.Session, req: { Op: 'renew', Session: { ID: S2 } } });
    expect(gone).to.deep.include({ ok: true, value: null });
    const after = new StateStore();
    after.restore(h.s.snapshot());
    const b = new StateStore();
    b.restore(before);
    expect(after.sessionList().value).to.deep.equal(b.sessionList().value);
  });

  it('reports session events to listeners on commit only', () => {
    const h = withNode();
    const seen: string[] = [];
    h.s.onSessionEvent((e) => seen.push(`${e.kind}${'id' in e ? ` ${e.id.slice(0, 1)}` : ''}`));
    h.session(S1);
    h.session(S1); // refused: already exists
    h.apply({ type: CommandType.Session, req: { Op: 'renew', Session: { ID: S1 } } });
    h.apply(registerCmd(nodeReq('n1', '203.0.113.1', 'critical')));
    expect(seen).to.deep.equal(['create 1', 'renew 1', 'destroy 1']);
  });
});

describe('catalog/state transactions', () => {
  it('commits every op and answers results (values only for reads)', () => {
    const h = withNode();
    h.session(S1);
    h.kv('set', 'x', { value: 'old' });
    const out = h.txn([
      { Verb: 'set', Key: 'a', Value: bytes('1'), Flags: 7 },
      { Verb: 'cas', Key: 'x', Value: bytes('new'), Index: 3 },
      { Verb: 'lock', Key: 'l', Session: S1, Value: bytes('held') },
      { Verb: 'get', Key: 'x' },
      { Verb: 'check-not-exists', Key: 'zzz' },
      { Verb: 'check-session', Key: 'l', Session: S1 },
      { Verb: 'get-tree', Key: '' },
      { Verb: 'delete', Key: 'a' },
    ]);
    expect(out.Errors).to.equal(null);
    expect(out.Results!.map((r) => r.KV.Key)).to.deep.equal(['a', 'x', 'l', 'x', 'l', 'a', 'l', 'x']);
    expect(out.Results![0]!.KV.Value).to.equal(null);
    expect(text(out.Results![3]!.KV.Value!)).to.equal('new');
    expect(h.s.kvGet('a').value).to.equal(null);
    expect(h.s.kvGet('l').value).to.include({ Session: S1, LockIndex: 1, ModifyIndex: h.index });
  });

  it('rolls back everything on any failure and reports each failing op by index', () => {
    const h = withNode();
    h.session(S1);
    h.session(S2);
    h.kv('set', 'x', { value: 'keep' });
    h.kv('lock', 'l', { Session: S2 });
    const snap = h.s.snapshot();
    const out = h.txn([
      { Verb: 'set', Key: 'new', Value: bytes('1') },
      { Verb: 'cas', Key: 'x', Value: bytes('2'), Index: 1 },
      { Verb: 'lock', Key: 'l', Session: S1 },
      { Verb: 'check-index', Key: 'gone', Index: 3 },
      { Verb: 'get', Key: 'gone' },
      { Verb: 'unlock', Key: 'l', Session: S1 },
      { Verb: 'check-not-exists', Key: 'x' },
      { Verb: 'delete-tree', Key: '' },
    ]);
    expect(out.Results).to.equal(null);
    expect(out.Errors).to.deep.equal([
      { OpIndex: 1, What: 'failed to set key "x", index is stale' },
      { OpIndex: 2, What: 'failed to lock key "l", lock is already held' },
      { OpIndex: 3, What: 'key "gone" doesn\'t exist' },
      { OpIndex: 4, What: 'key "gone" doesn\'t exist' },
      { OpIndex: 5, What: 'failed to unlock key "l", lock isn\'t held, or is held by another session' },
      { OpIndex: 6, What: 'key "x" exists' },
    ]);
    const restored = new StateStore();
    restored.restore(snap);
    const now = new StateStore();
    now.restore(h.s.snapshot());
    expect(now.kvList('').value).to.deep.equal(restored.kvList('').value);
    expect(h.s.kvList('').index, 'a rolled-back txn moves no index').to.equal(restored.kvList('').index);
  });

  it('refuses more than 64 ops', () => {
    const h = new Harness();
    const r = h.apply({ type: CommandType.Txn, req: { Ops: Array.from({ length: 65 }, (_, i) => ({ KV: { Verb: 'set' as const, Key: `k${i}` } })) } });
    expect(r).to.deep.include({ ok: false });
  });
});

describe('catalog/state KV snapshot and restore', () => {
  it('round-trips KVs, sessions, tombstones and lock-delays byte for byte', () => {
    const h = withNode();
    h.session(S1, { LockDelay: 1000 });
    h.kv('set', 'a', { value: 'bin\u0000ary' });
    h.kv('lock', 'b', { Session: S1 });
    h.kv('set', 'gone', { value: 'x' });
    h.kv('delete', 'gone');
    h.session(S2);
    h.kv('lock', 'c', { Session: S2 });
    h.destroy(S2, 5);
    const bytes1 = h.s.snapshot();
    const b = new StateStore();
    b.restore(bytes1);
    expect(Buffer.from(b.snapshot()).equals(Buffer.from(bytes1))).to.equal(true);
    expect(text(b.kvGet('a').value!.Value)).to.equal('bin\u0000ary');
    expect(b.kvGet('b').value!.Session).to.equal(S1);
    expect(b.kvList('gone').index).to.equal(h.s.kvList('gone').index);
  });

  it('a Restore command installs a snapshot at its index, clamping newer indexes', () => {
    const src = withNode();
    for (let i = 0; i < 20; i++) src.kv('set', `k${i}`, { value: String(i) });
    const dst = new Harness();
    dst.kv('set', 'will-be-replaced', { value: 'x' });
    const r = dst.apply({ type: CommandType.Restore, req: { Data: src.s.snapshot() } });
    expect(r.ok).to.equal(true);
    expect(dst.s.lastIndex).to.equal(2);
    expect(dst.s.kvGet('will-be-replaced').value).to.equal(null);
    expect(dst.s.kvList('').value.map((x) => text(x.Value))).to.have.length(20);
    expect(Math.max(...dst.s.kvList('').value.map((x) => x.ModifyIndex))).to.equal(2);
    expect(dst.kv('cas', 'k3', { value: 'new', ModifyIndex: 2 })).to.equal(true);
    const bad = dst.apply({ type: CommandType.Restore, req: { Data: bytes('garbage') } });
    expect(bad.ok).to.equal(false);
    expect(text(dst.s.kvGet('k3').value!.Value)).to.equal('new');
  });

  it('fails a txn against missing sessions with its message', () => {
    const h = new Harness();
    const out = h.txn([{ Verb: 'lock', Key: 'x', Session: S1 }]);
    expect(out.Errors).to.deep.equal([{ OpIndex: 0, What: `invalid session "${S1}"` }]);
    mustApply(h.s, h.index + 1, registerCmd(nodeReq('n9', '203.0.113.9')));
  });
});
