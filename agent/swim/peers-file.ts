import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Serf's snapshot, reduced to what rejoining needs: the gossip addresses of the members this
 * agent knew, and whether it left the cluster on purpose. Kept in `<data_dir>/serf/peers.json`
 * so that a restarted agent finds its cluster again without a join address (and a restarted
 * server learns its Raft peers' addresses). An agent that left gracefully does not rejoin on
 * its own unless `rejoin_after_leave` is set, as in Consul.
 */
export interface PeersSnapshot {
  peers: string[];
  left: boolean;
}

export function loadPeers(file: string): PeersSnapshot | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<PeersSnapshot>;
    if (!Array.isArray(v.peers) || !v.peers.every((p) => typeof p === 'string')) return undefined;
    return { peers: v.peers, left: v.left === true };
  } catch {
    // Missing or unreadable: nothing to rejoin; the file is rewritten on the next change.
    return undefined;
  }
}

/** Replaces the file atomically (temp + rename); it is advisory, so no fsync. */
export function savePeers(file: string, snap: PeersSnapshot): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(`${file}.tmp`, JSON.stringify(snap), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}
