/**
 * Commands of the catalog state machine: what a Raft log entry carries. A command is encoded
 * with msgpack as the two-element array `[type, body]`.
 *
 * Numbering is append-only: never renumber, never reuse. Numbers follow Consul's Raft
 * message types where one exists (0 register, 1 deregister, 2 KV, 3 session, 5 tombstone,
 * 8 txn); the reserved ones are decoded by later versions only.
 */
import { Packr, type Options } from 'msgpackr';
import { CommandDecodeError } from './errors.js';
import { canonicalFlags, type KVFlags } from './flags.js';
import type { ServiceAddress, StringMap, Weights } from './types.js';

export const CommandType = {
  Register: 0,
  Deregister: 1,
  /** KV set/cas/delete/delete-cas/delete-tree/lock/unlock. */
  KVS: 2,
  /** Session create/destroy/renew. */
  Session: 3,
  /** Tombstone reap (leader's garbage collection). */
  Tombstone: 5,
  /** KV transactions: up to 64 ops, all or nothing. */
  Txn: 8,
  /** Several commands applied all-or-nothing at one index. */
  Batch: 9,
  /** Replaces the whole state with a snapshot (`PUT /v1/snapshot`). */
  Restore: 10,
} as const;
export type CommandType = (typeof CommandType)[keyof typeof CommandType];

const RESERVED: ReadonlyMap<number, string> = new Map([
  [4, 'reserved'], [6, 'reserved'], [7, 'reserved'],
]);

/** Consul's KVS ops (`api.KVOp`). */
export const KV_OPS = ['set', 'cas', 'delete', 'delete-cas', 'delete-tree', 'lock', 'unlock'] as const;
export type KVOp = (typeof KV_OPS)[number];

/** Consul's KV entry as a write carries it (DirEnt). */
export interface DirEntInput {
  Key: string;
  Flags?: KVFlags;
  Value?: Uint8Array | null;
  /** lock/unlock: the session acquiring or releasing. */
  Session?: string;
  /** cas/delete-cas: the index the entry must still have (0: must not exist). */
  ModifyIndex?: number;
}

/**
 * A KV write. `Now` (wall-clock ms of the proposer) is needed by `lock`, which must honour
 * a lock-delay; apply never reads a clock.
 */
export interface KVSRequest {
  Op: KVOp;
  DirEnt: DirEntInput;
  Now?: number;
}

export const SESSION_OPS = ['create', 'destroy', 'renew'] as const;
export type SessionOp = (typeof SESSION_OPS)[number];

/** Session fields of a create (defaults are filled in by the HTTP layer, like Consul's). */
export interface SessionInput {
  /** UUID chosen by the proposer (apply must not generate randomness). */
  ID: string;
  Name?: string;
  Node?: string;
  /** Milliseconds. */
  LockDelay?: number;
  Behavior?: string;
  /** Milliseconds; 0 for none. */
  TTL?: number;
  NodeChecks?: string[];
  ServiceChecks?: Array<{ ID: string; Namespace?: string }>;
}

/**
 * A session write. `renew` changes nothing in the state: it is replicated so the leader's
 * TTL timers (wherever leadership is) see it, and answers whether the session exists.
 * `Now` dates the lock-delay of locks a `destroy` releases.
 */
export interface SessionRequest {
  Op: SessionOp;
  Session: SessionInput;
  Now?: number;
}

/** Removes every tombstone with Index <= ReapIndex. */
export interface TombstoneRequest {
  Op: 'reap';
  ReapIndex: number;
}

export const TXN_KV_VERBS = [
  'set', 'cas', 'get', 'get-tree', 'check-index', 'check-session', 'check-not-exists',
  'delete', 'delete-tree', 'delete-cas', 'lock', 'unlock',
] as const;
export type TxnKVVerb = (typeof TXN_KV_VERBS)[number];

/** One KV operation of a transaction (Consul's TxnKVOp with its KV fields flattened). */
export interface TxnKVOp {
  Verb: TxnKVVerb;
  Key: string;
  Value?: Uint8Array | null;
  Flags?: KVFlags;
  /** cas, delete-cas, check-index: the expected ModifyIndex. */
  Index?: number;
  /** lock, unlock, check-session. */
  Session?: string;
}

/** At most {@link MAX_TXN_OPS} KV ops applied all or nothing. */
export interface TxnRequest {
  Ops: Array<{ KV: TxnKVOp }>;
  Now?: number;
}

/** Consul's limit on operations in one transaction. */
export const MAX_TXN_OPS = 64;

/** A whole-state snapshot (as `StateStore.snapshot()` encodes it) to install at this index. */
export interface RestoreRequest {
  Data: Uint8Array;
}

