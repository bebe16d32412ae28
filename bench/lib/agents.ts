/**
 * Real `herald agent` processes for benchmarks: each on 127.0.0.1 with its own data dir
 * and ports, tracked in an {@link AgentFleet} that kills every process and removes every
 * temp dir on `close()`, on normal exit and on SIGINT/SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../agent/cli/free-port.js';

/** The repository root (this file runs from `<root>/dist/bench/lib/`). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The bundled `herald` executable (`npm run build`), as package.json's `bin` ships it. */
export const HERALD_BIN = join(REPO_ROOT, 'dist', 'herald.mjs');
const MAIN = HERALD_BIN;

export interface AgentPorts {
  http: number;
  serf: number;
  /** -1 disables the server port (clients). */
  server: number;
}

export interface AgentSpec {
  name: string;
  /** Extra flags, e.g. ['-server', '-bootstrap-expect=3', '-join=127.0.0.1:8301']. */
  args?: string[];
  /** Config file content (snake_case); default `{}` (LAN gossip profile). */
  config?: Record<string, unknown>;
  /** Reuse the data dir and ports of an earlier process (restart). */
  restartOf?: BenchAgent;
  /** Default: clients, no server port. */
  server?: boolean;
  /** Ports picked beforehand (default: free ones now). */
  ports?: AgentPorts;
}

/** One running agent process. */
export interface BenchAgent {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly ports: AgentPorts;
  readonly dataDir: string;
  readonly url: string;
  readonly spec: AgentSpec;
  readonly exited: Promise<void>;
  /** JSON-decoded GET; rejects on a non-2xx status or a connection error. */
  get<T>(path: string, timeoutMs?: number): Promise<T>;
  /** PUT with an optional JSON body; rejects on a non-2xx status. */
  put(path: string, body?: unknown, timeoutMs?: number): Promise<void>;
  /** Last lines of the process output (for error messages). */
  tail(): string;
  kill(signal?: NodeJS.Signals): void;
}

export { freePort };

/** VmRSS of a live process in kB, or undefined when it is gone. */
export function rssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a live process has used, in ms; undefined when it is gone. */
export function cpuMs(pid: number): number | undefined {
  const c = statCpuMs(`/proc/${pid}/stat`);
  return c === undefined ? undefined : c[0] + c[1];
}

/**
 * [user, system] CPU ms from a proc(5) `stat` file (a process's, or a thread's under
 * `task/<tid>/`), or undefined when it cannot be read.
 */
