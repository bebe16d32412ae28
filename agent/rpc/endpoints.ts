import type { CatalogServer, RaftServerEntry } from '../../catalog/server.js';
import { ServerError } from '../../catalog/server.js';
import type { RpcClient } from './client.js';
import { RpcError } from './errors.js';
import type { RpcServer } from './server.js';

/** RPC method names; append-only. */
export const Methods = {
  StatusLeader: 'Status.Leader',
  StatusPeers: 'Status.Peers',
  RaftHasState: 'Raft.HasState',
  RaftConfiguration: 'Operator.RaftGetConfiguration',
  RaftRemovePeer: 'Operator.RaftRemovePeer',
  RaftTransferLeader: 'Operator.RaftTransferLeader',
} as const;

export interface RaftConfiguration {
  Servers: RaftServerEntry[];
  Index: number;
}

/**
 * The cluster-level operations an agent serves to HTTP and the CLI. On a server they run
 * against the local Raft server (forwarding leader-only work to the leader); on a client
 * they are RPCs through the server pool. Both implement this.
 */
export interface ClusterOps {
  leader(): Promise<string>;
  peers(): Promise<string[]>;
  raftConfiguration(): Promise<RaftConfiguration>;
  removePeer(by: { id?: string; address?: string }): Promise<void>;
  transferLeader(id?: string): Promise<string>;
}

/** Maps server-side errors onto RPC error codes so they survive the wire. */
export function toRpcError(e: unknown): unknown {
  if (e instanceof ServerError) return new RpcError(e.rpcCode, e.message);
  return e;
}

/** ClusterOps on a server agent: local reads, leader-only work forwarded to the leader over RPC. */
export class LocalClusterOps implements ClusterOps {
  constructor(
    private readonly server: CatalogServer,
    private readonly rpc: RpcClient,
  ) {}

  async leader(): Promise<string> {
    return this.server.leaderAddress();
  }

  async peers(): Promise<string[]> {
    return this.server.peers();
  }

  async raftConfiguration(): Promise<RaftConfiguration> {
    return this.server.configuration();
  }

  async removePeer(by: { id?: string; address?: string }): Promise<void> {
    await this.onLeader(Methods.RaftRemovePeer, by, () => this.server.removePeer(by));
  }

  async transferLeader(id?: string): Promise<string> {
    return this.onLeader(Methods.RaftTransferLeader, { id }, () => this.server.transferLeader(id));
  }

  private async onLeader<T>(method: string, args: unknown, local: () => Promise<T>): Promise<T> {
    if (this.server.isLeader) {
      try {
        return await local();
      } catch (e) {
        throw toRpcError(e);
      }
    }
    const leader = this.server.leaderAddress();
    if (!leader) throw new RpcError('NoLeader', 'No cluster leader');
    return this.rpc.call<T>(leader, method, args);
  }
}

/** Registers the server's RPC methods. */
export function registerServerEndpoints(rpc: RpcServer, server: CatalogServer, ops: LocalClusterOps): void {
  rpc.register(Methods.StatusLeader, async () => ops.leader());
  rpc.register(Methods.StatusPeers, async () => ops.peers());
  rpc.register(Methods.RaftHasState, async () => {
    const st = server.raft.status();
    return !!st && (st.lastIndex > 0 || st.term > 0);
  });
  rpc.register(Methods.RaftConfiguration, async () => ops.raftConfiguration());
  rpc.register(Methods.RaftRemovePeer, async (args) => {
    const a = (args ?? {}) as { id?: string; address?: string };
    await ops.removePeer(a);
    return true;
  });
  rpc.register(Methods.RaftTransferLeader, async (args) => ops.transferLeader((args as { id?: string } | undefined)?.id));
}

/** ClusterOps on a client agent: every call is an RPC to a server from the pool. */
export class RemoteClusterOps implements ClusterOps {
  constructor(private readonly call: <T>(method: string, args: unknown) => Promise<T>) {}
  leader(): Promise<string> {
    return this.call(Methods.StatusLeader, {});
  }
  peers(): Promise<string[]> {
    return this.call(Methods.StatusPeers, {});
  }
  raftConfiguration(): Promise<RaftConfiguration> {
    return this.call(Methods.RaftConfiguration, {});
  }
  async removePeer(by: { id?: string; address?: string }): Promise<void> {
    await this.call(Methods.RaftRemovePeer, by);
  }
  transferLeader(id?: string): Promise<string> {
    return this.call(Methods.RaftTransferLeader, { id });
  }
}