/** Service part of a catalog registration (Consul's AgentService/NodeService fields). */
export interface ServiceDefinition {
  /** Defaults to `Service`. Unique per node. */
  ID?: string;
  Service: string;
  Tags?: string[];
  /** '' means "use the node address". */
  Address?: string;
  TaggedAddresses?: Record<string, ServiceAddress>;
  Meta?: StringMap;
  Port?: number;
  /** Defaults to {Passing: 1, Warning: 1}. */
  Weights?: Weights;
  EnableTagOverride?: boolean;
  Kind?: string;
}

/** Check part of a catalog registration (Consul's HealthCheck fields). */
export interface CheckDefinition {
  /** Defaults to the registration's Node; must name the same node. */
  Node?: string;
  /** Defaults to `Name`. Unique per node. */
  CheckID?: string;
  Name?: string;
  /** Defaults to 'critical', like Consul. */
  Status?: string;
  Notes?: string;
  Output?: string;
  /** Service instance on the same node this check belongs to; '' for a node-level check. */
  ServiceID?: string;
  Type?: string;
  Definition?: Record<string, unknown> | null;
}

/** Consul's catalog register request (`PUT /v1/catalog/register` body). */
export interface RegisterRequest {
  Datacenter?: string;
  /** Node UUID. */
  ID?: string;
  Node: string;
  Address?: string;
  TaggedAddresses?: StringMap;
  NodeMeta?: StringMap;
  Service?: ServiceDefinition | null;
  Check?: CheckDefinition | null;
  Checks?: CheckDefinition[] | null;
  /** When true and the node exists, its row is left as it is. */
  SkipNodeUpdate?: boolean;
}

/**
 * Consul's catalog deregister request. With neither ServiceID nor CheckID the whole node goes
 * (with its services and checks); otherwise the named service (with its checks) and/or check.
 */
export interface DeregisterRequest {
  Datacenter?: string;
  Node: string;
  ServiceID?: string;
  CheckID?: string;
}

export type Command =
  | { type: typeof CommandType.Register; req: RegisterRequest }
  | { type: typeof CommandType.Deregister; req: DeregisterRequest }
  | { type: typeof CommandType.Batch; commands: Command[] }
  | { type: typeof CommandType.KVS; req: KVSRequest }
  | { type: typeof CommandType.Session; req: SessionRequest }
  | { type: typeof CommandType.Tombstone; req: TombstoneRequest }
  | { type: typeof CommandType.Txn; req: TxnRequest }
  | { type: typeof CommandType.Restore; req: RestoreRequest };

/**
 * `undefined` members are left out (msgpack would otherwise carry them as an extension type).
 * `skipValues` is in msgpackr's README but not in its typings.
 */
const packrOptions: Options & { skipValues: unknown[] } = { useRecords: false, mapsAsObjects: true, variableMapSize: true, skipValues: [undefined] };
const packr = new Packr(packrOptions);

function body(cmd: Command): unknown {
  if (cmd.type === CommandType.Batch) return cmd.commands.map((c) => [c.type, body(c)]);
  return cmd.req;
}

/** Encodes a command for a Raft log entry. */
export function encodeCommand(cmd: Command): Uint8Array {
  return packr.pack([cmd.type, body(cmd)]);
}

/**
 * Decodes and type-checks an encoded command. Throws {@link CommandDecodeError} naming the
 * problem (not msgpack, unknown or reserved type, a field of the wrong type). Semantic checks
 * (does the node exist?) are left to `apply`.
 */
export function decodeCommand(data: Uint8Array): Command {
  let raw: unknown;
  try {
    raw = packr.unpack(data);
  } catch (err) {
    throw new CommandDecodeError(`not msgpack (${(err as Error).message})`, { cause: err });
  }
  return fromRaw(raw, 'command', 0);
}

const MAX_BATCH_DEPTH = 1;

