/**
 * A UDP probe for checking link impairments between namespaces (ping is not installed
 * everywhere, and it measures one echo at a time):
 *
 *   node udp-probe.js echo  <addr> <port>                        echoes every datagram back;
 *        prints {"ready":true} once bound, and {"received":N} on SIGTERM, then exits
 *   node udp-probe.js probe <addr> <port> <count> <intervalMs> <waitMs>
 *        sends <count> numbered datagrams, one every <intervalMs>, collects echoes until
 *        <waitMs> after the last, prints one JSON {@link ProbeResult} and exits
 *
 * Run each end inside a namespace with `ip netns exec`.
 */
import { createSocket } from 'node:dgram';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What one probe run saw; RTTs in milliseconds. */
export interface ProbeResult {
  sent: number;
  received: number;
  /** Echoes that arrived after an echo of a later-sent datagram. */
  reordered: number;
  rttMeanMs: number;
  rttStdMs: number;
  rttMedianMs: number;
  rttMinMs: number;
  rttMaxMs: number;
}

function echo(addr: string, port: number): void {
  const sock = createSocket('udp4');
  let received = 0;
  sock.on('message', (msg, rinfo) => {
    received++;
    sock.send(msg, rinfo.port, rinfo.address);
  });
  sock.bind(port, addr, () => console.log(JSON.stringify({ ready: true })));
  process.on('SIGTERM', () => {
    console.log(JSON.stringify({ received }));
    process.exit(0);
  });
}

function probe(addr: string, port: number, count: number, intervalMs: number, waitMs: number): void {
  const sock = createSocket('udp4');
  const sentAt: number[] = [];
  const rtts: number[] = [];
  const seen = new Set<number>();
  let maxSeq = -1;
  let reordered = 0;
  sock.on('message', (msg) => {
    if (msg.length < 4) return;
    const seq = msg.readUInt32BE(0);
    const t = sentAt[seq];
    if (t === undefined || seen.has(seq)) return;
    seen.add(seq);
    rtts.push(performance.now() - t);
    if (seq < maxSeq) reordered++;
    else maxSeq = seq;
  });
  sock.bind(0, () => {
    let seq = 0;
    const timer = setInterval(() => {
      const b = Buffer.alloc(64);
      b.writeUInt32BE(seq, 0);
      sentAt[seq] = performance.now();
      sock.send(b, port, addr);
      if (++seq >= count) {
        clearInterval(timer);
        setTimeout(() => {
          const n = rtts.length;
          const mean = n ? rtts.reduce((a, x) => a + x, 0) / n : 0;
          const std = n ? Math.sqrt(rtts.reduce((a, x) => a + (x - mean) ** 2, 0) / n) : 0;
          const sorted = [...rtts].sort((a, b) => a - b);
          const median = n ? (sorted[Math.floor((n - 1) / 2)] as number) : 0;
          const r: ProbeResult = { sent: count, received: n, reordered, rttMeanMs: mean, rttStdMs: std, rttMedianMs: median, rttMinMs: n ? (sorted[0] as number) : 0, rttMaxMs: n ? (sorted[n - 1] as number) : 0 };
          console.log(JSON.stringify(r));
          process.exit(0);
        }, waitMs);
      }
    }, intervalMs);
  });
}

// Only as a program: importing this module (e.g. a test runner loading every file) does nothing.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [mode, addr, port, ...rest] = process.argv.slice(2);
  if (mode === 'echo' && addr && port) echo(addr, Number(port));
  else if (mode === 'probe' && addr && port && rest.length === 3) probe(addr, Number(port), Number(rest[0]), Number(rest[1]), Number(rest[2]));
  else {
    console.error('usage: udp-probe.js echo <addr> <port> | probe <addr> <port> <count> <intervalMs> <waitMs>');
    process.exit(2);
  }
}