export function statCpuMs(file: string): [number, number] | undefined {
  try {
    const stat = readFileSync(file, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc(5) (utime, stime) are at 11 and 12 after the comm field; 100 ticks/s on Linux.
    return [Number(fields[11]) * 10, Number(fields[12]) * 10];
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` every `everyMs` (sequentially, like a shell `until` loop) until it returns
 * true; rejects after `limitMs` naming `what`. Errors from `check` count as "not yet".
 */
export async function pollUntil(what: string, limitMs: number, check: () => Promise<boolean>, everyMs = 50): Promise<void> {
  const until = Date.now() + limitMs;
  for (;;) {
    let ok = false;
    try {
      ok = await check();
    } catch {
      ok = false;
    }
    if (ok) return;
    if (Date.now() > until) throw new Error(`bench: timed out after ${limitMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Every process and temp dir a benchmark made; `close()` removes them all. */
export class AgentFleet {
  readonly root: string;
  private readonly agents: BenchAgent[] = [];
  private closed = false;
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    this.close();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  private readonly onExit = (): void => this.close();

  constructor(prefix: string) {
    this.root = mkdtempSync(join(tmpdir(), prefix));
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    process.on('exit', this.onExit);
  }

  /** Starts an agent and waits until its HTTP API answers (deadline `readyMs`). */
  async start(spec: AgentSpec, readyMs = 20_000): Promise<BenchAgent> {
    const a = await this.spawn(spec);
    await pollUntil(`${spec.name} HTTP API`, readyMs, async () => {
      if (a.proc.exitCode !== null || a.proc.signalCode !== null) throw new Error(`bench: ${spec.name} exited:\n${a.tail()}`);
      await a.get('/v1/agent/self', 1000);
      return true;
    }).catch((e: Error) => {
      throw new Error(`${e.message}\n${a.tail()}`);
    });
    return a;
  }

  /** Spawns an agent without waiting for it. */
  async spawn(spec: AgentSpec): Promise<BenchAgent> {
    if (this.closed) throw new Error('bench: fleet closed');
    const prev = spec.restartOf;
    const ports: AgentPorts = prev
      ? prev.ports
      : spec.ports ?? { http: await freePort(), serf: await freePort(), server: spec.server ? await freePort() : -1 };
    const dataDir = prev ? prev.dataDir : mkdtempSync(join(this.root, `${spec.name}-`));
    const cfgFile = join(this.root, `${spec.name}-${ports.http}.json`);
    writeFileSync(cfgFile, JSON.stringify(spec.config ?? {}));
    const args = [
      MAIN,
      'agent',
      `-node=${spec.name}`,
      `-data-dir=${dataDir}`,
      '-bind=127.0.0.1',
      '-client=127.0.0.1',
      `-http-port=${ports.http}`,
      `-serf-lan-port=${ports.serf}`,
      `-server-port=${ports.server}`,
      '-dns-port=-1',
      `-config-file=${cfgFile}`,
      '-log-level=warn',
      ...(spec.args ?? []),
    ];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d: Buffer): void => {
      out = (out + String(d)).slice(-8000);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    const url = `http://127.0.0.1:${ports.http}`;
    const a: BenchAgent = {
      name: spec.name,
      proc,
      pid: proc.pid ?? -1,
      ports,
      dataDir,
      url,
      spec,
      exited,
      async get<T>(path: string, timeoutMs = 5000): Promise<T> {
        const res = await fetch(url + path, { signal: AbortSignal.timeout(timeoutMs) });
        const text = await res.text();
        if (!res.ok) throw new Error(`GET ${path} on ${spec.name}: ${res.status} ${text}`);
        return JSON.parse(text) as T;
      },
      async put(path: string, body?: unknown, timeoutMs = 5000): Promise<void> {
        const res = await fetch(url + path, {
          method: 'PUT',
          signal: AbortSignal.timeout(timeoutMs),
          ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`PUT ${path} on ${spec.name}: ${res.status} ${text}`);
      },
      tail: () => out.split('\n').slice(-20).join('\n'),
      kill(signal: NodeJS.Signals = 'SIGKILL') {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      },
    };
    this.agents.push(a);
    return a;
  }

  /**
   * Replaces every agent of `agents` whose process has exited (typically a port taken by
   * another process between picking and binding it) with a fresh one on new ports, at most
   * `maxRespawns` times per call. Returns how many were replaced; throws with the output of
   * an agent that keeps exiting.
   */
  async respawnExited(agents: BenchAgent[], maxRespawns = 3): Promise<number> {
    let replaced = 0;
    for (let i = 0; i < agents.length; i++) {
      const a = agents[i]!;
      if (a.proc.exitCode === null && a.proc.signalCode === null) continue;
      if (a.spec.restartOf || a.spec.ports) throw new Error(`bench: ${a.name} exited (fixed ports, not respawned):\n${a.tail()}`);
      if (++replaced > maxRespawns) throw new Error(`bench: agents keep exiting; last ${a.name}:\n${a.tail()}`);
      console.log(`bench: ${a.name} exited at start-up (${a.tail().split('\n').filter(Boolean).pop() ?? 'no output'}); respawning on new ports`);
      agents[i] = await this.spawn(a.spec);
    }
    return replaced;
  }

  /** SIGKILLs every live process and removes the temp dirs. Idempotent and synchronous. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const a of this.agents) a.kill('SIGKILL');
    rmSync(this.root, { recursive: true, force: true });
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    process.off('exit', this.onExit);
  }
}
