/**
 * Commands of the catalog state machine: what a Raft log entry carries. A command is encoded
 * with msgpack as the two-element array `[type, body]`.
 *
 * Numbering is append-only: never renumber, never reuse. Numbers follow Consul's Raft
 * message types where one exists (0 register, 1 deregister, 2 KV, 3 session, 5 tombstone,
 * 8 txn); the reserved ones are decoded by later versions only.
 */
import { Packr } from 'msgpackr';
import { CommandDecodeError } from './errors.js';
import type { ServiceAddress, StringMap, Weights } from './types.js';

export const CommandType = {
  Register: 0,
  Deregister: 1,
  /** Reserved: KV set/delete/cas/lock (KV issue). */
  KVS: 2,
  /** Reserved: session create/destroy (KV issue). */
  Session: 3,
  /** Reserved: tombstone reap (KV issue). */
  Tombstone: 5,
  /** Reserved: KV transactions (KV issue). */
  Txn: 8,
  /** Several commands applied all-or-nothing at one index. */
  Batch: 9,
} as const;
export type CommandType = (typeof CommandType)[keyof typeof CommandType];

const RESERVED: ReadonlyMap<number, string> = new Map([
  [2, 'KVS'], [3, 'Session'], [4, 'reserved'], [5, 'Tombstone'], [6, 'reserved'], [7, 'reserved'], [8, 'Txn'],
]);

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
  | { type: typeof CommandType.Batch; commands: Command[] };

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

/** Drops `undefined` members (msgpack would otherwise carry them as an extension type). */
function clean(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clean);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = clean(x);
    return out;
  }
  return v;
}

function body(cmd: Command): unknown {
  switch (cmd.type) {
    case CommandType.Register:
    case CommandType.Deregister:
      return clean(cmd.req);
    case CommandType.Batch:
      return cmd.commands.map((c) => [c.type, body(c)]);
  }
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
