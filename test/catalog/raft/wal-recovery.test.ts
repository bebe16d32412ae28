import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { appendFile, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { FileStorage, SnapshotCorruptError, WalCorruptError } from '../../../catalog/raft/wal/index.js';
import { SEGMENT_HEADER_SIZE, scanRecords } from '../../../catalog/raft/wal/record.js';
import { encodeSnapshot, snapshotFileName } from '../../../catalog/raft/wal/snapshot-file.js';
import { capturingLogger, entries, makeTempDir, payloadFor, removeDir, snapshot } from './wal-helpers.js';

const SEG = 2048;

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'wal'))).filter((n) => n.endsWith('.wal')).sort().map((n) => join(dir, 'wal', n));
}

/** Byte offsets of the records in a segment file. */
async function recordOffsets(file: string): Promise<number[]> {
  const { records, stop } = scanRecords(await readFile(file), SEGMENT_HEADER_SIZE);
  expect(stop).to.equal(undefined);
  return records.map((r) => r.offset);
}

async function flipByte(file: string, offset: number): Promise<void> {
  const b = await readFile(file);
  b[offset] = (b[offset] as number) ^ 0x5a;
  await writeFile(file, b);
}

async function openError(dir: string): Promise<Error> {
  let err: Error | undefined;
  const s = await FileStorage.open(dir, { nodeId: 'n1', segmentSize: SEG }).catch((e: Error) => {
    err = e;
    return undefined;
  });
  await s?.close();
  if (!err) throw new Error('expected FileStorage.open to fail');
  return err;
}

