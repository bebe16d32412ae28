import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The packet delayer (`test/faults/netdelay/netdelay.c`) for kernels without `tc netem`: a
 * small C program that serves an NFQUEUE queue inside one namespace, drops a share of the
 * packets and releases the rest after a seeded random delay, out of order when jitter says
 * so. This module builds it on demand and runs one instance per impaired host.
 */
const SOURCE = fileURLToPath(new URL('../../../../test/faults/netdelay/netdelay.c', import.meta.url));
const BINARY = fileURLToPath(new URL('../netdelay/netdelay', import.meta.url));
/** NFQUEUE queue number; queues are per network namespace, so every host can use the same. */
export const NETDELAY_QUEUE = 0;
/** Most packets one delayer holds; beyond that packets pass undelayed (fail open). */
export const NETDELAY_MAX_HELD = 4096;

let built: { path: string } | { error: string } | undefined;

/**
 * The delayer's path, compiled with gcc against libnetfilter-queue when missing or older
 * than its source; or why it cannot be built here (no gcc, no libnetfilter-queue-dev).
 * The answer is cached for the process.
 */
export function netdelayBinary(): { path: string } | { error: string } {
  if (built) return built;
  if (!existsSync(SOURCE)) return (built = { error: `source ${SOURCE} not found` });
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return (built = { path: BINARY });
  mkdirSync(dirname(BINARY), { recursive: true });
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', BINARY, SOURCE, '-lnetfilter_queue', '-lnfnetlink', '-lm'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? r.stderr.trim().split('\n').slice(-3).join(' ');
    return (built = { error: `cannot build netdelay (needs gcc and libnetfilter-queue-dev): ${why}` });
  }
  return (built = { path: BINARY });
}

/**
 * Why netdelay cannot serve a queue in namespace `ns` (the kernel lacks nfnetlink_queue or
 * the iptables NFQUEUE target), or undefined when it can. Leaves nothing behind.
 */
export function netdelayUnsupported(ns: string): string | undefined {
  const bin = netdelayBinary();
  if ('error' in bin) return bin.error;
  const r = spawnSync('ip', ['netns', 'exec', ns, bin.path, '--queue', String(NETDELAY_QUEUE), '--check'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return `netdelay cannot open an NFQUEUE queue: ${r.error?.message ?? r.stderr.trim()}`;
  const rule = ['OUTPUT', '-o', 'lo', '-j', 'NFQUEUE', '--queue-num', String(NETDELAY_QUEUE), '--queue-bypass'];
  const add = spawnSync('ip', ['netns', 'exec', ns, 'iptables', '-w', '-A', ...rule], { encoding: 'utf8', timeout: 10_000 });
  if (add.error || add.status !== 0) return `iptables has no NFQUEUE target: ${add.error?.message ?? add.stderr.trim()}`;
  spawnSync('ip', ['netns', 'exec', ns, 'iptables', '-w', '-D', ...rule], { encoding: 'utf8', timeout: 10_000 });
  return undefined;
}

export interface DelayerOptions {
  /** Network namespace to run in. */
  ns: string;
  lossPct: number;
  delayMs: number;
  /** Standard deviation (normal) or half-width (uniform) of the delay. */
  jitterMs: number;
  distribution?: 'normal' | 'uniform';
  seed: number;
  /** Called once if the delayer exits without being asked to (traffic then passes unimpaired). */
  onUnexpectedExit?: (why: string) => void;
}

/** One running delayer process inside a namespace. */
export class Delayer {
  private stopping = false;
  private output = '';
  private readonly exited: Promise<void>;

  private constructor(
    private readonly proc: ChildProcess,
    readonly ns: string,
  ) {
    this.exited = new Promise((r) => proc.on('exit', () => r()));
  }

  /** Starts the delayer and resolves once it serves its queue (rejects after 5 s or on exit). */
  static async start(o: DelayerOptions): Promise<Delayer> {
    const bin = netdelayBinary();
    if ('error' in bin) throw new Error(`faults: ${bin.error}`);
    const args = [
      'netns', 'exec', o.ns, bin.path,
      '--queue', String(NETDELAY_QUEUE), '--delay-ms', String(o.delayMs), '--jitter-ms', String(o.jitterMs),
      '--dist', o.distribution ?? 'normal', '--loss-pct', String(o.lossPct), '--seed', String(o.seed >>> 0),
      '--max-held', String(NETDELAY_MAX_HELD),
    ];
    // `ip netns exec` execs in place: signals to this pid reach the delayer itself.
    const proc = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const d = new Delayer(proc, o.ns);
    const collect = (b: Buffer): void => {
      d.output = (d.output + String(b)).slice(-4096);
    };
    proc.stdout!.on('data', collect);
    proc.stderr!.on('data', collect);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => fail('did not start serving its queue within 5 s'), 5000);
      const onData = (): void => {
        if (d.output.includes('netdelay: serving queue')) done();
      };
      const onExit = (): void => fail(`exited with ${proc.exitCode ?? proc.signalCode}`);
      const cleanup = (): void => {
        clearTimeout(t);
        proc.stdout!.off('data', onData);
        proc.off('exit', onExit);
      };
      const done = (): void => {
        cleanup();
        resolve();
      };
      const fail = (why: string): void => {
        cleanup();
        proc.kill('SIGKILL');
        reject(new Error(`faults: netdelay in ${o.ns} ${why}: ${d.output.trim()}`));
      };
      proc.stdout!.on('data', onData);
      proc.on('exit', onExit);
      onData();
    });
    proc.on('exit', (code, sig) => {
      if (!d.stopping) o.onUnexpectedExit?.(`netdelay in ${o.ns} exited unexpectedly (${code ?? sig}): ${d.output.trim().split('\n').pop() ?? ''}`);
    });
    return d;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Whether the process still runs. */
  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Asks it to release what it holds and exit (SIGTERM; SIGKILL after `ms`). Resolves its summary line. */
  async stop(ms = 3000): Promise<string> {
    this.stopping = true;
    if (this.running) {
      this.proc.kill('SIGTERM');
      let t: NodeJS.Timeout | undefined;
      await Promise.race([this.exited, new Promise<void>((r) => (t = setTimeout(r, ms)))]);
      clearTimeout(t);
      if (this.running) {
        this.proc.kill('SIGKILL');
        await this.exited;
      }
    }
    const lines = this.output.trim().split('\n');
    return lines.filter((l) => l.includes('packets')).pop() ?? lines.pop() ?? '';
  }

  /** SIGKILL as if it crashed (reported through `onUnexpectedExit`); for self-tests. */
  crash(): void {
    if (this.running) this.proc.kill('SIGKILL');
  }

  /** SIGKILL without waiting (teardown). */
  kill(): void {
    this.stopping = true;
    if (this.running) this.proc.kill('SIGKILL');
  }
}

/** `packets` and `dropped` from a delayer's summary line, if it has one. */
export function parseSummary(line: string): { packets: number; dropped: number; delayed: number; overflow: number } | undefined {
  const m = /(\d+) packets, (\d+) dropped, (\d+) delayed, (\d+) overflow/.exec(line);
  if (!m) return undefined;
  return { packets: Number(m[1]), dropped: Number(m[2]), delayed: Number(m[3]), overflow: Number(m[4]) };
}
