/**
 * Session writes, Consul's semantics, against a {@link WriteTx}.
 *
 * - create: the node must exist and every check the session names must exist and not be
 *   critical (else the message Consul gives). Behavior defaults to `release`.
 * - destroy (and invalidation): the session goes; each key it holds is released (Session
 *   cleared) or deleted, by Behavior, and gets a lock-delay of the session's LockDelay.
 * - Sessions are invalidated when their node goes, or when a check they name goes critical
 *   or is removed: {@link invalidateForNodes} runs after every catalog write.
 */
import type { SessionRequest } from './commands.js';
import type { WriteOutcome } from './kv-writes.js';
import type { WriteTx } from './tx.js';
import { nameKey, type SessionBehavior, type SessionRow } from './types.js';
import { checkKey } from './writes.js';

const BEHAVIORS: readonly string[] = ['release', 'delete'];

/**
 * Destroys session `id`, releasing or deleting its locks. `now` is the wall-clock ms the
 * lock-delay counts from, undefined when the triggering command carried no time (the delay
 * then starts at the next acquire attempt).
 */
export function invalidateSession(tx: WriteTx, id: string, now: number | undefined): void {
  const s = tx.sessions.get(id);
  if (s === undefined) return;
  for (const kv of tx.kvs.by('session', id)) {
    if (s.Behavior === 'delete') tx.deleteKV(kv.Key);
    else tx.putKV({ ...kv, Session: '', ModifyIndex: tx.index });
    if (s.LockDelay > 0) tx.putLockDelay({ Key: kv.Key, Delay: s.LockDelay, Until: now === undefined ? -1 : now + s.LockDelay });
  }
  tx.deleteSession(id);
  tx.sessionEvents.push({ kind: 'destroy', id });
}

/** Why a session on its node is no longer valid, or undefined while it is. */
function invalidReason(tx: WriteTx, s: SessionRow): string | undefined {
  const nk = nameKey(s.Node);
  if (tx.nodes.get(nk) === undefined) return 'node gone';
  const ids = [...s.NodeChecks, ...s.ServiceChecks.map((c) => c.ID)];
  for (const id of ids) {
    const c = tx.checks.get(checkKey(nk, id));
    if (c === undefined) return `check ${id} gone`;
    if (c.Status === 'critical') return `check ${id} critical`;
  }
  return undefined;
}

/** Invalidates every session on the given nodes (name keys) that is no longer valid. */
export function invalidateForNodes(tx: WriteTx, nodeKeys: Iterable<string>): void {
  for (const nk of [...nodeKeys]) {
    for (const s of tx.sessions.by('node', nk)) {
      if (invalidReason(tx, s) !== undefined) invalidateSession(tx, s.ID, undefined);
    }
  }
}

/** Applies a session command. create answers the ID; renew the session row or null. */
export function applySession(tx: WriteTx, req: SessionRequest): WriteOutcome {
  const inp = req.Session;
  switch (req.Op) {
    case 'create': {
      if (!inp.ID) return { ok: false, error: 'Must provide session ID' };
      if (tx.sessions.get(inp.ID) !== undefined) return { ok: false, error: `Session "${inp.ID}" already exists` };
      const node = inp.Node ?? '';
      if (!node) return { ok: false, error: 'Must provide Node' };
      const behavior = inp.Behavior || 'release';
      if (!BEHAVIORS.includes(behavior)) return { ok: false, error: `Invalid Behavior setting "${behavior}"` };
      const nk = nameKey(node);
      const n = tx.nodes.get(nk);
      if (n === undefined) return { ok: false, error: `Missing node registration for "${node}"` };
      const row: SessionRow = {
        ID: inp.ID,
        Name: inp.Name ?? '',
        Node: n.Node,
        LockDelay: inp.LockDelay ?? 0,
        Behavior: behavior as SessionBehavior,
        TTL: inp.TTL ?? 0,
        NodeChecks: [...(inp.NodeChecks ?? [])],
        ServiceChecks: (inp.ServiceChecks ?? []).map((c) => ({ ID: c.ID, Namespace: c.Namespace ?? '' })),
        CreateIndex: tx.index,
        ModifyIndex: tx.index,
      };
      for (const id of [...row.NodeChecks, ...row.ServiceChecks.map((c) => c.ID)]) {
        const c = tx.checks.get(checkKey(nk, id));
        if (c === undefined) return { ok: false, error: `Missing check '${id}' registration` };
        if (c.Status === 'critical') return { ok: false, error: `Check '${id}' is in critical state` };
      }
      tx.putSession(row);
      tx.sessionEvents.push({ kind: 'create', id: row.ID });
      return { ok: true, value: row.ID };
    }
    case 'destroy':
      invalidateSession(tx, inp.ID, req.Now);
      return { ok: true, value: true };
    case 'renew': {
      const s = tx.sessions.get(inp.ID);
      if (s !== undefined) tx.sessionEvents.push({ kind: 'renew', id: s.ID });
      return { ok: true, value: s ?? null };
    }
  }
}
