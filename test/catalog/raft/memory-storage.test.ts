import { expect } from 'chai';
import { MemoryStorage } from '../../../catalog/raft/memory-storage.js';
import { EntryType, type Entry } from '../../../catalog/raft/types.js';

const e = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array([index]) });
const conf = { voters: ['a'], learners: [] };

describe('MemoryStorage', () => {
  it('appends, replaces a conflicting suffix and records the hard state', async () => {
    const s = new MemoryStorage();
    expect(s.isEmpty()).to.equal(true);
    await s.save({ term: 1, vote: 'a', commit: 0 }, [e(1, 1), e(2, 1), e(3, 1)]);
    await s.save(undefined, [e(2, 2)]);
    const st = await s.load();
    expect(st.entries.map((x) => `${x.index}/${x.term}`)).to.deep.equal(['1/1', '2/2']);
    expect(st.hardState).to.deep.equal({ term: 1, vote: 'a', commit: 0 });
    expect(() => s.saveSync(undefined, [e(5, 2)])).to.throw('raft: storage: append at 5 leaves a gap');
  });

  it('a snapshot drops the entries it covers and keeps a suffix that extends it', async () => {
    const s = new MemoryStorage();
    await s.save(undefined, [e(1, 1), e(2, 1), e(3, 2), e(4, 2)]);
    await s.saveSnapshot({ meta: { index: 3, term: 2, conf }, data: new Uint8Array() });
    expect((await s.load()).entries.map((x) => x.index)).to.deep.equal([4]);
  });

  it('a snapshot that does not match the stored entry at its index drops the whole log', async () => {
    const s = new MemoryStorage();
    await s.save(undefined, [e(1, 1), e(2, 1), e(3, 1), e(4, 1)]);
    await s.saveSnapshot({ meta: { index: 3, term: 5, conf }, data: new Uint8Array() });
    const st = await s.load();
    expect(st.entries).to.deep.equal([]);
    expect(st.snapshot?.meta.index).to.equal(3);
    expect(st.hardState.commit).to.equal(3);
  });

  it('compact drops entries up to an index', async () => {
    const s = new MemoryStorage();
    await s.save(undefined, [e(1, 1), e(2, 1), e(3, 1)]);
    await s.compact(2);
    expect((await s.load()).entries.map((x) => x.index)).to.deep.equal([3]);
  });
});
