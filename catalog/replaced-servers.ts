/**
 * A server whose data dir was lost comes back under the same name and address with a new
 * Raft ID (the node ID lives in the data dir). Its old ID is still in the Raft
 * configuration but will never answer again, and gossip no longer knows it (the name now
 * carries the new ID), so neither "left" nor "failed" cleanup ever removes it: the cluster
 * keeps a dead voter and loses fault tolerance. Consul removes a configuration entry that
 * shares the joining server's address (or name) but not its ID before adding it; so do we.
 */

/** What the server role remembers about a Raft ID it has seen in gossip. */
export interface KnownServer {
  name: string;
  address: string;
}

/**
 * IDs in the configuration that `joining` replaces: same address or same name
 * (case-insensitive, like node names), different ID. Pure.
 *
 * @param members voter and learner IDs of the current configuration
 * @param known last gossip view of each ID ever seen (IDs missing here are never matched)
 * @param joining the alive server about to be added
 */
export function replacedServerIds(members: readonly string[], known: ReadonlyMap<string, KnownServer>, joining: { id: string } & KnownServer): string[] {
  const name = joining.name.toLowerCase();
  return members.filter((id) => {
    if (id === joining.id) return false;
    const k = known.get(id);
    return k !== undefined && (k.address === joining.address || k.name.toLowerCase() === name);
  });
}