function fromRaw(raw: unknown, path: string, depth: number): Command {
  if (!Array.isArray(raw) || raw.length !== 2 || typeof raw[0] !== 'number') {
    throw new CommandDecodeError(`${path}: expected [type, body]`);
  }
  const [type, b] = raw as [number, unknown];
  switch (type) {
    case CommandType.Register:
      return { type, req: checkRegister(b, `${path}.Register`) };
    case CommandType.Deregister:
      return { type, req: checkDeregister(b, `${path}.Deregister`) };
    case CommandType.KVS:
      return { type, req: checkKVS(b, `${path}.KVS`) };
    case CommandType.Session:
      return { type, req: checkSession(b, `${path}.Session`) };
    case CommandType.Tombstone: {
      const o = obj(b, `${path}.Tombstone`);
      if (o.Op !== 'reap') throw new CommandDecodeError(`${path}.Tombstone.Op: expected "reap"`);
      if (!Number.isInteger(o.ReapIndex)) throw new CommandDecodeError(`${path}.Tombstone.ReapIndex: expected an integer`);
      return { type, req: o as unknown as TombstoneRequest };
    }
    case CommandType.Txn:
      return { type, req: checkTxn(b, `${path}.Txn`) };
    case CommandType.Restore: {
      const o = obj(b, `${path}.Restore`);
      if (!(o.Data instanceof Uint8Array)) throw new CommandDecodeError(`${path}.Restore.Data: expected bytes`);
      return { type, req: o as unknown as RestoreRequest };
    }
    case CommandType.Batch: {
      if (depth >= MAX_BATCH_DEPTH) throw new CommandDecodeError(`${path}: nested batch`);
      if (!Array.isArray(b)) throw new CommandDecodeError(`${path}.Batch: expected an array`);
      return { type, commands: b.map((c, i) => fromRaw(c, `${path}.Batch[${i}]`, depth + 1)) };
    }
    default: {
      const reserved = RESERVED.get(type);
      if (reserved !== undefined) {
        throw new CommandDecodeError(`${path}: command type ${type} (${reserved}) is not supported by this version`);
      }
      throw new CommandDecodeError(`${path}: unknown command type ${type}`);
    }
  }
}

// ---- shape checks: each returns its input typed, or throws naming the field path ----

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (!isObj(v)) throw new CommandDecodeError(`${path}: expected an object`);
  return v;
}

function optStr(o: Record<string, unknown>, k: string, path: string): void {
  const v = o[k];
  if (v !== undefined && v !== null && typeof v !== 'string') throw new CommandDecodeError(`${path}.${k}: expected a string`);
}

function reqStr(o: Record<string, unknown>, k: string, path: string): void {
  if (typeof o[k] !== 'string') throw new CommandDecodeError(`${path}.${k}: expected a string`);
}

function optBool(o: Record<string, unknown>, k: string, path: string): void {
  const v = o[k];
  if (v !== undefined && v !== null && typeof v !== 'boolean') throw new CommandDecodeError(`${path}.${k}: expected a boolean`);
}

function optInt(o: Record<string, unknown>, k: string, path: string): void {
  const v = o[k];
  if (v !== undefined && v !== null && !Number.isInteger(v)) throw new CommandDecodeError(`${path}.${k}: expected an integer`);
}

/** Validates `o.Flags` as a uint64 and stores its canonical form (see flags.ts), so equal flags apply equally on every server. */
function optFlags(o: Record<string, unknown>, path: string): void {
  const v = o.Flags;
  if (v === undefined || v === null) return;
  const f = canonicalFlags(v);
  if (f === undefined) throw new CommandDecodeError(`${path}.Flags: expected an unsigned 64-bit integer`);
  o.Flags = f;
}

function optStrMap(o: Record<string, unknown>, k: string, path: string): void {
  const v = o[k];
  if (v === undefined || v === null) return;
  const m = obj(v, `${path}.${k}`);
  for (const [mk, mv] of Object.entries(m)) {
    if (typeof mv !== 'string') throw new CommandDecodeError(`${path}.${k}.${mk}: expected a string`);
  }
}

function optStrArray(o: Record<string, unknown>, k: string, path: string): void {
  const v = o[k];
  if (v === undefined || v === null) return;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new CommandDecodeError(`${path}.${k}: expected an array of strings`);
  }
}

function checkService(v: unknown, path: string): ServiceDefinition {
  const o = obj(v, path);
  reqStr(o, 'Service', path);
  for (const k of ['ID', 'Address', 'Kind']) optStr(o, k, path);
  optStrArray(o, 'Tags', path);
  optStrMap(o, 'Meta', path);
  optInt(o, 'Port', path);
  optBool(o, 'EnableTagOverride', path);
  if (o.Weights !== undefined && o.Weights !== null) {
    const w = obj(o.Weights, `${path}.Weights`);
    optInt(w, 'Passing', `${path}.Weights`);
    optInt(w, 'Warning', `${path}.Weights`);
  }
  if (o.TaggedAddresses !== undefined && o.TaggedAddresses !== null) {
    const ta = obj(o.TaggedAddresses, `${path}.TaggedAddresses`);
    for (const [k, a] of Object.entries(ta)) {
      const ao = obj(a, `${path}.TaggedAddresses.${k}`);
      optStr(ao, 'Address', `${path}.TaggedAddresses.${k}`);
      optInt(ao, 'Port', `${path}.TaggedAddresses.${k}`);
    }
  }
  return o as unknown as ServiceDefinition;
}