describe('raft wal recovery', () => {
  let dir: string | undefined;

  beforeEach(async () => {
    dir = await makeTempDir('walrec');
  });
  afterEach(async () => {
    await removeDir(dir);
    dir = undefined;
  });

  /** Writes entries 1..60 (several segments) and closes. */
  async function populate(): Promise<void> {
    const s = await FileStorage.open(dir!, { nodeId: 'n1', segmentSize: SEG });
    for (let i = 1; i <= 60; i += 5) await s.save({ term: 1, vote: '', commit: i + 4 }, entries(i, i + 4, 1, 100));
    await s.close();
    expect((await segmentFiles(dir!)).length).to.be.greaterThan(2);
  }

  it('truncates a torn record at the end of the last segment, logs it, and keeps working', async () => {
    await populate();
    const files = await segmentFiles(dir!);
    const last = files[files.length - 1]!;
    const offsets = await recordOffsets(last);
    const lastRecord = offsets[offsets.length - 1]!;
    const size = (await stat(last)).size;
    await truncate(last, lastRecord + Math.floor((size - lastRecord) / 2));
    const { logger, lines } = capturingLogger();
    let s = await FileStorage.open(dir!, { nodeId: 'n1', segmentSize: SEG, logger });
    expect(s.recovery.tornTail).to.deep.include({ file: last, offset: lastRecord });
    expect(lines.some((l) => l.level === 40 && String(l.msg).includes('torn') && l.file === last && l.offset === lastRecord)).to.equal(true);
    expect((await stat(last)).size).to.equal(lastRecord);
    // The torn record was the last batch's hard state (commit 60): the one before is back.
    const st = await s.load();
    expect(st.entries).to.deep.equal(entries(1, 60, 1, 100));
    expect(st.hardState.commit).to.equal(55);
    await s.save(undefined, entries(60, 61, 2, 100));
    await s.close();
    s = await FileStorage.open(dir!, { nodeId: 'n1', segmentSize: SEG });
    expect(s.recovery).to.deep.equal({});
    expect((await s.load()).entries).to.deep.equal([...entries(1, 59, 1, 100), ...entries(60, 61, 2, 100)]);
    await s.close();
  });

  it('drops a torn entry record (header intact, payload cut short)', async () => {
    await populate();
    let s = await FileStorage.open(dir!, { nodeId: 'n1', segmentSize: SEG });
    await s.save(undefined, entries(61, 61, 1, 100));
    await s.close();
    const files = await segmentFiles(dir!);
    const last = files[files.length - 1]!;
    const offsets = await recordOffsets(last);
    await truncate(last, offsets[offsets.length - 1]! + 12);
    s = await FileStorage.open(dir!, { nodeId: 'n1', segmentSize: SEG });
    expect(s.recovery.tornTail?.reason).to.match(/runs past end of file/);
    expect(s.lastIndex()).to.equal(60);
    expect((await s.load()).entries).to.deep.equal(entries(1, 60, 1, 100));
    await s.close();
  });

  it('treats a zero-filled tail (size extended, data never written) as torn', async () => {
    await populate();
    const files = await segmentFiles(dir!);
    const last = files[files.length - 1]!;
    const size = (await stat(last)).size;
    await appendFile(last, Buffer.alloc(700));
    const s = await FileStorage.open(dir!, { nodeId: 'n1', segmentSize: SEG });
    expect(s.recovery.tornTail).to.deep.include({ file: last, offset: size, droppedBytes: 700 });
    expect((await s.load()).entries).to.deep.equal(entries(1, 60, 1, 100));
    await s.close();
  });

  it('refuses to start on a flipped byte in a sealed segment, naming the file and offset', async () => {
    await populate();
    const first = (await segmentFiles(dir!))[0]!;
    const offsets = await recordOffsets(first);
    const victim = offsets[3]!;
    await flipByte(first, victim + 12);
    const err = await openError(dir!);
    expect(err).to.be.instanceOf(WalCorruptError);
    expect(err.message).to.match(new RegExp(`^raft: wal: corrupt record in ${first.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} at offset ${victim}: checksum mismatch`));
    expect((err as WalCorruptError).offset).to.equal(victim);
  });

  it('refuses a flipped byte in the middle of the last segment (damage followed by valid records)', async () => {
    await populate();
    const files = await segmentFiles(dir!);
    const last = files[files.length - 1]!;
    const offsets = await recordOffsets(last);
    expect(offsets.length).to.be.greaterThan(2);
    await flipByte(last, offsets[1]! + 10);
    const err = await openError(dir!);
    expect(err).to.be.instanceOf(WalCorruptError);
    expect((err as WalCorruptError).file).to.equal(last);
    expect((err as WalCorruptError).offset).to.equal(offsets[1]);
  });

  it('refuses a missing middle segment and a damaged segment header', async () => {
    await populate();
    const files = await segmentFiles(dir!);
    await flipByte(files[1]!, 2);
    let err = await openError(dir!);
    expect(err.message).to.equal(`raft: wal: corrupt record in ${files[1]} at offset 0: bad segment magic`);
    await flipByte(files[1]!, 2);
    const { rm } = await import('node:fs/promises');
    await rm(files[1]!);
    err = await openError(dir!);
    expect(err.message).to.contain('segment sequence gap');
  });

  it('falls back to an older snapshot only when the log still covers it; else names the corrupt file', async () => {
    let s = await FileStorage.open(dir!, { nodeId: 'n1' });
    await s.save(undefined, entries(1, 30, 1));
    await s.saveSnapshot(snapshot(10, 1));
    await s.saveSnapshot(snapshot(20, 1));
    await s.close();
    const snaps = (await readdir(join(dir!, 'snapshots'))).sort();
    const newest = join(dir!, 'snapshots', snaps[1]!);
    await flipByte(newest, 40);
    s = await FileStorage.open(dir!, { nodeId: 'n1' });
    expect(s.recovery.skippedSnapshot?.file).to.equal(newest);
    const st = await s.load();
    expect(st.snapshot?.meta.index).to.equal(10);
    expect(st.entries).to.deep.equal(entries(11, 30, 1));
    await s.close();

    // With small segments the log before the newest snapshot is gone: no fallback possible.
    await removeDir(dir);
    dir = await makeTempDir('walrec');
    s = await FileStorage.open(dir, { nodeId: 'n1', segmentSize: SEG });
    for (let i = 1; i <= 60; i += 5) await s.save(undefined, entries(i, i + 4, 1, 100));
    await s.saveSnapshot(snapshot(5, 1));
    await s.saveSnapshot(snapshot(50, 1));
    await s.close();
    const bad = join(dir, 'snapshots', (await readdir(join(dir, 'snapshots'))).sort()[1]!);
    await flipByte(bad, (await stat(bad)).size - 10);
    const err = await openError(dir);
    expect(err).to.be.instanceOf(SnapshotCorruptError);
    expect(err.message).to.equal(`raft: snapshot: corrupt snapshot file ${bad}: data checksum mismatch`);
  });

  it('completes a saveSnapshot() interrupted after the snapshot rename (log not yet reset)', async () => {
    let s = await FileStorage.open(dir!, { nodeId: 'n1' });
    await s.save({ term: 1, vote: '', commit: 10 }, entries(1, 10, 1));
    await s.close();
    // As if the process died right after the snapshot file was renamed into place.
    const sn = snapshot(8, 2);
    await writeFile(join(dir!, 'snapshots', snapshotFileName(2, 8)), Buffer.concat(encodeSnapshot(sn)));
    s = await FileStorage.open(dir!, { nodeId: 'n1' });
    expect(s.lastIndex()).to.equal(8);
    const st = await s.load();
    expect(st.snapshot).to.deep.equal(sn);
    expect(st.entries).to.deep.equal([]);
    await s.save(undefined, entries(9, 9, 2));
    await s.close();
    s = await FileStorage.open(dir!, { nodeId: 'n1' });
    expect((await s.load()).entries).to.deep.equal(entries(9, 9, 2));
    await s.close();
  });

  describe('kill -9 while writing', function () {
    this.timeout(40_000);
    const writer = fileURLToPath(new URL('../../fixtures/wal-writer.js', import.meta.url));

    /** Runs the writer until it has acknowledged `stopAfter` batches, then SIGKILLs it. */
    function runAndKill(seed: number, stopAfter: number): Promise<{ maxAck: number; acks: number }> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [writer, dir!, String(SEG * 8), String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
        let maxAck = 0;
        let acks = 0;
        let buf = '';
        let stderr = '';
        let killed = false;
        const guard = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`seed ${seed}: writer made no progress in 15 s (acks ${acks}); stderr: ${stderr}`));
        }, 15_000);
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop() ?? '';
          for (const l of lines) {
            const m = /^ack (\d+)$/.exec(l);
            if (m) {
              maxAck = Math.max(maxAck, Number(m[1]));
              acks++;
            }
          }
          if (acks >= stopAfter && !killed) {
            killed = true;
            child.kill('SIGKILL');
          }
        });
        child.on('exit', (code, signal) => {
          clearTimeout(guard);
          if (signal === 'SIGKILL') resolve({ maxAck, acks });
          else reject(new Error(`seed ${seed}: writer exited with ${code}: ${stderr}`));
        });
      });
    }

    it('loses no acknowledged entry across repeated SIGKILLs at random moments', async () => {
      const seed = Number(process.env.WAL_CRASH_SEED ?? 20261126);
      const rng = new SeededRng(seed);
      let acknowledged = 0;
      for (let round = 0; round < 4; round++) {
        const { maxAck } = await runAndKill(seed + round, 20 + rng.int(150));
        acknowledged = Math.max(acknowledged, maxAck);
        const s = await FileStorage.open(dir!, { nodeId: 'crash-node', segmentSize: SEG * 8 });
        const st = await s.load();
        await s.close();
        const ctx = `seed ${seed} round ${round}`;
        const from = (st.snapshot?.meta.index ?? 0) + 1;
        if (st.snapshot) expect(st.snapshot, ctx).to.deep.equal(snapshot(st.snapshot.meta.index, 1, 2000));
        const last = from + st.entries.length - 1;
        expect(last, `${ctx}: last stored index below the last acknowledged one`).to.be.at.least(acknowledged);
        st.entries.forEach((e, k) => {
          expect(e.index, ctx).to.equal(from + k);
          expect(e.term, ctx).to.equal(1);
          expect(e.data, `${ctx} entry ${e.index}`).to.deep.equal(payloadFor(e.index, 1, 300));
        });
        expect(st.hardState.commit, ctx).to.be.at.least(acknowledged);
        acknowledged = Math.max(acknowledged, last);
      }
    });
  });
});
