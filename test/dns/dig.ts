import { execFile } from 'node:child_process';

/** What dig printed, parsed. */
export interface DigResult {
  status: string;
  flags: string[];
  answer: string[][];
  authority: string[][];
  additional: string[][];
  /** dig said the UDP answer was truncated and retried over TCP. */
  retriedTcp: boolean;
  /** The OPT pseudo-section was present. */
  edns: boolean;
  raw: string;
}

/** Runs `dig @127.0.0.1 -p port ...args` (bounded: 2 s per try, 1 try). */
export function dig(port: number, ...args: string[]): Promise<DigResult> {
  const argv = ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', '+nocookie', ...args];
  return new Promise((resolve, reject) => {
    execFile('dig', argv, { timeout: 10_000, maxBuffer: 8 << 20 }, (err, stdout) => {
      if (err && !stdout) return reject(new Error(`dig ${argv.join(' ')}: ${err.message}`));
      resolve(parseDig(stdout));
    });
  });
}

export function parseDig(out: string): DigResult {
  const status = /status: ([A-Z]+)/.exec(out)?.[1] ?? 'none';
  const flags = (/;; flags: ([a-z ]*);/.exec(out)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const section = (name: string): string[][] => {
    const i = out.indexOf(`;; ${name} SECTION:`);
    if (i < 0) return [];
    const rows: string[][] = [];
    for (const line of out.slice(i).split('\n').slice(1)) {
      if (line.trim() === '' || line.startsWith(';;')) break;
      rows.push(line.trim().split(/\s+/));
    }
    return rows;
  };
  return {
    status, flags,
    answer: section('ANSWER'), authority: section('AUTHORITY'), additional: section('ADDITIONAL'),
    retriedTcp: out.includes('Truncated, retrying in TCP mode'),
    edns: out.includes('OPT PSEUDOSECTION'),
    raw: out,
  };
}
