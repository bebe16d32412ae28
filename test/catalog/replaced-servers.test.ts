import { expect } from 'chai';
import { replacedServerIds, type KnownServer } from '../../catalog/replaced-servers.js';

describe('catalog: servers replaced under the same name or address (wiped data dir, new ID)', () => {
  const known = new Map<string, KnownServer>([
    ['id-s1', { name: 's1', address: '203.0.113.1:8300' }],
    ['id-s2', { name: 's2', address: '203.0.113.2:8300' }],
    ['id-s3-old', { name: 's3', address: '203.0.113.3:8300' }],
  ]);
  const members = ['id-s1', 'id-s2', 'id-s3-old'];
  const table: Array<[string, { id: string; name: string; address: string }, string[]]> = [
    ['same name and address, new ID: the old ID goes', { id: 'id-s3-new', name: 's3', address: '203.0.113.3:8300' }, ['id-s3-old']],
    ['same address, renamed', { id: 'id-x', name: 'x', address: '203.0.113.3:8300' }, ['id-s3-old']],
    ['same name (any case), moved', { id: 'id-y', name: 'S3', address: '203.0.113.9:8300' }, ['id-s3-old']],
    ['a genuinely new server replaces nothing', { id: 'id-s4', name: 's4', address: '203.0.113.4:8300' }, []],
    ['a member rejoining with its own ID replaces nothing', { id: 'id-s3-old', name: 's3', address: '203.0.113.3:8300' }, []],
  ];
  for (const [what, joining, want] of table) {
    it(what, () => expect(replacedServerIds(members, known, joining)).to.deep.equal(want));
  }

  it('never matches IDs it has no gossip record of', () => {
    expect(replacedServerIds(['id-unknown'], known, { id: 'n', name: 's1', address: '203.0.113.1:8300' })).to.deep.equal([]);
  });
});
