/**
 * `PUT /v1/txn`: Consul's transaction endpoint, KV operations only. The body is a JSON array
 * of `{"KV": {Verb, Key, Value (base64), Flags, Index, Session}}`; more than
 * {@link MAX_TXN_OPS} operations is a 413. A transaction of read verbs only is served as a
 * read (`?stale`/`?consistent` apply, X-Consul-Index is set) without a Raft entry. Answers 200 `{Results, Errors: null}` when every
 * op succeeded, 409 `{Results: null, Errors: [{OpIndex, What}]}` when it was rolled back.
 */
import type { RouteModule } from '../app.js';
import { sendJson } from '../app.js';
import { readJson } from '../body.js';
import { BadRequestError, HttpError } from '../errors.js';
import { dirEntryJson } from '../kv-views.js';
import { commitValue, now, MAX_KV_SIZE } from './kv.js';
import { readWithMeta } from '../read.js';
import { parseJsonExactFlags } from '../../runtime/json64.js';
import { canonicalFlags, CommandType, MAX_TXN_OPS, TXN_KV_VERBS, type TxnKVOp, type TxnKVVerb, type TxnOutcome } from '../../../catalog/state/index.js';

/** Verbs that only read: a transaction of these alone is a read (consistency modes apply, no Raft entry). */
const READ_VERBS: ReadonlySet<string> = new Set(['get', 'get-tree', 'check-index', 'check-session', 'check-not-exists']);

/** Consul's txn body cap: the ops plus their values. */
const MAX_TXN_BODY = MAX_TXN_OPS * MAX_KV_SIZE;

function field<T>(o: Record<string, unknown>, name: string): T | undefined {
  for (const [k, v] of Object.entries(o)) if (k.toLowerCase() === name.toLowerCase()) return (v ?? undefined) as T | undefined;
  return undefined;
}

function decodeOp(raw: unknown, i: number): TxnKVOp {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new BadRequestError(`Operation ${i}: expected an object`);
  const kv = field<Record<string, unknown>>(raw as Record<string, unknown>, 'KV');
  if (kv === undefined || typeof kv !== 'object') throw new BadRequestError(`Operation ${i}: only KV operations are supported`);
  const verb = field<string>(kv, 'Verb');
  if (typeof verb !== 'string' || !(TXN_KV_VERBS as readonly string[]).includes(verb)) throw new BadRequestError(`Operation ${i}: unknown KV verb "${String(verb)}"`);
  const key = field<string>(kv, 'Key') ?? '';
  if (typeof key !== 'string') throw new BadRequestError(`Operation ${i}: Key: expected a string`);
  const value = field<string>(kv, 'Value');
  if (value !== undefined && typeof value !== 'string') throw new BadRequestError(`Operation ${i}: Value: expected base64 text`);
  const bytes = value === undefined ? undefined : Buffer.from(value, 'base64');
  if (bytes !== undefined && bytes.length > MAX_KV_SIZE) throw new HttpError(413, `Operation ${i}: Value exceeds ${MAX_KV_SIZE} byte limit`);
  const int = (n: string): number | undefined => {
    const v = field<unknown>(kv, n);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new BadRequestError(`Operation ${i}: ${n}: expected a non-negative integer`);
    return v;
  };
  const session = field<string>(kv, 'Session');
  if (session !== undefined && typeof session !== 'string') throw new BadRequestError(`Operation ${i}: Session: expected a string`);
  const op: TxnKVOp = { Verb: verb as TxnKVVerb, Key: key };
  if (bytes !== undefined) op.Value = bytes;
  const rawFlags = field<unknown>(kv, 'Flags');
  if (rawFlags !== undefined) {
    const flags = canonicalFlags(rawFlags);
    if (flags === undefined) throw new BadRequestError(`Operation ${i}: Flags: expected an unsigned 64-bit integer`);
    op.Flags = flags;
  }
  const index = int('Index');
  if (index !== undefined) op.Index = index;
  if (session !== undefined) op.Session = session;
  return op;
}

export const txnRoutes: RouteModule = (router, deps) => {
  router.put('/v1/txn', async (ctx) => {
    const body = await readJson(ctx, MAX_TXN_BODY, parseJsonExactFlags);
    if (!Array.isArray(body)) throw new BadRequestError('Failed to parse body: expected an array of operations');
    if (body.length > MAX_TXN_OPS) throw new HttpError(413, `Transaction contains too many operations (${body.length} > ${MAX_TXN_OPS})`);
    const ops = body.map((o, i) => ({ KV: decodeOp(o, i) }));
    const readOnly = ops.every((o) => READ_VERBS.has(o.KV.Verb));
    const out = readOnly
      ? await readWithMeta(ctx, deps, { op: 'txnRead', ops: ops.map((o) => o.KV) })
      : ((await commitValue(deps, { type: CommandType.Txn, req: { Ops: ops, Now: now(deps) } })) as TxnOutcome);
    if (out.Errors !== null && out.Errors.length > 0) {
      ctx.status = 409;
      sendJson(ctx, { Results: null, Errors: out.Errors });
      return;
    }
    sendJson(ctx, { Results: (out.Results ?? []).map((r) => ({ KV: dirEntryJson(r.KV) })), Errors: null });
  });
};
