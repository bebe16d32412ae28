import { expect } from 'chai';
import { dnsConsistency } from '../../../agent/rpc/dns.js';

describe('agent/rpc/dns dnsConsistency', () => {
  const H = 87_600 * 3600 * 1000;
  const table: Array<[string, boolean, number, boolean, number, string]> = [
    // name, allowStale, maxStaleMs, isLeader, leaderContactAgeMs, mode
    ['defaults on a follower', true, H, false, 40, 'stale'],
    ['defaults on the leader', true, H, true, 0, 'default'],
    ['defaults without a leader for an hour', true, H, false, 3_600_000, 'stale'],
    ['follower within max_stale', true, 5000, false, 4999, 'stale'],
    ['follower at max_stale', true, 5000, false, 5000, 'default'],
    ['follower past max_stale', true, 5000, false, 60_000, 'default'],
    ['max_stale 0 on a follower that just heard from the leader', true, 0, false, 0, 'default'],
    ['allow_stale false on a follower', false, H, false, 0, 'consistent'],
    ['allow_stale false on the leader', false, H, true, 0, 'consistent'],
  ];
  for (const [name, allowStale, maxStaleMs, isLeader, age, mode] of table) {
    it(`${name} → ${mode}`, () => {
      expect(dnsConsistency({ allowStale, maxStaleMs }, isLeader, age)).to.equal(mode);
    });
  }
});
