/**
 * Consul's JSON shapes of KV entries and sessions, built from state rows: KV values are
 * base64 (null when empty), durations as Consul encodes them (LockDelay in nanoseconds, TTL as
 * a Go duration string), Session omitted when no lock is held.
 */
import { formatDuration } from '../config/duration.js';
import type { KVFlags, SessionRow } from '../../catalog/state/index.js';

export interface DirEntryJson {
  LockIndex: number;
  Key: string;
  Flags: KVFlags;
  Value: string | null;
  Session?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export function dirEntryJson(r: { Key: string; Flags: KVFlags; Value: Uint8Array | null; LockIndex: number; Session: string; CreateIndex: number; ModifyIndex: number }): DirEntryJson {
  const out: DirEntryJson = {
    LockIndex: r.LockIndex,
    Key: r.Key,
    Flags: r.Flags,
    Value: r.Value === null || r.Value.length === 0 ? null : Buffer.from(r.Value.buffer, r.Value.byteOffset, r.Value.byteLength).toString('base64'),
    CreateIndex: r.CreateIndex,
    ModifyIndex: r.ModifyIndex,
  };
  if (r.Session !== '') out.Session = r.Session;
  return out;
}

export interface SessionJson {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: string;
  TTL: string;
  NodeChecks: string[] | null;
  ServiceChecks: Array<{ ID: string; Namespace: string }> | null;
  CreateIndex: number;
  ModifyIndex: number;
}

export function sessionJson(s: SessionRow): SessionJson {
  return {
    ID: s.ID,
    Name: s.Name,
    Node: s.Node,
    LockDelay: s.LockDelay * 1e6,
    Behavior: s.Behavior,
    TTL: s.TTL > 0 ? formatDuration(s.TTL) : '',
    NodeChecks: s.NodeChecks.length > 0 ? s.NodeChecks : null,
    ServiceChecks: s.ServiceChecks.length > 0 ? s.ServiceChecks : null,
    CreateIndex: s.CreateIndex,
    ModifyIndex: s.ModifyIndex,
  };
}
