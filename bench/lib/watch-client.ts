/**
 * A lean load generator for blocking-query benchmarks: N watchers, each one raw TCP
 * connection on 127.0.0.1 carrying one `GET` request, with just enough HTTP/1.1 parsing to
 * know when the response is complete (status line, `Content-Length` or a chunked end,
 * `X-Consul-Index`). It replaces `node:http` clients, whose per-response parsing cost on the
 * same 2 cores inflated the measured wake-up latency.
 *
 * Contract:
 * - A watcher's `at` is the time its *complete* response (headers and whole body) had
 *   arrived, as an epoch timestamp in ms with sub-ms precision ({@link epochNow}), so it is
 *   comparable across processes on one machine.
 * - {@link spawnWatchers} spreads the watchers over child processes (each running
 *   `watch-client-child.js`), so the parsing competes with the server for CPU only as much as
 *   the OS scheduler decides, not inside the bench's own event loop.
 */
import { fork } from 'node:child_process';
import { connect, type Socket } from 'node:net';

/** Wall-clock ms (epoch) with the monotonic clock's resolution; comparable across processes. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

export interface WatchResult {
  status: number;
  /** `X-Consul-Index` of the answer ('' when absent). */
  index: string;
  /** Body length in bytes. */
  bytes: number;
  /** {@link epochNow} when the last byte of the response arrived. */
  at: number;
}

export interface Watchers {
  /** Resolves once every connection is open and its request written. */
  ready: Promise<void>;
  /** Number of complete responses so far. */
  answered(): number;
  /** Resolves with every watcher's result once all have answered. */
  done: Promise<WatchResult[]>;
  /** Destroys every socket. */
  close(): void;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('0\r\n\r\n');

/** Parses one HTTP/1.1 response off `sock`; resolves when it is complete. */
function awaitResponse(sock: Socket): Promise<WatchResult> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let status = 0;
    let index = '';
    let bodyStart = -1;
    let length = -1;
    let chunked = false;
    const onData = (c: Buffer): void => {
      buf = buf.length === 0 ? c : Buffer.concat([buf, c]);
      if (bodyStart < 0) {
        const end = buf.indexOf(HEADER_END);
        if (end < 0) return;
        bodyStart = end + 4;
        const head = buf.subarray(0, end).toString('latin1').split('\r\n');
        status = Number(head[0]!.split(' ')[1]);
        for (let i = 1; i < head.length; i++) {
          const line = head[i]!;
          const colon = line.indexOf(':');
          const name = line.slice(0, colon).toLowerCase();
          const value = line.slice(colon + 1).trim();
          if (name === 'content-length') length = Number(value);
          else if (name === 'x-consul-index') index = value;
          else if (name === 'transfer-encoding') chunked = value.toLowerCase().includes('chunked');
        }
        if (length < 0 && !chunked) {
          reject(new Error('bench: response without Content-Length or chunked encoding'));
          return;
        }
      }
      const body = buf.length - bodyStart;
      const complete = chunked ? buf.subarray(buf.length - CHUNKED_END.length).equals(CHUNKED_END) : body >= length;
      if (!complete) return;
      sock.off('data', onData);
      resolve({ status, index, bytes: body, at: epochNow() });
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.once('close', () => reject(new Error('bench: watcher connection closed before its answer')));
  });
}

/** Opens `count` watchers on this process's event loop. */
export function openWatchers(port: number, path: string, count: number): Watchers {
  const socks: Socket[] = [];
  const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`;
  let answered = 0;
  const opened: Promise<void>[] = [];
  const results: Promise<WatchResult>[] = [];
  for (let i = 0; i < count; i++) {
    const sock = connect({ host: '127.0.0.1', port, noDelay: true });
    socks.push(sock);
    results.push(
      awaitResponse(sock).then((r) => {
        answered++;
        return r;
      }),
    );
    opened.push(
      new Promise((resolve, reject) => {
        sock.once('connect', () => sock.write(request, () => resolve()));
        sock.once('error', reject);
      }),
    );
  }
  const done = Promise.all(results);
  done.catch(() => undefined);
  return {
    ready: Promise.all(opened).then(() => undefined),
    answered: () => answered,
    done,
    close: () => {
      for (const s of socks) s.destroy();
    },
  };
}

/** Messages between {@link spawnWatchers} and its children. */
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'answered'; n: number }
  | { type: 'done'; results: WatchResult[] }
  | { type: 'error'; message: string };

/**
 * Opens `count` watchers spread evenly over `procs` child processes. `answered()` is
 * refreshed from the children's progress messages (sent as answers arrive, coalesced).
 */
export function spawnWatchers(port: number, path: string, count: number, procs: number): Watchers {
  const childPath = new URL('./watch-client-child.js', import.meta.url);
  const counts = Array.from({ length: procs }, (_, i) => Math.floor(count / procs) + (i < count % procs ? 1 : 0));
  const answeredBy = new Array<number>(procs).fill(0);
  const children = counts.map((n) => fork(childPath, [String(port), path, String(n)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const ready: Promise<void>[] = [];
  const done: Promise<WatchResult[]>[] = [];
  children.forEach((child, i) => {
    let onReady: () => void;
    let onDone: (r: WatchResult[]) => void;
    let fail: (e: Error) => void;
    ready.push(new Promise<void>((res, rej) => ((onReady = res), (fail = rej))));
    done.push(
      new Promise<WatchResult[]>((res, rej) => {
        onDone = res;
        const prev = fail;
        fail = (e) => (prev(e), rej(e));
      }),
    );
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') onReady();
      else if (m.type === 'answered') answeredBy[i] = m.n;
      else if (m.type === 'done') (answeredBy[i] = m.results.length), onDone(m.results);
      else fail(new Error(m.message));
    });
    child.once('exit', (code) => fail(new Error(`bench: watcher child exited with ${code}`)));
  });
  const all = Promise.all(done).then((rs) => rs.flat());
  all.catch(() => undefined);
  return {
    ready: Promise.all(ready).then(() => undefined),
    answered: () => answeredBy.reduce((a, b) => a + b, 0),
    done: all,
    close: () => {
      for (const c of children) if (c.connected) c.disconnect();
    },
  };
}
