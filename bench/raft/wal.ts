/**
 * Micro-benchmark of the WAL alone (no Raft, no network): appends/s and fsyncs/s of
 * FileStorage.save() for batch sizes 1, 32 and 128 on the disk holding os.tmpdir() (or
 * --dir). It measures this machine's fsync cost more than our code; it is not the cluster
 * benchmark of bench/raft and has no anchor.
 *
 *   node dist/bench/raft/wal.js [--seconds 2] [--entry-bytes 128] [--dir /path]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FileStorage } from '../../catalog/raft/wal/index.js';
import { EntryType, type Entry } from '../../catalog/raft/types.js';

interface Result {
  batch: number;
  saves: number;
  entries: number;
  seconds: number;
  p50ms: number;
  p99ms: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
}

async function run(base: string, batch: number, seconds: number, entryBytes: number): Promise<Result> {
  const dir = await mkdtemp(join(base, `herald-walbench-${batch}-`));
  try {
    const s = await FileStorage.open(dir, { nodeId: 'bench' });
    const data = new Uint8Array(entryBytes).fill(0xab);
    const lat: number[] = [];
    let next = 1;
    const start = performance.now();
    const end = start + seconds * 1000;
    while (performance.now() < end) {
      const es: Entry[] = [];
      for (let i = 0; i < batch; i++) es.push({ index: next + i, term: 1, type: EntryType.Normal, data });
      const t0 = performance.now();
      await s.save({ term: 1, vote: 'bench', commit: next + batch - 1 }, es);
      lat.push(performance.now() - t0);
      next += batch;
    }
    const elapsed = (performance.now() - start) / 1000;
    const fsyncs = s.stats().fsyncs;
    await s.close();
    lat.sort((a, b) => a - b);
    return { batch, saves: fsyncs, entries: next - 1, seconds: elapsed, p50ms: quantile(lat, 0.5), p99ms: quantile(lat, 0.99) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '2' }, 'entry-bytes': { type: 'string', default: '128' }, dir: { type: 'string' } },
  });
  const seconds = Number(values.seconds);
  const entryBytes = Number(values['entry-bytes']);
  const base = values.dir ?? tmpdir();
  console.log(`WAL micro-benchmark (FileStorage.save, one fdatasync per save) — ${base}, ${entryBytes}-byte entries, ${seconds} s per batch size`);
  console.log('batch   appends/s    fsyncs/s   p50 save ms   p99 save ms');
  for (const batch of [1, 32, 128]) {
    const r = await run(base, batch, seconds, entryBytes);
    console.log(
      `${String(r.batch).padStart(5)} ${(r.entries / r.seconds).toFixed(0).padStart(11)} ${(r.saves / r.seconds).toFixed(0).padStart(11)} ${r.p50ms.toFixed(3).padStart(13)} ${r.p99ms.toFixed(3).padStart(13)}`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
