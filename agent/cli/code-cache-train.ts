/**
 * Build step (`npm run bundle`): writes the launcher's V8 code cache (`dist/herald.cjs.cache`,
 * see launcher.ts) from a short training run, so that it holds the bytecode of what an agent
 * runs when it starts, joins and answers HTTP, not only of `herald version`.
 *
 * The run: two agents on 127.0.0.1 (free ports, temporary data dirs, DNS off). The pupil,
 * started with `HERALD_WRITE_CODE_CACHE=1`, is a single server (`-bootstrap-expect=1`); a
 * client joins it. The pupil registers a service, takes a few hundred KV writes (and one
 * forwarded by the client), answers KV, catalog, health and agent reads, and is stopped
 * with SIGINT, which writes the cache at exit. A failed run is tried once more with fresh
 * ports. Best effort: when both fail (each has 30 s) it says so on stderr and exits 0,
 * leaving the cache the build wrote from `herald version` in place.
 *
 *   node dist/agent/cli/code-cache-train.js dist/herald.mjs
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

const LIMIT_MS = 30_000;


interface Trainee {
  proc: ChildProcess;
  url: string;
  serf: number;
  exited: Promise<number | null>;
}

async function startAgent(bin: string, name: string, dir: string, writeCache: boolean, server = false): Promise<Trainee> {
  const [http, serf, rpc] = [await freePort(), await freePort(), server ? await freePort() : -1];
  const proc = spawn(
    process.execPath,
    [
      bin, 'agent', `-node=${name}`, `-data-dir=${join(dir, name)}`, '-bind=127.0.0.1', '-client=127.0.0.1', `-http-port=${http}`, `-serf-lan-port=${serf}`,
      `-server-port=${rpc}`, '-dns-port=-1', '-log-level=error', ...(server ? ['-server', '-bootstrap-expect=1'] : []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, HERALD_WRITE_CODE_CACHE: writeCache ? '1' : '0' } },
  );
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, url: `http://127.0.0.1:${http}`, serf, exited };
}

async function call(t: Trainee, method: string, path: string, body?: unknown): Promise<string> {
  const res = await fetch(t.url + path, {
    method,
    signal: AbortSignal.timeout(5000),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text;
}

async function waitUp(t: Trainee): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (t.proc.exitCode !== null) throw new Error(`agent exited with ${t.proc.exitCode}`);
    try {
      await call(t, 'GET', '/v1/agent/self');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('agent did not answer HTTP');
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * The pupil is a single server (Raft on disk, as in production) and the seed a client that
 * joins it, so the cache holds the server's paths (Raft, WAL, state machine, RPC, KV and
 * catalog endpoints) as well as gossip and HTTP.
 */
async function train(bin: string, dir: string, agents: Trainee[]): Promise<void> {
  const pupil = await startAgent(bin, 'train-pupil', dir, true, true);
  agents.push(pupil);
  const seed = await startAgent(bin, 'train-client', dir, false);
  agents.push(seed);
  await waitUp(pupil);
  await waitUp(seed);
  await call(pupil, 'PUT', `/v1/agent/join/127.0.0.1:${seed.serf}`);
  for (let i = 0; i < 100 && (await call(pupil, 'GET', '/v1/status/leader').catch(() => '""')) === '""'; i++) await sleep(50);
  await call(pupil, 'PUT', '/v1/agent/service/register', { Name: 'web', Port: 8080, Tags: ['v1'], Check: { TTL: '30s' } });
  for (let i = 0; i < 200; i++) await call(pupil, 'PUT', `/v1/kv/train/k${i % 10}`, `value ${i}`);
  await call(pupil, 'PUT', '/v1/kv/train/cas?cas=0', 'x');
  for (let i = 0; i < 20; i++) {
    const members = JSON.parse(await call(pupil, 'GET', '/v1/agent/members')) as unknown[];
    if (members.length === 2) break;
    await sleep(50);
  }
  await call(seed, 'PUT', '/v1/kv/train/from-client', 'y').catch(() => '');
  for (const path of [
    '/v1/kv/train/k1', '/v1/kv/train/k1?consistent', '/v1/kv/train?recurse', '/v1/kv/train?keys', '/v1/catalog/services', '/v1/catalog/nodes',
    '/v1/health/service/web', '/v1/agent/self', '/v1/agent/services', '/v1/agent/checks', '/v1/agent/metrics', '/v1/status/peers',
  ]) {
    for (let i = 0; i < 3; i++) await call(pupil, 'GET', path).catch(() => '');
  }
  await call(pupil, 'DELETE', '/v1/kv/train?recurse');
  pupil.proc.kill('SIGINT');
  const code = await pupil.exited;
  if (code !== 0) throw new Error(`the training agent exited with ${code}`);
}

async function main(): Promise<void> {
  const bin = process.argv[2];
  if (!bin) throw new Error('usage: code-cache-train.js <path to herald.mjs>');
  // A second attempt, with fresh ports, when the first fails (a port taken by another
  // process between our probe and the agent's bind, on a busy machine).
  for (let attempt = 1; attempt <= 2; attempt++) {
    const error = await attemptTraining(bin);
    if (error === undefined) return;
    if (attempt === 2) process.stderr.write(`herald build: code cache training skipped (${error}); keeping the cache from \`herald version\`\n`);
  }
}

/** One training run; the reason it failed, or undefined. */
async function attemptTraining(bin: string): Promise<string | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-code-cache-'));
  const agents: Trainee[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      train(bin, dir, agents),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no result after ${LIMIT_MS / 1000} s`)), LIMIT_MS);
      }),
    ]);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    clearTimeout(timer);
    for (const a of agents) if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill('SIGKILL');
    await Promise.all(agents.map((a) => a.exited));
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
