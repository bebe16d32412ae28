import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './net.js';
import { tempDir } from './tmp.js';

import { HERALD_BIN as MAIN } from './herald-bin.js';

/** A real `herald agent` process on 127.0.0.1 with its own data dir and ports. */
export interface AgentProcess {
  name: string;
  proc: ChildProcess;
  http: number;
  serf: number;
  server: number;
  dns: number;
  dataDir: string;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
  /** GET/PUT against the agent's HTTP API, JSON decoded. */
  api: <T>(path: string, init?: RequestInit) => Promise<T>;
  kill: (signal?: NodeJS.Signals) => void;
  cleanup: () => void;
}

export interface AgentSpec {
  name: string;
  /** Extra flags, e.g. ['-server', '-retry-join=127.0.0.1:1234']. */
  args?: string[];
  /** Extra config merged into the agent's config file (snake_case). */
  config?: Record<string, unknown>;
  /** Reuse a data dir (restart); default a fresh temp dir. */
  dataDir?: string;
  ports?: Partial<Pick<AgentProcess, 'http' | 'serf' | 'server' | 'dns'>>;
}

/** Starts an agent and waits until its HTTP API answers (deadline 10 s). */
export async function startAgent(spec: AgentSpec): Promise<AgentProcess> {
  const tmp = spec.dataDir ? undefined : tempDir(`herald-${spec.name}-`);
  const dataDir = spec.dataDir ?? (tmp as ReturnType<typeof tempDir>).dir;
  // Distinct ports: the OS may hand the same just-freed port out twice.
  const used = new Set(Object.values(spec.ports ?? {}));
  const pick = async (given: number | undefined): Promise<number> => {
    if (given !== undefined) return given;
    for (;;) {
      const p = await freePort();
      if (!used.has(p)) {
        used.add(p);
        return p;
      }
    }
  };
  const http = await pick(spec.ports?.http);
  const serf = await pick(spec.ports?.serf);
  const server = await pick(spec.ports?.server);
  const dns = await pick(spec.ports?.dns);
  const cfgFile = join(dataDir, '..', `${spec.name}-${http}.json`);
  writeFileSync(cfgFile, JSON.stringify({ gossip_lan: { profile: 'local' }, ...(spec.config ?? {}) }));
  const args = [
    MAIN,
    'agent',
    `-node=${spec.name}`,
    `-data-dir=${dataDir}`,
    '-bind=127.0.0.1',
    '-client=127.0.0.1',
    `-http-port=${http}`,
    `-serf-lan-port=${serf}`,
    `-server-port=${server}`,
    `-dns-port=${dns}`,
    `-config-file=${cfgFile}`,
    '-log-json',
    '-log-level=debug',
    ...(spec.args ?? []),
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${http}`;
  const api = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(url + path, init);
    const text = await res.text();
    if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path} on ${spec.name}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const a: AgentProcess = {
    name: spec.name,
    proc,
    http,
    serf,
    server,
    dns,
    dataDir,
    url,
    output: () => out,
    exited,
    api,
    kill: (signal = 'SIGKILL') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
    cleanup: () => {
      a.kill('SIGKILL');
      tmp?.cleanup();
    },
  };
  const until = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`agent ${spec.name} exited with ${proc.exitCode}:\n${out}`);
    try {
      await fetch(`${url}/v1/agent/self`);
      return a;
    } catch {
      if (Date.now() > until) {
        a.cleanup();
        throw new Error(`agent ${spec.name} did not answer on ${url} within 10 s:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Polls `check` until it returns a truthy value or `ms` pass; the error names `what`. */
export async function eventually<T>(what: string, ms: number, check: () => Promise<T | undefined | false> | T | undefined | false): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
