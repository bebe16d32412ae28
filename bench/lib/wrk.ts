/**
 * Runs `wrk` (Debian's package; installed with apt-get when missing, as the anchors do) and
 * parses its summary: requests/s, latency percentiles, errors.
 */
import { execFileSync, spawn } from 'node:child_process';

export interface WrkResult {
  requests: number;
  seconds: number;
  /** Successful (2xx/3xx) requests per second. */
  okPerSec: number;
  /** wrk's own Requests/sec (all responses). */
  requestsPerSec: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  non2xx: number;
  socketErrors: number;
  raw: string;
}

/** Makes sure `wrk` is on PATH; throws with the reason when it cannot be installed. */
export function ensureWrk(): void {
  try {
    execFileSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' });
    return;
  } catch {
    // Not installed yet.
  }
  execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null'], { stdio: 'inherit', timeout: 300_000 });
}

function toMs(v: string, unit: string): number {
  const x = Number(v);
  switch (unit) {
    case 'us':
      return x / 1000;
    case 'ms':
      return x;
    case 's':
      return x * 1000;
    case 'm':
      return x * 60_000;
    default:
      return NaN;
  }
}

/** Parses wrk's `--latency` output. */
export function parseWrk(raw: string): WrkResult {
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(raw);
    return m ? toMs(m[1]!, m[2]!) : NaN;
  };
  const reqs = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(raw);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(raw);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(raw);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  const requests = reqs ? Number(reqs[1]) : NaN;
  const seconds = reqs ? toMs(reqs[2]!, reqs[3]!) / 1000 : NaN;
  const bad = non2xx ? Number(non2xx[1]) : 0;
  return {
    requests,
    seconds,
    okPerSec: (requests - bad) / seconds,
    requestsPerSec: rps ? Number(rps[1]) : NaN,
    p50ms: pct('50'),
    p90ms: pct('90'),
    p99ms: pct('99'),
    non2xx: bad,
    socketErrors: sock ? sock.slice(1).reduce((s, x) => s + Number(x), 0) : 0,
    raw,
  };
}

/** Runs wrk with `--latency`; killed after `seconds + 30` s at the latest. */
export async function runWrk(opts: { url: string; connections: number; threads: number; seconds: number; script: string; timeoutS?: number }): Promise<WrkResult> {
  const args = [
    `-t${opts.threads}`,
    `-c${opts.connections}`,
    `-d${opts.seconds}s`,
    `--timeout`,
    `${opts.timeoutS ?? 5}s`,
    '--latency',
    '-s',
    opts.script,
    opts.url,
  ];
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const killer = setTimeout(() => child.kill('SIGKILL'), (opts.seconds + 30) * 1000);
  const onExit = (): void => void child.kill('SIGKILL');
  process.on('exit', onExit);
  try {
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    if (code !== 0) throw new Error(`bench: wrk ${args.join(' ')} exited with ${code}:\n${out}`);
    return parseWrk(out);
  } finally {
    clearTimeout(killer);
    process.off('exit', onExit);
  }
}
