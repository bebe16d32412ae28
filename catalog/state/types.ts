/**
 * Rows of the catalog tables. Field names are Consul's (PascalCase), so a row converts to
 * Consul's JSON shapes by picking fields. Rows are plain data that survive a msgpack round
 * trip unchanged: no `undefined` fields (absent values are '' , {} or null), string maps
 * stored with their keys sorted (so equal content encodes to equal bytes).
 *
 * Rows are immutable once stored: a write replaces the row object, never mutates it.
 */

/** Health of a check. `maintenance` counts as critical wherever health is judged. */
export type HealthStatus = 'passing' | 'warning' | 'critical' | 'maintenance';

export const HEALTH_STATUSES: readonly HealthStatus[] = ['passing', 'warning', 'critical', 'maintenance'];

export type StringMap = Record<string, string>;

import type { KVFlags } from './flags.js';

/** Address with port, the value type of a service's TaggedAddresses (Consul's ServiceAddress). */
export interface ServiceAddress {
  Address: string;
  Port: number;
}

export interface Weights {
  Passing: number;
  Warning: number;
}

export interface NodeRow {
  /** Node UUID; '' when the registration gave none. */
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: StringMap;
  Meta: StringMap;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface ServiceRow {
  /** Name of the node the instance runs on, as stored in its node row. */
  Node: string;
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  TaggedAddresses: Record<string, ServiceAddress>;
  Meta: StringMap;
  Port: number;
  Weights: Weights;
  EnableTagOverride: boolean;
  /** '' for a typical service; 'connect-proxy', 'mesh-gateway', ... otherwise. */
  Kind: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface CheckRow {
  Node: string;
  CheckID: string;
  Name: string;
  Status: HealthStatus;
  Notes: string;
  Output: string;
  /** '' for a node-level check (it then applies to every service on the node). */
  ServiceID: string;
  /** Copied from the service row whenever the check or its service is written. */
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  /** Opaque check definition as given by the registering agent (HTTP, TCP, Interval...), or null. */
  Definition: Record<string, unknown> | null;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Case-insensitive key of a node or service name (Consul compares these case-insensitively). */
export const nameKey = (name: string): string => name.toLowerCase();

/**
 * A KV entry (Consul's DirEntry). `Key` is an opaque string: compared byte-wise, never used
 * as a path. `Session` is '' when no lock is held.
 */
export interface KVRow {
  Key: string;
  Flags: KVFlags;
  Value: Uint8Array;
  /** Number of times the key was acquired by a lock (a new holder increments it). */
  LockIndex: number;
  Session: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export type SessionBehavior = 'release' | 'delete';

/** A session (Consul's Session). Durations are milliseconds; TTL 0 means none. */
export interface SessionRow {
  ID: string;
  Name: string;
  Node: string;
  /** Milliseconds during which a lock released by this session's invalidation cannot be acquired. */
  LockDelay: number;
  Behavior: SessionBehavior;
  TTL: number;
  NodeChecks: string[];
  ServiceChecks: Array<{ ID: string; Namespace: string }>;
  CreateIndex: number;
  ModifyIndex: number;
}

/** A deleted key: keeps blocking queries on its prefix moving until reaped. */
export interface TombstoneRow {
  Key: string;
  Index: number;
}

/**
 * Lock-delay of a key whose lock was released by a session invalidation. `Until` is the
 * wall-clock ms before which no new acquisition succeeds; -1 while the invalidation carried
 * no time (a check went critical): the delay then starts at the first acquire attempt.
 */
export interface LockDelayRow {
  Key: string;
  Delay: number;
  Until: number;
}
