import type { CatalogServer } from '../../catalog/server.js';
import { ServerError } from '../../catalog/server.js';
import type { CatalogEndpoint } from '../../catalog/endpoint.js';
import { CatalogError } from '../../catalog/errors.js';
import type { CatalogQuery, CatalogQueryValue, CatalogReadResponse, ReadCancel } from '../../catalog/query.js';
import type { ApplyResult, Command } from '../../catalog/state/index.js';
import type { CatalogClient, CatalogClientReadRequest } from '../http/catalog-client.js';
import type { Consistency } from '../http/query.js';
import type { RpcClient } from './client.js';
import { RpcError } from './errors.js';
import type { RpcServer } from './server.js';
import type { ServerPool } from './pool.js';

export const CatalogMethods = {
  Read: 'Catalog.Read',
  Write: 'Catalog.Write',
} as const;

/** Extra time a forwarded blocking read may take beyond its wait (jitter, network). */
const BLOCKING_SLACK_MS = 10_000;

/** Raft errors as the catalog API reports them. */
function toCatalogError(e: unknown): unknown {
  if (e instanceof ServerError && (e.rpcCode === 'NoLeader' || e.rpcCode === 'NotLeader')) return new CatalogError('no-leader', 'No cluster leader');
  if (e instanceof RpcError) {
    if (e.code === 'NoLeader' || e.code === 'NotLeader') return new CatalogError('no-leader', 'No cluster leader');
    if (e.code === 'BadRequest') return new CatalogError('bad-request', e.message);
  }
  return e;
}

/** Catalog errors as RPC errors, so they keep their meaning on the wire. */
function toRpcError(e: unknown): unknown {
  if (e instanceof CatalogError) return new RpcError(e.code === 'no-leader' ? 'NoLeader' : 'BadRequest', e.message);
  if (e instanceof ServerError) return new RpcError(e.rpcCode, e.message);
  return e;
}

function attemptTimeout(req: { minIndex: number; waitMs: number }): number {
  return req.minIndex > 0 ? req.waitMs + req.waitMs / 16 + BLOCKING_SLACK_MS : 30_000;
}

/**
 * The catalog as a server agent serves it. Consistency modes as in Consul: `stale` reads
 * this server's state; the default goes to the leader (forwarded when this server is not
 * it); `consistent` additionally confirms leadership with a ReadIndex round before
 * reading. Writes always go to the leader.
 */
export class ServerCatalogClient implements CatalogClient {
  constructor(
    private readonly server: CatalogServer,
    private readonly endpoint: CatalogEndpoint,
    private readonly rpc: RpcClient,
  ) {}

  async read<Q extends CatalogQuery>(req: CatalogClientReadRequest<Q>, signal?: ReadCancel): Promise<CatalogReadResponse<CatalogQueryValue<Q>>> {
    try {
      return await this.route(req.consistency, () => this.endpoint.read(req, signal), CatalogMethods.Read, req, attemptTimeout(req));
    } catch (e) {
      throw toCatalogError(e);
    }
  }

  /**
   * Runs a read where a consistency mode puts it: `local` here for `stale`; for `default`
   * here only on the leader, else `method(args)` is sent to the leader and its result
   * returned; for `consistent` likewise, and the leader first confirms its leadership and
   * waits until its state has applied the read index (a ReadIndex round), so `local` sees
   * every write acknowledged before the call. Throws the Raft/RPC error when there is no
   * leader to ask (callers map it: "No cluster leader", DNS SERVFAIL).
   */
  async route<T>(consistency: Consistency, local: () => T | Promise<T>, method: string, args: unknown, timeoutMs: number): Promise<T> {
    if (consistency === 'stale') return await local();
    if (!this.server.isLeader) return await this.forward<T>(method, args, timeoutMs);
    if (consistency === 'consistent') await this.server.raft.readIndex();
    return await local();
  }

  async write(cmd: Command): Promise<ApplyResult> {
    try {
      if (!this.server.isLeader) return await this.forward<ApplyResult>(CatalogMethods.Write, cmd, 30_000);
      return await this.endpoint.write(cmd);
    } catch (e) {
      throw toCatalogError(e);
    }
  }

  private forward<T>(method: string, args: unknown, timeoutMs: number): Promise<T> {
    const leader = this.server.leaderAddress();
    if (!leader) throw new CatalogError('no-leader', 'No cluster leader');
    return this.rpc.call<T>(leader, method, args, timeoutMs);
  }
}

/** The catalog as a client agent reaches it: RPC to a server through the pool (retrying while there is no leader). */
export class RemoteCatalogClient implements CatalogClient {
  constructor(private readonly pool: ServerPool) {}

  async read<Q extends CatalogQuery>(req: CatalogClientReadRequest<Q>): Promise<CatalogReadResponse<CatalogQueryValue<Q>>> {
    try {
      return await this.pool.call(CatalogMethods.Read, req, attemptTimeout(req));
    } catch (e) {
      throw toCatalogError(e);
    }
  }

  async write(cmd: Command): Promise<ApplyResult> {
    try {
      // A write of unknown outcome is not sent again: it could be applied twice.
      return await this.pool.call(CatalogMethods.Write, cmd, undefined, false);
    } catch (e) {
      throw toCatalogError(e);
    }
  }
}

/** Serves catalog reads and writes to other agents over RPC. */
export function registerCatalogEndpoints(rpc: RpcServer, catalog: ServerCatalogClient): void {
  rpc.register(CatalogMethods.Read, async (args) => {
    try {
      return await catalog.read(args as CatalogClientReadRequest);
    } catch (e) {
      throw toRpcError(e);
    }
  });
  rpc.register(CatalogMethods.Write, async (args) => {
    try {
      return await catalog.write(args as Command);
    } catch (e) {
      throw toRpcError(e);
    }
  });
}
