/**
 * KV writes, Consul's semantics, against a {@link WriteTx}: set, cas, delete, delete-cas,
 * delete-tree, lock and unlock, plus transactions of those and of reads and checks.
 *
 * Rules (as Consul's state store):
 * - `set` keeps the entry's Session and LockIndex; CreateIndex survives updates.
 * - `cas` with ModifyIndex 0 creates only; otherwise the entry must exist with that index.
 * - `delete-cas` succeeds on a missing key (nothing to delete) and on a matching index.
 * - `lock` needs an existing session; it fails (false) when another session holds the key or
 *   a lock-delay is running; a new holder increments LockIndex, the holder re-acquiring does not.
 * - `unlock` succeeds only for the holder; it clears Session and keeps LockIndex.
 * - Every delete leaves a tombstone (see {@link WriteTx.deleteKV}).
 */
import type { KVSRequest, TxnKVOp, TxnRequest } from './commands.js';
import type { WriteTx } from './tx.js';
import type { KVRow } from './types.js';
import type { KVFlags } from './flags.js';

/** What a write produced: a value for the caller, or an error (the caller rolls back). */
export type WriteOutcome = { ok: true; value?: unknown; rollback?: boolean } | { ok: false; error: string };

const EMPTY = new Uint8Array(0);

interface EntryInput {
  Key: string;
  Flags?: KVFlags;
  Value?: Uint8Array | null;
}

function writeEntry(tx: WriteTx, e: EntryInput, session?: { id: string; newHolder: boolean }): KVRow {
  const old = tx.kvs.get(e.Key);
  const row: KVRow = {
    Key: e.Key,
    Flags: e.Flags ?? 0,
    Value: e.Value ?? EMPTY,
    LockIndex: (old?.LockIndex ?? 0) + (session?.newHolder ? 1 : 0),
    Session: session ? session.id : (old?.Session ?? ''),
    CreateIndex: old?.CreateIndex ?? tx.index,
    ModifyIndex: tx.index,
  };
  tx.putKV(row);
  return row;
}

/** Keys under `prefix`, sorted (byte-wise on UTF-16 units, like Go's string order for ASCII). */
export function keysUnder(tx: { kvs: { values(): IterableIterator<KVRow> } }, prefix: string): KVRow[] {
  const out: KVRow[] = [];
  for (const r of tx.kvs.values()) if (r.Key.startsWith(prefix)) out.push(r);
  return out.sort((a, b) => (a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0));
}

type LockResult = true | false | string;

function lock(tx: WriteTx, e: EntryInput, session: string, now: number | undefined): LockResult {
  if (!session) return 'missing session';
  if (tx.sessions.get(session) === undefined) return `invalid session "${session}"`;
  const old = tx.kvs.get(e.Key);
  if (old !== undefined && old.Session === session) {
    writeEntry(tx, e, { id: session, newHolder: false });
    return true;
  }
  if (old !== undefined && old.Session !== '') return false;
  const delay = tx.lockDelays.get(e.Key);
  if (delay !== undefined) {
    const t = now ?? 0;
    if (delay.Until === -1) {
      // The invalidation carried no time: the delay starts at this first attempt.
      tx.putLockDelay({ ...delay, Until: t + delay.Delay });
      return false;
    }
    if (t < delay.Until) return false;
    tx.deleteLockDelay(e.Key);
  }
  writeEntry(tx, e, { id: session, newHolder: true });
  return true;
}

function unlock(tx: WriteTx, e: EntryInput, session: string): boolean {
  const old = tx.kvs.get(e.Key);
  if (old === undefined || old.Session === '' || old.Session !== session) return false;
  writeEntry(tx, e, { id: '', newHolder: false });
  return true;
}

function cas(tx: WriteTx, e: EntryInput, index: number): boolean {
  const old = tx.kvs.get(e.Key);
  if (index === 0 ? old !== undefined : old === undefined || old.ModifyIndex !== index) return false;
  writeEntry(tx, e);
  return true;
}

function deleteCas(tx: WriteTx, key: string, index: number): boolean {
  const old = tx.kvs.get(key);
  if (old === undefined) return true;
  if (old.ModifyIndex !== index) return false;
  tx.deleteKV(key);
  return true;
}

function deleteTree(tx: WriteTx, prefix: string): void {
  for (const r of keysUnder(tx, prefix)) tx.deleteKV(r.Key);
}

