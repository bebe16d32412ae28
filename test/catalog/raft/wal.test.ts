import { expect } from 'chai';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileStorage, NodeIdMismatchError, WalError } from '../../../catalog/raft/wal/index.js';
import { EntryType } from '../../../catalog/raft/types.js';
import { entries, makeTempDir, removeDir, snapshot } from './wal-helpers.js';

describe('raft wal FileStorage', () => {
  let dir: string | undefined;
  let store: FileStorage | undefined;

  beforeEach(async () => {
    dir = await makeTempDir('wal');
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await removeDir(dir);
    dir = undefined;
  });

  async function reopen(opts: { segmentSize?: number } = {}): Promise<FileStorage> {
    await store?.close();
    store = await FileStorage.open(dir as string, { nodeId: 'n1', ...opts });
    return store;
  }

  it('starts empty, then appends and reloads entries and hard state', async () => {
    let s = await reopen();
    expect(await s.load()).to.deep.equal({ hardState: { term: 0, vote: '', commit: 0 }, snapshot: undefined, entries: [] });
    const es = entries(1, 10, 1);
    es[3] = { ...es[3]!, type: EntryType.Noop, data: new Uint8Array(0) };
    await s.save({ term: 1, vote: 'n2', commit: 4 }, es);
    s = await reopen();
    const st = await s.load();
    expect(st.hardState).to.deep.equal({ term: 1, vote: 'n2', commit: 4 });
    expect(st.entries).to.deep.equal(es);
    expect(st.entries[0]!.data).to.be.instanceOf(Uint8Array);
    expect(Buffer.isBuffer(st.entries[0]!.data)).to.equal(false);
    expect(s.firstIndex()).to.equal(1);
    expect(s.lastIndex()).to.equal(10);
    expect(s.term(10)).to.equal(1);
  });

  it('issues one fsync per save() batch and none for an unchanged hard state', async () => {
    const s = await reopen();
    const before = s.stats().fsyncs;
    await s.save({ term: 1, vote: '', commit: 0 }, entries(1, 128, 1));
    expect(s.stats().fsyncs).to.equal(before + 1);
    await s.save({ term: 1, vote: '', commit: 0 }, []);
    expect(s.stats().fsyncs).to.equal(before + 1);
    await s.save({ term: 1, vote: '', commit: 100 }, []);
    expect(s.stats().fsyncs).to.equal(before + 2);
  });

  it('replaces the stored suffix when an append starts at or below the last index', async () => {
    let s = await reopen();
    await s.save(undefined, entries(1, 10, 1));
    await s.save(undefined, entries(6, 8, 2));
    expect(s.lastIndex()).to.equal(8);
    s = await reopen();
    const st = await s.load();
    expect(st.entries).to.deep.equal([...entries(1, 5, 1), ...entries(6, 8, 2)]);
    await s.save(undefined, entries(9, 9, 2));
    s = await reopen();
    expect((await s.load()).entries.map((e) => [e.index, e.term])).to.deep.equal([
      [1, 1], [2, 1], [3, 1], [4, 1], [5, 1], [6, 2], [7, 2], [8, 2], [9, 2],
    ]);
  });

  it('rejects appends that leave a gap or reach into the snapshot, without failing the store', async () => {
    const s = await reopen();
    await s.save(undefined, entries(1, 3, 1));
    let err: unknown;
    await s.save(undefined, entries(5, 6, 1)).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(WalError);
    expect((err as Error).message).to.match(/^raft: wal: cannot append entry 5/);
    await s.save(undefined, entries(4, 4, 1));
    expect(s.lastIndex()).to.equal(4);
  });

  it('rolls over to new segments and reads entries back across them, also after suffix replacement', async () => {
    let s = await reopen({ segmentSize: 1024 });
    for (let i = 1; i <= 200; i += 10) await s.save({ term: 1, vote: 'n1', commit: i }, entries(i, i + 9, 1));
    const segs = (await readdir(join(dir!, 'wal'))).filter((n) => n.endsWith('.wal'));
    expect(segs.length).to.be.greaterThan(5);
    expect(s.stats().segments).to.equal(segs.length);
    // Replace a suffix that starts in an early, sealed segment.
    await s.save({ term: 2, vote: 'n1', commit: 191 }, entries(50, 60, 2));
    s = await reopen({ segmentSize: 1024 });
    const st = await s.load();
    expect(st.hardState).to.deep.equal({ term: 2, vote: 'n1', commit: 191 });
    expect(st.entries).to.deep.equal([...entries(1, 49, 1), ...entries(50, 60, 2)]);
    expect(await s.entries(45, 55)).to.deep.equal([...entries(45, 49, 1), ...entries(50, 54, 2)]);
  });

  it('compact() deletes only whole segments covered by the saved snapshot', async () => {
    let s = await reopen({ segmentSize: 1024 });
    for (let i = 1; i <= 200; i += 10) await s.save({ term: 1, vote: '', commit: i + 9 }, entries(i, i + 9, 1));
    const segsBefore = s.stats().segments;
    await s.compact(150); // no snapshot yet: clamped, nothing may go
    expect(s.stats().segments).to.equal(segsBefore);
    await s.saveSnapshot(snapshot(150, 1));
    expect(s.stats().segments).to.be.lessThan(segsBefore);
    expect(s.firstIndex()).to.be.within(2, 151);
    s = await reopen({ segmentSize: 1024 });
    const st = await s.load();
    expect(st.snapshot?.meta.index).to.equal(150);
    expect(st.entries).to.deep.equal(entries(151, 200, 1));
    expect(st.hardState.commit).to.equal(200);
    // Appending continues normally after head truncation.
    await s.save(undefined, entries(201, 205, 1));
    s = await reopen({ segmentSize: 1024 });
    expect((await s.load()).entries).to.deep.equal(entries(151, 205, 1));
  });

  it('keeps the hard state after the segments that recorded it are compacted away', async () => {
    let s = await reopen({ segmentSize: 1024 });
    await s.save({ term: 7, vote: 'n3', commit: 0 }, []);
    for (let i = 1; i <= 100; i += 10) await s.save(undefined, entries(i, i + 9, 7));
    await s.saveSnapshot(snapshot(100, 7));
    s = await reopen({ segmentSize: 1024 });
    const st = await s.load();
    expect(st.hardState).to.deep.equal({ term: 7, vote: 'n3', commit: 0 });
    expect(st.entries).to.deep.equal([]);
    expect(s.lastIndex()).to.equal(100);
  });

  it('snapshots: keeps the newest two, loads the newest, ignores and removes .tmp leftovers', async () => {
    let s = await reopen();
    await s.save(undefined, entries(1, 30, 1));
    await s.saveSnapshot(snapshot(10, 1));
    await s.saveSnapshot(snapshot(20, 1));
    await s.saveSnapshot(snapshot(30, 1, 5000));
    const snapDir = join(dir!, 'snapshots');
    expect((await readdir(snapDir)).sort()).to.deep.equal([
      '0000000000000001-0000000000000014.snap',
      '0000000000000001-000000000000001e.snap',
    ]);
    await writeFile(join(snapDir, '0000000000000001-0000000000000028.snap.tmp'), 'half-written');
    s = await reopen();
    const st = await s.load();
    expect(st.snapshot).to.deep.equal(snapshot(30, 1, 5000));
    expect(st.entries).to.deep.equal([]);
    expect((await readdir(snapDir)).some((n) => n.endsWith('.tmp'))).to.equal(false);
    // A second load() reads the snapshot back from disk.
    expect((await s.load()).snapshot).to.deep.equal(snapshot(30, 1, 5000));
  });

  it('keeps the log suffix after a matching snapshot and discards the log after a conflicting one', async () => {
    let s = await reopen();
    await s.save(undefined, [...entries(1, 5, 1), ...entries(6, 10, 2)]);
    await s.saveSnapshot(snapshot(6, 2));
    expect(s.lastIndex()).to.equal(10);
    await s.saveSnapshot(snapshot(8, 3)); // the log's entry 8 has term 2: whole log discarded
    expect(s.lastIndex()).to.equal(8);
    s = await reopen();
    expect((await s.load()).entries).to.deep.equal([]);
    await s.save(undefined, entries(9, 9, 3));
    s = await reopen();
    const st = await s.load();
    expect(st.snapshot?.meta).to.deep.include({ index: 8, term: 3 });
    expect(st.entries).to.deep.equal(entries(9, 9, 3));
  });

  it('accepts a snapshot beyond the end of the log (InstallSnapshot) and continues after it', async () => {
    let s = await reopen({ segmentSize: 1024 });
    await s.save({ term: 1, vote: '', commit: 3 }, entries(1, 3, 1));
    await s.saveSnapshot(snapshot(500, 4));
    expect(s.firstIndex()).to.equal(501);
    expect(s.lastIndex()).to.equal(500);
    await s.save({ term: 4, vote: '', commit: 502 }, entries(501, 502, 4));
    s = await reopen({ segmentSize: 1024 });
    const st = await s.load();
    expect(st.snapshot?.meta.index).to.equal(500);
    expect(st.entries).to.deep.equal(entries(501, 502, 4));
    expect(st.hardState.commit).to.equal(502);
  });

  it('refuses a data dir that belongs to another node id', async () => {
    await reopen();
    await store!.close();
    store = undefined;
    let err: unknown;
    await FileStorage.open(dir!, { nodeId: 'n2' }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(NodeIdMismatchError);
    expect((err as Error).message).to.contain('belongs to node "n1"');
  });

  it('locks the data dir against a second opener; a lock left by a dead process is taken over', async () => {
    await reopen();
    let err: unknown;
    await FileStorage.open(dir!, { nodeId: 'n1' }).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.match(/^raft: wal: data dir .* is already open in this process/);
    await store!.close();
    store = undefined;
    await writeFile(join(dir!, 'LOCK'), `${process.ppid}\n`); // a live process that is not us
    err = undefined;
    await FileStorage.open(dir!, { nodeId: 'n1' }).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.contain(`locked by running process ${process.ppid}`);
    await writeFile(join(dir!, 'LOCK'), '999999999\n'); // no such pid
    await reopen();
  });

  it('rejects calls after close()', async () => {
    const s = await reopen();
    await s.close();
    let err: unknown;
    await s.save(undefined, entries(1, 1, 1)).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.equal('raft: wal: storage is closed');
  });
});
