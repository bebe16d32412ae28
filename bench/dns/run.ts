/**
 * DNS benchmark: Herald's DnsServer against the dnsmasq anchor, measured in the same run.
 *
 *   node dist/bench/dns/run.js [seconds]      (default 10 s per measurement)
 *
 * Starts a DnsServer in a child process (`run.js serve`) over a StateStore holding three
 * healthy `web` instances, then runs dnsperf (UDP, 4 clients, up to 200k q/s — the anchor's
 * settings) for `web.service.consul A` and `_web._tcp.service.consul SRV`, a short verbose run
 * for the A latency percentiles, and `<repo>/../shared/anchors/dnsmasq-qps.sh <seconds>` right
 * after the A measurement.
 * Prints one JSON line per measurement and a summary with herald/dnsmasq (target ≥ 0.5).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandType, StateStore } from '../../catalog/state/index.js';
import { storeReader } from '../../dns/catalog-reader.js';
import { DnsServer } from '../../dns/server.js';

/** Repository root, from dist/bench/dns/. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function serve(): Promise<void> {
  const store = new StateStore({ datacenter: 'dc1' });
  let index = 0;
  for (let i = 1; i <= 3; i++) {
    const r = store.apply(++index, {
      type: CommandType.Register,
      req: {
        Node: `node${i}`, Address: `203.0.113.${i}`,
        Service: { ID: `web${i}`, Service: 'web', Port: 8080 },
        Checks: [
          { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing' },
          { CheckID: `web${i}-http`, Name: 'web http', ServiceID: `web${i}`, Status: 'passing' },
        ],
      },
    });
    if (!r.ok) throw new Error(`bench: register failed: ${r.error}`);
  }
  const server = new DnsServer({ host: '127.0.0.1', port: 0, reader: storeReader(store) });
  await server.start();
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void server.stop().then(() => process.exit(0)));
}

interface PerfResult {
  qps: number;
  /** Null when the output did not say (the anchor script prints only q/s, latency and lost). */
  sent: number | null;
  lost: number;
  avgLatencyMs: number | null;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`bench: ${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else res(`${stdout}\n${stderr}`);
    });
  });
}

function parsePerf(out: string): PerfResult {
  const num = (re: RegExp): number | null => {
    const m = re.exec(out);
    return m === null ? null : Number(m[1]);
  };
  return {
    qps: num(/Queries per second:\s+([\d.]+)/) ?? 0,
    sent: num(/Queries sent:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/) ?? 0,
    avgLatencyMs: ((v) => (v === null ? null : v * 1000))(num(/Average Latency \(s\):\s+([\d.]+)/)),
  };
}

async function dnsperf(port: number, file: string, seconds: number, verbose = false): Promise<string> {
  const args = ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(seconds), '-c', '4', '-Q', '200000'];
  if (verbose) args.push('-v');
  return run('dnsperf', args, (seconds + 30) * 1000);
}

/** p50/p99 in ms from dnsperf -v lines (`> NOERROR name type latency`). */
function percentiles(out: string): { p50Ms: number; p99Ms: number; samples: number } | null {
  const lat: number[] = [];
  for (const m of out.matchAll(/^> \S+ \S+ \S+ ([\d.]+)$/gm)) lat.push(Number(m[1]));
  if (lat.length === 0) return null;
  lat.sort((a, b) => a - b);
  const at = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! * 1000;
  return { p50Ms: at(0.5), p99Ms: at(0.99), samples: lat.length };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 10);
  const dir = mkdtempSync(join(tmpdir(), 'herald-dns-bench-'));
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((res, rej) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const line = buf.split('\n')[0];
        if (buf.includes('\n') && line !== undefined) res((JSON.parse(line) as { port: number }).port);
      });
      child.once('exit', (code) => rej(new Error(`bench: server exited with ${code}`)));
    });
    writeFileSync(join(dir, 'a'), 'web.service.consul A\n');
    writeFileSync(join(dir, 'srv'), '_web._tcp.service.consul SRV\n');
    const a = parsePerf(await dnsperf(port, join(dir, 'a'), seconds));
    console.log(JSON.stringify({ measurement: 'herald A web.service.consul', ...a }));
    // The anchor runs right after Herald's A measurement, so both see similar machine load.
    const anchorScript = resolve(ROOT, '..', 'shared', 'anchors', 'dnsmasq-qps.sh');
    const anchor = parsePerf(await run('bash', [anchorScript, String(seconds)], (seconds + 120) * 1000));
    console.log(JSON.stringify({ measurement: 'dnsmasq A (anchor)', ...anchor }));
    const srv = parsePerf(await dnsperf(port, join(dir, 'srv'), seconds));
    console.log(JSON.stringify({ measurement: 'herald SRV _web._tcp.service.consul', ...srv }));
    const lat = percentiles(await dnsperf(port, join(dir, 'a'), Math.min(seconds, 5), true));
    console.log(JSON.stringify({ measurement: 'herald A latency (dnsperf -v, separate run)', ...lat }));
    child.stdin.end();
    const ratio = anchor.qps > 0 ? a.qps / anchor.qps : 0;
    console.log(`herald A qps: ${a.qps.toFixed(0)}  SRV qps: ${srv.qps.toFixed(0)}  dnsmasq qps: ${anchor.qps.toFixed(0)}`);
    console.log(`ratio herald/dnsmasq: ${ratio.toFixed(3)} (target >= 0.5)  lost: A ${a.lost}, SRV ${srv.lost}, dnsmasq ${anchor.lost}`);
    if (lat !== null) console.log(`herald A latency: p50 ${lat.p50Ms.toFixed(3)} ms, p99 ${lat.p99Ms.toFixed(3)} ms (${lat.samples} samples)`);
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'serve') {
  void serve();
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
