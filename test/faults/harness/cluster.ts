import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { Network } from './netns.js';

import { HERALD_BIN as MAIN } from '../../lib/herald-bin.js';
export const HTTP_PORT = 8500;
export const SERF_PORT = 8301;
export const SERVER_PORT = 8300;

export interface HostSpec {
  name: string;
  server: boolean;
  /** Extra environment for the agent (e.g. HERALD_TEST_STALL_MS). */
  env?: Record<string, string>;
}

export interface ClusterOptions {
  hosts: HostSpec[];
  /** Directory for data dirs, config files and agent logs. */
  dir: string;
  /** Extra agent config (snake_case) for every agent. */
  config?: Record<string, unknown>;
  /** Called with each fault or lifecycle step, for the timeline. */
  note: (what: string) => void;
}

/** One host: a namespace, an address, and (while running) a `herald agent` process in it. */
export class Host {
  proc: ChildProcess | undefined;
  paused = false;
  private log: WriteStream | undefined;
  private tail = '';
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly spec: HostSpec,
    readonly addr: string,
    readonly dataDir: string,
    private readonly cluster: Cluster,
  ) {}

  get name(): string {
    return this.spec.name;
  }
  get url(): string {
    return `http://${this.addr}:${HTTP_PORT}`;
  }
  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }
  /** The last 64 KiB of the agent's output. */
  output(): string {
    return this.tail;
  }

  /** Starts the agent (reusing the data dir) and waits until its HTTP API answers (15 s). */
  async start(): Promise<void> {
    if (this.running) throw new Error(`faults: ${this.name} already running`);
    mkdirSync(this.dataDir, { recursive: true });
    const c = this.cluster;
    const cfgFile = join(c.opts.dir, `${this.name}.json`);
    writeFileSync(cfgFile, JSON.stringify(c.opts.config ?? {}));
    const servers = c.hosts.filter((h) => h.spec.server && h !== this);
    const args = [
      'netns', 'exec', c.net.ns(this.name), process.execPath, MAIN, 'agent',
      `-node=${this.name}`, `-data-dir=${this.dataDir}`, `-bind=${this.addr}`, `-client=${this.addr}`,
      `-config-file=${cfgFile}`, '-log-json', '-log-level=debug', '-retry-interval=500ms',
      ...(this.spec.server ? ['-server', `-bootstrap-expect=${c.hosts.filter((h) => h.spec.server).length}`] : []),
      ...servers.map((s) => `-retry-join=${s.addr}:${SERF_PORT}`),
    ];
    // `ip netns exec` execs the command in place, so signals to this pid reach node itself.
    const proc = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(this.spec.env ?? {}) } });
    this.proc = proc;
    this.paused = false;
    this.log = createWriteStream(join(c.opts.dir, `${this.name}.log`), { flags: 'a' });
    const onData = (d: Buffer): void => {
      this.log?.write(d);
      this.tail = (this.tail + String(d)).slice(-65536);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    this.exited = new Promise((r) => proc.on('exit', () => r()));
    const until = Date.now() + 15_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`faults: agent ${this.name} exited with ${proc.exitCode}:\n${this.tail.slice(-4000)}`);
      try {
        const r = await fetch(`${this.url}/v1/agent/self`, { signal: AbortSignal.timeout(1000) });
        if (r.ok) return;
      } catch {
        // not up yet
      }
      if (Date.now() > until) throw new Error(`faults: agent ${this.name} did not answer on ${this.url} within 15 s:\n${this.tail.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Sends a signal; SIGKILL waits for the exit. */
  async signal(sig: 'SIGKILL' | 'SIGTERM' | 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    if (!this.running) return;
    this.proc!.kill(sig);
    if (sig === 'SIGSTOP') this.paused = true;
    if (sig === 'SIGCONT') this.paused = false;
    if (sig === 'SIGKILL') {
      await this.exited;
      this.paused = false;
      this.log?.end();
    }
  }

  /** Kills the agent and deletes its data dir (a new node ID on restart, like a replaced disk). */
  async wipe(): Promise<void> {
    await this.signal('SIGKILL');
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** GET/PUT on this agent's HTTP API with a deadline; JSON decoded; throws on non-2xx. */
  async api<T>(path: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<{ body: T; headers: Headers }> {
    const res = await fetch(this.url + path, { ...init, signal: AbortSignal.timeout(init.timeoutMs ?? 5000) });
    const text = await res.text();
    if (!res.ok) throw new HttpError(res.status, `${init.method ?? 'GET'} ${path} on ${this.name}: ${res.status} ${text.trim()}`);
    return { body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
  }
}

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Agents on a {@link Network}: servers join each other by retry-join on their fixed addresses. */
export class Cluster {
  readonly net: Network;
  readonly hosts: Host[];

  constructor(readonly opts: ClusterOptions) {
    mkdirSync(opts.dir, { recursive: true });
    this.net = Network.create(
      opts.hosts.map((h) => h.name),
      opts.note,
    );
    this.hosts = opts.hosts.map((h) => new Host(h, this.net.addr(h.name), join(opts.dir, 'data', h.name), this));
  }

  host(name: string): Host {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`faults: no host ${name}`);
    return h;
  }
  get servers(): Host[] {
    return this.hosts.filter((h) => h.spec.server);
  }
  get clients(): Host[] {
    return this.hosts.filter((h) => !h.spec.server);
  }
  byServerAddress(addr: string): Host | undefined {
    return this.hosts.find((h) => `${h.addr}:${SERVER_PORT}` === addr);
  }

  /** Starts every agent, at most `parallel` at a time. */
  async startAll(parallel = 4): Promise<void> {
    const queue = [...this.hosts];
    const worker = async (): Promise<void> => {
      for (let h = queue.shift(); h; h = queue.shift()) await h.start();
    };
    await Promise.all(Array.from({ length: parallel }, worker));
  }

  /** The leader as some running, unpaused server sees it (undefined if none knows one). */
  async leader(): Promise<Host | undefined> {
    for (const s of this.servers) {
      if (!s.running || s.paused) continue;
      try {
        const { body } = await s.api<string>('/v1/status/leader', { timeoutMs: 2000 });
        const l = body ? this.byServerAddress(body) : undefined;
        if (l) return l;
      } catch {
        // try the next one
      }
    }
    return undefined;
  }

  /** Kills every agent and removes every namespace. */
  async destroy(): Promise<void> {
    for (const h of this.hosts) {
      try {
        await Promise.race([h.signal('SIGKILL'), new Promise((r) => setTimeout(r, 3000))]);
      } catch {
        // best effort
      }
    }
    this.net.destroy();
  }
}