function checkCheck(v: unknown, path: string): CheckDefinition {
  const o = obj(v, path);
  for (const k of ['Node', 'CheckID', 'Name', 'Status', 'Notes', 'Output', 'ServiceID', 'Type']) optStr(o, k, path);
  if (o.Definition !== undefined && o.Definition !== null) obj(o.Definition, `${path}.Definition`);
  return o as unknown as CheckDefinition;
}

function checkRegister(v: unknown, path: string): RegisterRequest {
  const o = obj(v, path);
  reqStr(o, 'Node', path);
  for (const k of ['Datacenter', 'ID', 'Address']) optStr(o, k, path);
  optStrMap(o, 'TaggedAddresses', path);
  optStrMap(o, 'NodeMeta', path);
  optBool(o, 'SkipNodeUpdate', path);
  if (o.Service !== undefined && o.Service !== null) checkService(o.Service, `${path}.Service`);
  if (o.Check !== undefined && o.Check !== null) checkCheck(o.Check, `${path}.Check`);
  if (o.Checks !== undefined && o.Checks !== null) {
    if (!Array.isArray(o.Checks)) throw new CommandDecodeError(`${path}.Checks: expected an array`);
    o.Checks.forEach((c, i) => checkCheck(c, `${path}.Checks[${i}]`));
  }
  return o as unknown as RegisterRequest;
}

function checkDeregister(v: unknown, path: string): DeregisterRequest {
  const o = obj(v, path);
  reqStr(o, 'Node', path);
  for (const k of ['Datacenter', 'ServiceID', 'CheckID']) optStr(o, k, path);
  return o as unknown as DeregisterRequest;
}

function optBytes(o: Record<string, unknown>, k: string, path: string): void {
  const v = o[k];
  if (v !== undefined && v !== null && !(v instanceof Uint8Array)) throw new CommandDecodeError(`${path}.${k}: expected bytes`);
}

function oneOf(o: Record<string, unknown>, k: string, allowed: readonly string[], path: string): void {
  if (typeof o[k] !== 'string' || !allowed.includes(o[k] as string)) {
    throw new CommandDecodeError(`${path}.${k}: expected one of ${allowed.join(', ')}`);
  }
}

function checkKVS(v: unknown, path: string): KVSRequest {
  const o = obj(v, path);
  oneOf(o, 'Op', KV_OPS, path);
  optInt(o, 'Now', path);
  const d = obj(o.DirEnt, `${path}.DirEnt`);
  reqStr(d, 'Key', `${path}.DirEnt`);
  optStr(d, 'Session', `${path}.DirEnt`);
  optFlags(d, `${path}.DirEnt`);
  optInt(d, 'ModifyIndex', `${path}.DirEnt`);
  optBytes(d, 'Value', `${path}.DirEnt`);
  return o as unknown as KVSRequest;
}

function checkSession(v: unknown, path: string): SessionRequest {
  const o = obj(v, path);
  oneOf(o, 'Op', SESSION_OPS, path);
  optInt(o, 'Now', path);
  const s = obj(o.Session, `${path}.Session`);
  reqStr(s, 'ID', `${path}.Session`);
  for (const k of ['Name', 'Node', 'Behavior']) optStr(s, k, `${path}.Session`);
  optInt(s, 'LockDelay', `${path}.Session`);
  optInt(s, 'TTL', `${path}.Session`);
  optStrArray(s, 'NodeChecks', `${path}.Session`);
  if (s.ServiceChecks !== undefined && s.ServiceChecks !== null) {
    if (!Array.isArray(s.ServiceChecks)) throw new CommandDecodeError(`${path}.Session.ServiceChecks: expected an array`);
    s.ServiceChecks.forEach((c, i) => {
      const co = obj(c, `${path}.Session.ServiceChecks[${i}]`);
      reqStr(co, 'ID', `${path}.Session.ServiceChecks[${i}]`);
      optStr(co, 'Namespace', `${path}.Session.ServiceChecks[${i}]`);
    });
  }
  return o as unknown as SessionRequest;
}

function checkTxn(v: unknown, path: string): TxnRequest {
  const o = obj(v, path);
  optInt(o, 'Now', path);
  if (!Array.isArray(o.Ops)) throw new CommandDecodeError(`${path}.Ops: expected an array`);
  o.Ops.forEach((op, i) => {
    const p = `${path}.Ops[${i}].KV`;
    const kv = obj(obj(op, `${path}.Ops[${i}]`).KV, p);
    oneOf(kv, 'Verb', TXN_KV_VERBS, p);
    reqStr(kv, 'Key', p);
    optStr(kv, 'Session', p);
    optFlags(kv, p);
    optInt(kv, 'Index', p);
    optBytes(kv, 'Value', p);
  });
  return o as unknown as TxnRequest;
}
