/**
 * Snapshot format of the catalog state: one msgpack map. Rows are listed sorted by primary
 * key and index maps as sorted [key, index] pairs, so equal states encode to equal bytes.
 *
 * Version history (bump on any incompatible change; decoders refuse unknown versions):
 * - 1: nodes, services, checks, table/node/service indexes, last applied index.
 * - 2: adds KVs, Sessions, Tombstones and LockDelays (version 1 still decodes, with none).
 */
import { Packr } from 'msgpackr';
import { SnapshotError } from './errors.js';
import { canonicalFlags } from './flags.js';
import type { CheckRow, KVRow, LockDelayRow, NodeRow, ServiceRow, SessionRow, TombstoneRow } from './types.js';

export const SNAPSHOT_VERSION = 2;
/** Marks the bytes as ours before the version is even read. */
const MAGIC = 'herald-catalog';

export interface SnapshotData {
  Version: number;
  LastIndex: number;
  Nodes: NodeRow[];
  Services: ServiceRow[];
  Checks: CheckRow[];
  TableIndexes: Array<[string, number]>;
  NodeIndexes: Array<[string, number]>;
  ServiceIndexes: Array<[string, number]>;
  KVs: KVRow[];
  Sessions: SessionRow[];
  Tombstones: TombstoneRow[];
  LockDelays: LockDelayRow[];
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

export function encodeSnapshot(s: SnapshotData): Uint8Array {
  return packr.pack({ Magic: MAGIC, ...s });
}

/** Decodes and shape-checks a snapshot; throws {@link SnapshotError} naming the problem. */
export function decodeSnapshot(data: Uint8Array): SnapshotData {
  let raw: unknown;
  try {
    raw = packr.unpack(data);
  } catch (err) {
    throw new SnapshotError(`not msgpack (${(err as Error).message})`, { cause: err });
  }
  if (raw === null || typeof raw !== 'object' || (raw as Record<string, unknown>).Magic !== MAGIC) {
    throw new SnapshotError('not a catalog snapshot');
  }
  const o = raw as Record<string, unknown>;
  if (o.Version === 1) {
    o.Version = SNAPSHOT_VERSION;
    o.KVs = o.Sessions = o.Tombstones = o.LockDelays = [];
  }
  if (o.Version !== SNAPSHOT_VERSION) {
    throw new SnapshotError(`unsupported version ${String(o.Version)} (this build reads ${SNAPSHOT_VERSION})`);
  }
  if (!Number.isInteger(o.LastIndex)) throw new SnapshotError('LastIndex: expected an integer');
  const rows = (k: string, strFields: string[]): void => {
    const v = o[k];
    if (!Array.isArray(v)) throw new SnapshotError(`${k}: expected an array`);
    v.forEach((r, i) => {
      if (r === null || typeof r !== 'object') throw new SnapshotError(`${k}[${i}]: expected an object`);
      for (const f of strFields) if (typeof (r as Record<string, unknown>)[f] !== 'string') throw new SnapshotError(`${k}[${i}].${f}: expected a string`);
      for (const f of ['CreateIndex', 'ModifyIndex']) if (!Number.isInteger((r as Record<string, unknown>)[f])) throw new SnapshotError(`${k}[${i}].${f}: expected an integer`);
    });
  };
  rows('Nodes', ['ID', 'Node', 'Address', 'Datacenter']);
  rows('Services', ['Node', 'ID', 'Service', 'Address', 'Kind']);
  rows('Checks', ['Node', 'CheckID', 'Name', 'Status', 'ServiceID', 'ServiceName']);
  rows('KVs', ['Key', 'Session']);
  (o.KVs as Array<Record<string, unknown>>).forEach((r, i) => {
    if (!(r.Value instanceof Uint8Array)) throw new SnapshotError(`KVs[${i}].Value: expected bytes`);
    const flags = canonicalFlags(r.Flags);
    if (flags === undefined || !Number.isInteger(r.LockIndex)) throw new SnapshotError(`KVs[${i}]: Flags and LockIndex must be integers`);
    r.Flags = flags;
  });
  rows('Sessions', ['ID', 'Name', 'Node', 'Behavior']);
  for (const k of ['Tombstones', 'LockDelays']) {
    const v = o[k];
    if (!Array.isArray(v) || v.some((r) => r === null || typeof r !== 'object' || typeof r.Key !== 'string')) {
      throw new SnapshotError(`${k}: expected rows with a Key`);
    }
  }
  for (const k of ['TableIndexes', 'NodeIndexes', 'ServiceIndexes']) {
    const v = o[k];
    if (!Array.isArray(v) || v.some((p) => !Array.isArray(p) || typeof p[0] !== 'string' || !Number.isInteger(p[1]))) {
      throw new SnapshotError(`${k}: expected [name, index] pairs`);
    }
  }
  return {
    Version: o.Version,
    LastIndex: o.LastIndex as number,
    Nodes: o.Nodes as NodeRow[],
    Services: o.Services as ServiceRow[],
    Checks: o.Checks as CheckRow[],
    TableIndexes: o.TableIndexes as Array<[string, number]>,
    NodeIndexes: o.NodeIndexes as Array<[string, number]>,
    ServiceIndexes: o.ServiceIndexes as Array<[string, number]>,
    KVs: (o.KVs as KVRow[]).map((r) => ({ ...r, Value: new Uint8Array(r.Value) })),
    Sessions: o.Sessions as SessionRow[],
    Tombstones: o.Tombstones as TombstoneRow[],
    LockDelays: o.LockDelays as LockDelayRow[],
  };
}
