/**
 * Requests and answers of the catalog read service. Everything here is plain data (strings,
 * numbers, booleans, arrays, objects) so a request can cross the agent→server RPC encoded
 * with msgpack and come back unchanged.
 */
import type {
  CatalogServiceView, CheckServiceNodeView, HealthCheckView, KVRow, NodeInfoView, NodeServicesView, NodeView, SessionRow,
  TxnKVOp, TxnOutcome,
} from './state/index.js';

/** One catalog read, named by the state store method that serves it. */
export type CatalogQuery =
  | { op: 'nodes' }
  | { op: 'node'; node: string }
  | { op: 'nodeServices'; node: string }
  | { op: 'services' }
  | { op: 'serviceNodes'; service: string; tags?: string[] }
  | { op: 'checkServiceNodes'; service: string; tags?: string[]; passingOnly?: boolean }
  | { op: 'nodeChecks'; node: string }
  | { op: 'serviceChecks'; service: string }
  | { op: 'checksInState'; state: string }
  | { op: 'kvGet'; key: string }
  | { op: 'kvList'; prefix: string }
  | { op: 'kvKeys'; prefix: string; separator?: string }
  | { op: 'sessionGet'; id: string }
  | { op: 'sessionList' }
  | { op: 'nodeSessions'; node: string }
  | { op: 'snapshot' }
  | { op: 'txnRead'; ops: TxnKVOp[] };

/** The whole state machine as `StateStore.snapshot()` encodes it, and the index it covers. */
export interface StateSnapshotValue {
  data: Uint8Array;
  index: number;
}

/** The value each query answers with (the Consul JSON body of the matching endpoint). */
export interface CatalogQueryValues {
  nodes: NodeView[];
  node: NodeInfoView | null;
  nodeServices: NodeServicesView | null;
  services: Record<string, string[]>;
  serviceNodes: CatalogServiceView[];
  checkServiceNodes: CheckServiceNodeView[];
  nodeChecks: HealthCheckView[];
  serviceChecks: HealthCheckView[];
  checksInState: HealthCheckView[];
  kvGet: KVRow | null;
  kvList: KVRow[];
  kvKeys: string[];
  sessionGet: SessionRow | null;
  sessionList: SessionRow[];
  nodeSessions: SessionRow[];
  snapshot: StateSnapshotValue;
  txnRead: TxnOutcome;
}

export type CatalogQueryValue<Q extends CatalogQuery> = CatalogQueryValues[Q['op']];

/** A read with Consul's blocking-query options. */
export interface CatalogReadRequest<Q extends CatalogQuery = CatalogQuery> {
  query: Q;
  /** `?index`: block until the result's index moves past this; 0 answers at once. */
  minIndex: number;
  /** `?wait` in ms: the longest to block (a random jitter of up to wait/16 is added). */
  waitMs: number;
  /** `?filter` expression (Consul's bexpr syntax), applied to the elements of the answer. */
  filter?: string;
}

/** A read's answer and the metadata Consul sends as X-Consul-* headers. */
export interface CatalogReadResponse<T = unknown> {
  value: T;
  /** Index of the data read; always at least 1. */
  index: number;
  knownLeader: boolean;
  /** Milliseconds since the answering server last heard from the leader (0 on the leader). */
  lastContactMs: number;
}

/**
 * What stops a blocked read early. An `AbortSignal` is one; the HTTP layer passes a lighter
 * object with the same members (one per request, where an `AbortSignal`'s listener
 * bookkeeping showed up in wake-up profiles). Contract: once `aborted` is true it stays true,
 * and every listener added before is called once, when it became true.
 */
export interface ReadCancel {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
