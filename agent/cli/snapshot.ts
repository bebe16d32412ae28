/**
 * `herald snapshot save|restore|inspect <file>`, like `consul snapshot`.
 *
 * - save: GET /v1/snapshot (optionally `-stale`), written to `<file>.part`, verified (gzip,
 *   tar, SHA-256 sums) and renamed into place: "Saved and verified snapshot to index N".
 * - restore: verifies the file locally first (a damaged file is refused before anything is
 *   sent), then PUT /v1/snapshot: "Restored snapshot".
 * - inspect: verifies the file and prints its metadata.
 * Transfers that run longer than a second print a progress line on stderr about once a second
 * (`HERALD_PROGRESS_MS` in the environment changes the interval; 0 prints at every chunk).
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Command } from 'commander';
import { SnapshotArchiveError, unpackSnapshotArchive, type SnapshotArchiveMeta } from '../../catalog/archive.js';
import { clientFor, columns } from './client.js';
import { CliError, println, type CliIO } from './io.js';

const PROGRESS_EVERY_MS = 1000;

function fmtBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** One streamed request with a progress callback on both directions. */
function transfer(base: URL, method: string, path: string, body: Buffer | undefined, progress: (sent: number, received: number) => void): Promise<{ status: number; bytes: Buffer; headers: Record<string, string | string[] | undefined> }> {
  const url = new URL(path, base);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const headers: Record<string, number> = body ? { 'Content-Length': body.length } : {};
    const req = send(url, { method, headers, timeout: 10 * 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        received += c.length;
        progress(body?.length ?? 0, received);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes: Buffer.concat(chunks), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 minutes')));
    req.on('error', (e: NodeJS.ErrnoException) => reject(new CliError(`cannot reach the Herald agent at ${base.host}: ${e.code ?? e.message}`)));
    if (body) {
      const CHUNK = 256 * 1024;
      let off = 0;
      const pump = (): void => {
        while (off < body.length) {
          const end = Math.min(body.length, off + CHUNK);
          const ok = req.write(body.subarray(off, end));
          off = end;
          progress(off, 0);
          if (!ok) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    } else req.end();
  });
}

/** The progress interval: `HERALD_PROGRESS_MS` when it is a non-negative number, else once a second. */
function progressEveryMs(): number {
  const v = Number(process.env['HERALD_PROGRESS_MS']);
  return process.env['HERALD_PROGRESS_MS'] !== undefined && process.env['HERALD_PROGRESS_MS'] !== '' && Number.isFinite(v) && v >= 0 ? v : PROGRESS_EVERY_MS;
}

function progressPrinter(io: CliIO, verb: string): (sent: number, received: number) => void {
  const every = progressEveryMs();
  const start = Date.now();
  let last = start;
  return (sent, received) => {
    const now = Date.now();
    if (now - start < every || now - last < every) return;
    last = now;
    println(io.stderr, `${verb}: ${fmtBytes(Math.max(sent, received))} transferred (${((now - start) / 1000).toFixed(0)} s)`);
  };
}

function verify(bytes: Uint8Array, file: string): SnapshotArchiveMeta {
  try {
    return unpackSnapshotArchive(bytes).meta;
  } catch (e) {
    if (e instanceof SnapshotArchiveError) throw new CliError(`Error verifying snapshot file ${file}: ${e.message}`);
    throw e;
  }
}

export function registerSnapshotCommands(program: Command, io: CliIO): void {
  const snap = program.command('snapshot').description('Save, restore and inspect snapshots of the server state');

  snap.command('save')
    .description('Save a snapshot of the whole state to a file')
    .argument('<file>', 'destination file')
    .option('--stale', 'read from any server, not only the leader')
    .action(async (file: string, o: { stale?: boolean }, cmd: Command) => {
      const c = clientFor(cmd, io);
      const r = await transfer(c.base, 'GET', `/v1/snapshot${o.stale ? '?stale' : ''}`, undefined, progressPrinter(io, 'Saving snapshot'));
      if (r.status !== 200) throw new CliError(`Error saving snapshot: Unexpected response code: ${r.status} (${r.bytes.toString('utf8').trim()})`);
      const part = `${file}.part`;
      writeFileSync(part, r.bytes);
      try {
        const meta = verify(readFileSync(part), part);
        renameSync(part, file);
        println(io.stdout, `Saved and verified snapshot to index ${meta.Index}`);
      } catch (e) {
        rmSync(part, { force: true });
        throw e;
      }
    });

  snap.command('restore')
    .description('Replace the whole state with a snapshot file')
    .argument('<file>', 'snapshot file')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (e) {
        throw new CliError(`Error opening snapshot file: ${(e as Error).message}`);
      }
      verify(bytes, file);
      const c = clientFor(cmd, io);
      const r = await transfer(c.base, 'PUT', '/v1/snapshot', bytes, progressPrinter(io, 'Restoring snapshot'));
      if (r.status !== 200) throw new CliError(`Error restoring snapshot: Unexpected response code: ${r.status} (${r.bytes.toString('utf8').trim()})`);
      println(io.stdout, 'Restored snapshot');
    });

  snap.command('inspect')
    .description('Verify a snapshot file and print its metadata')
    .argument('<file>', 'snapshot file')
    .action((file: string) => {
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (e) {
        throw new CliError(`Error opening snapshot file: ${(e as Error).message}`);
      }
      const m = verify(bytes, file);
      println(io.stdout, columns([
        ['Index', String(m.Index)],
        ['Size', String(m.Size)],
        ['Version', String(m.Version)],
        ['StateVersion', String(m.StateVersion)],
        ['Datacenter', m.Datacenter],
        ['Created', m.Created],
      ]));
    });
}
