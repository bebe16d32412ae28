/**
 * The leader's member reconciliation (Consul's "reconcile" loop): every gossip member becomes
 * a catalog node with a `serfHealth` check — passing while alive, critical while failed — and
 * a member that left or was reaped is deregistered. Pure: it compares the gossip view with
 * the state store and returns the commands that close the difference.
 *
 * Rules:
 * - The leader never deregisters itself.
 * - Nodes in the catalog without a `serfHealth` check were registered by other means
 *   (`/v1/catalog/register` for external services) and are left alone.
 * - Every server gets the `consul` service (port = its server port), as Consul's leader does.
 * - A node row that exists is not rewritten (SkipNodeUpdate), so the member's own
 *   anti-entropy stays the authority for its address and metadata.
 */
import { CommandType, type Command, type StateStore } from './state/index.js';

export const SERF_CHECK_ID = 'serfHealth';
export const SERF_CHECK_NAME = 'Serf Health Status';
const ALIVE_OUTPUT = 'Agent alive and reachable';
const FAILED_OUTPUT = 'Agent not live or unreachable';

/** A gossip member as reconciliation needs it. */
export interface MemberView {
  name: string;
  /** Node ID from the member's tags ('' when unknown). */
  id: string;
  addr: string;
  status: 'alive' | 'suspect' | 'failed' | 'left' | 'leaving';
  /** For a server of this datacenter: its server (RPC/Raft) port; it then gets the `consul` service. */
  serverPort?: number;
}

/** The service the leader registers on every server node (DNS NS records and `consul.service.consul` use it). */
export const CONSUL_SERVICE = 'consul';

/**
 * @param reapUnknown also deregister serfHealth nodes that gossip does not know at all; only
 *   safe once this server's gossip view has had time to fill (not right after a restart).
 */
export function reconcileCommands(store: StateStore, members: readonly MemberView[], selfName: string, reapUnknown: boolean): Command[] {
  const out: Command[] = [];
  const seen = new Set<string>();
  for (const m of members) {
    seen.add(m.name.toLowerCase());
    const node = store.node(m.name).value;
    const serf = store.nodeChecks(m.name).value.find((c) => c.CheckID === SERF_CHECK_ID);
    if (m.status === 'left' || m.status === 'leaving') {
      if (node && m.name.toLowerCase() !== selfName.toLowerCase()) out.push({ type: CommandType.Deregister, req: { Node: m.name } });
      continue;
    }
    const want = m.status === 'failed' ? 'critical' : 'passing';
    const consulSvc = node?.Services[CONSUL_SERVICE];
    const needsService = m.serverPort !== undefined && (!consulSvc || consulSvc.Port !== m.serverPort);
    if (node && serf && serf.Status === want && !needsService) continue;
    out.push({
      type: CommandType.Register,
      req: {
        Node: m.name,
        ...(m.id ? { ID: m.id } : {}),
        Address: node?.Node.Address ?? m.addr,
        SkipNodeUpdate: !!node,
        ...(needsService ? { Service: { ID: CONSUL_SERVICE, Service: CONSUL_SERVICE, Port: m.serverPort as number, Tags: [] } } : {}),
        Check: {
          CheckID: SERF_CHECK_ID,
          Name: SERF_CHECK_NAME,
          Status: want,
          Output: want === 'passing' ? ALIVE_OUTPUT : FAILED_OUTPUT,
          ServiceID: '',
          Type: '',
        },
      },
    });
  }
  // Reaped members: nodes with a serfHealth check that gossip no longer knows.
  if (!reapUnknown) return out;
  for (const n of store.nodes().value) {
    const name = n.Node;
    if (seen.has(name.toLowerCase()) || name.toLowerCase() === selfName.toLowerCase()) continue;
    if (store.nodeChecks(name).value.some((c) => c.CheckID === SERF_CHECK_ID)) out.push({ type: CommandType.Deregister, req: { Node: name } });
  }
  return out;
}