/** Applies one KVS command; the value is the boolean Consul's `PUT/DELETE /v1/kv` answers. */
export function applyKVS(tx: WriteTx, req: KVSRequest): WriteOutcome {
  const d = req.DirEnt;
  switch (req.Op) {
    case 'set':
      writeEntry(tx, d);
      return { ok: true, value: true };
    case 'cas':
      return { ok: true, value: cas(tx, d, d.ModifyIndex ?? 0) };
    case 'delete':
      tx.deleteKV(d.Key);
      return { ok: true, value: true };
    case 'delete-cas':
      return { ok: true, value: deleteCas(tx, d.Key, d.ModifyIndex ?? 0) };
    case 'delete-tree':
      deleteTree(tx, d.Key);
      return { ok: true, value: true };
    case 'lock': {
      const r = lock(tx, d, d.Session ?? '', req.Now);
      return typeof r === 'string' ? { ok: false, error: r } : { ok: true, value: r };
    }
    case 'unlock':
      return { ok: true, value: unlock(tx, d, d.Session ?? '') };
  }
}

/** Consul's TxnError. */
export interface TxnErrorView {
  OpIndex: number;
  What: string;
}

/** Consul's TxnResult for KV ops; Value is present for get/get-tree only (null otherwise). */
export interface TxnResultView {
  KV: KVRow | (Omit<KVRow, 'Value'> & { Value: null });
}

/** The answer of a transaction: Results when it committed, Errors (and nothing changed) otherwise. */
export interface TxnOutcome {
  Results: TxnResultView[] | null;
  Errors: TxnErrorView[] | null;
}

const blank = (r: KVRow): TxnResultView => ({ KV: { ...r, Value: null } });

function txnOp(tx: WriteTx, op: TxnKVOp, now: number | undefined, results: TxnResultView[]): string | undefined {
  const key = op.Key;
  const e: EntryInput = { Key: key, Flags: op.Flags, Value: op.Value };
  const existing = (): KVRow | undefined => tx.kvs.get(key);
  switch (op.Verb) {
    case 'get': {
      const r = existing();
      if (r === undefined) return `key "${key}" doesn't exist`;
      results.push({ KV: r });
      return undefined;
    }
    case 'get-tree':
      for (const r of keysUnder(tx, key)) results.push({ KV: r });
      return undefined;
    case 'check-index': {
      const r = existing();
      if (r === undefined) return `key "${key}" doesn't exist`;
      if (r.ModifyIndex !== (op.Index ?? 0)) return `current modify index ${r.ModifyIndex} != ${op.Index ?? 0}`;
      results.push(blank(r));
      return undefined;
    }
    case 'check-session': {
      const r = existing();
      if (r === undefined) return `key "${key}" doesn't exist`;
      if (r.Session !== (op.Session ?? '')) return `current session "${r.Session}" != "${op.Session ?? ''}"`;
      results.push(blank(r));
      return undefined;
    }
    case 'check-not-exists':
      if (existing() !== undefined) return `key "${key}" exists`;
      return undefined;
    case 'set':
      results.push(blank(writeEntry(tx, e)));
      return undefined;
    case 'cas':
      if (!cas(tx, e, op.Index ?? 0)) return `failed to set key "${key}", index is stale`;
      results.push(blank(existing()!));
      return undefined;
    case 'lock': {
      const r = lock(tx, e, op.Session ?? '', now);
      if (typeof r === 'string') return r;
      if (!r) return `failed to lock key "${key}", lock is already held`;
      results.push(blank(existing()!));
      return undefined;
    }
    case 'unlock':
      if (!unlock(tx, e, op.Session ?? '')) return `failed to unlock key "${key}", lock isn't held, or is held by another session`;
      results.push(blank(existing()!));
      return undefined;
    case 'delete':
      tx.deleteKV(key);
      return undefined;
    case 'delete-tree':
      deleteTree(tx, key);
      return undefined;
    case 'delete-cas':
      if (!deleteCas(tx, key, op.Index ?? 0)) return `failed to delete key "${key}", index is stale`;
      return undefined;
  }
}

/** Verbs that only read; a transaction of these alone is served as a read (no Raft entry). */
export const TXN_READ_VERBS: ReadonlySet<string> = new Set(['get', 'get-tree', 'check-index', 'check-session', 'check-not-exists']);

/**
 * Applies a transaction: every op runs (so every failing op is reported, each with its
 * OpIndex); if any failed, the whole transaction is rolled back and the value carries the
 * Errors; otherwise it carries the Results.
 */
export function applyTxn(tx: WriteTx, req: TxnRequest, maxOps: number): WriteOutcome {
  if (req.Ops.length > maxOps) return { ok: false, error: `Transaction contains too many operations (${req.Ops.length} > ${maxOps})` };
  const results: TxnResultView[] = [];
  const errors: TxnErrorView[] = [];
  req.Ops.forEach((op, i) => {
    const what = txnOp(tx, op.KV, req.Now, results);
    if (what !== undefined) errors.push({ OpIndex: i, What: what });
  });
  if (errors.length > 0) return { ok: true, value: { Results: null, Errors: errors } satisfies TxnOutcome, rollback: true };
  return { ok: true, value: { Results: results, Errors: null } satisfies TxnOutcome };
}
