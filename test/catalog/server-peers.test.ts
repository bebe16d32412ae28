import { expect } from 'chai';
import { CatalogServer } from '../../catalog/server.js';
import { MemoryStorage } from '../../catalog/raft/memory-storage.js';
import type { Message } from '../../catalog/raft/core/messages.js';
import type { RaftTransport } from '../../catalog/raft/types.js';
import { ManualClock } from '../../agent/runtime/clock.js';
import { SeededRng } from '../../agent/runtime/rng.js';
import { silentLogger } from '../../agent/runtime/logger.js';

/** A transport that only records the peer set (no traffic is needed here). */
class PeerSet implements RaftTransport<Message> {
  readonly peers = new Map<string, string>();
  send(): void {}
  setPeer(id: string, address: string): void {
    this.peers.set(id, address);
  }
  removePeer(id: string): void {
    this.peers.delete(id);
  }
  onMessage(): void {}
  async close(): Promise<void> {}
}

/**
 * Regression (fault suite, leader-isolated seed 42): a follower applied its own removal; the
 * new leader had meanwhile been removed and re-added, and the follower — no longer receiving
 * the log — never applied that re-add, so its transport had no peer for the leader and the
 * follower, re-added as a non-voter, could never answer it: stuck for good.
 */
describe('catalog server: the transport peer set follows gossip, whatever conf changes removed', () => {
  it('re-establishes a peer dropped by a RemoveNode on the next gossip update', () => {
    const transport = new PeerSet();
    const server = new CatalogServer({
      id: 'id-s1', name: 's1', address: '203.0.113.1:8300', datacenter: 'dc1', storage: new MemoryStorage(), transport,
      clock: new ManualClock(0), rng: new SeededRng(1), logger: silentLogger(), bootstrap: false, bootstrapExpect: 0,
    });
    const s3 = { id: 'id-s3', name: 's3', address: '203.0.113.3:8300', status: 'alive' as const, expect: 0 };
    server.updateServers([s3]);
    expect(transport.peers.get('id-s3')).to.equal('203.0.113.3:8300');
    transport.removePeer('id-s3'); // what applying "RemoveNode s3" does (RaftNode.onConfChange)
    server.updateServers([s3]); // gossip, unchanged
    expect(transport.peers.get('id-s3')).to.equal('203.0.113.3:8300');
  });
});
