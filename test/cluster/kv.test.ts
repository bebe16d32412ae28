import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, eventually, type AgentProcess } from '../lib/agent-process.js';
import { runCli } from '../../agent/cli/program.js';
import { captureIO } from '../lib/io.js';
import { tempDir } from '../lib/tmp.js';

import { HERALD_BIN as MAIN } from '../lib/herald-bin.js';

/** `herald lock` as its own process. */
function lockProc(agent: AgentProcess, args: string[]): { proc: ChildProcess; done: Promise<{ code: number | null; err: string }> } {
  const proc = spawn(process.execPath, [MAIN, `-http-addr=127.0.0.1:${agent.http}`, 'lock', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += String(d)));
  proc.stdout!.resume();
  return { proc, done: new Promise((r) => proc.on('exit', (code) => r({ code, err }))) };
}

function intervals(file: string): Array<[number, number]> {
  const open = new Map<string, number>();
  const out: Array<[number, number]> = [];
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const [what, id, ns] = line.split(' ') as [string, string, string];
    if (what === 'start') open.set(id, Number(ns));
    else out.push([open.get(id)!, Number(ns)]);
  }
  return out;
}

type Entry = { Key: string; Flags: number; Value: string | null; Session?: string };

describe('cluster: KV, locks and snapshots on 3 servers (real processes)', function () {
  this.timeout(120_000);
  const agents: AgentProcess[] = [];
  const procs: ChildProcess[] = [];
  let tmp: ReturnType<typeof tempDir>;
  let s1: AgentProcess, s2: AgentProcess, c1: AgentProcess, c2: AgentProcess;

  before(async () => {
    tmp = tempDir();
    s1 = await startAgent({ name: 'kv-s1', args: ['-server', '-bootstrap-expect=3'] });
    agents.push(s1);
    const join_ = [`-retry-join=127.0.0.1:${s1.serf}`, '-retry-interval=200ms'];
    s2 = await startAgent({ name: 'kv-s2', args: ['-server', '-bootstrap-expect=3', ...join_] });
    const s3 = await startAgent({ name: 'kv-s3', args: ['-server', '-bootstrap-expect=3', ...join_] });
    c1 = await startAgent({ name: 'kv-c1', args: join_ });
    c2 = await startAgent({ name: 'kv-c2', args: join_ });
    agents.push(s2, s3, c1, c2);
    await eventually('clients registered with a passing serfHealth', 30_000, async () => {
      for (const c of [c1, c2]) {
        const checks = await s1.api<Array<{ CheckID: string; Status: string }>>(`/v1/health/node/${c.name}`);
        if (!checks.some((x) => x.CheckID === 'serfHealth' && x.Status === 'passing')) return false;
      }
      return true;
    });
  });
  after(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    for (const a of agents.splice(0)) a.cleanup();
    tmp.cleanup();
  });

  it('two herald lock holders through different agents never overlap', async () => {
    const file = join(tmp.dir, 'intervals.log');
    const child = (id: string) => `echo "start ${id} $(date +%s%N)" >> ${file}; sleep 0.3; echo "end ${id} $(date +%s%N)" >> ${file}`;
    const runs = [c1, s2, c1, s2].map((a, i) => lockProc(a, ['jobs/mutex', child(`h${i}`)]));
    procs.push(...runs.map((r) => r.proc));
    for (const r of runs) {
      const res = await r.done;
      expect(res.code, res.err).to.equal(0);
    }
    const iv = intervals(file).sort((a, b) => a[0] - b[0]);
    expect(iv).to.have.length(4);
    for (let i = 1; i < iv.length; i++) expect(iv[i]![0], `interval ${i} starts before ${i - 1} ends: ${JSON.stringify(iv)}`).to.be.greaterThan(iv[i - 1]![1]);
  });

  it('a lock held through a killed client agent is released once its node fails (serfHealth critical)', async () => {
    const holder = lockProc(c2, ['-lock-delay=1s', 'jobs/failover', 'sleep 30']);
    procs.push(holder.proc);
    const held = await eventually('c2 to hold the lock', 20_000, async () => {
      const e = await s1.api<Entry[]>('/v1/kv/jobs/failover/.lock').catch(() => undefined);
      return e?.[0]?.Session;
    });
    const session = await s1.api<Array<{ Node: string }>>(`/v1/session/info/${held}`);
    expect(session[0]!.Node).to.equal('kv-c2');
    // The whole client host dies: its agent and the lock process.
    c2.kill('SIGKILL');
    holder.proc.kill('SIGKILL');
    const marker = join(tmp.dir, 'took-over');
    const taker = lockProc(c1, ['-timeout=60s', 'jobs/failover', `echo "$HERALD_LOCK_HELD" > ${marker}`]);
    procs.push(taker.proc);
    const res = await taker.done;
    expect(res.code, res.err).to.equal(0);
    expect(readFileSync(marker, 'utf8')).to.equal('true\n');
    expect(await s1.api(`/v1/session/info/${held}`)).to.deep.equal([]);
    const checks = await s1.api<Array<{ CheckID: string; Status: string }>>('/v1/health/node/kv-c2');
    expect(checks.find((c) => c.CheckID === 'serfHealth')?.Status).to.equal('critical');
  });

  it('snapshot save on this cluster and restore into a fresh one give identical KV and catalog; bad files change nothing', async () => {
    for (let i = 0; i < 20; i++) await c1.api(`/v1/kv/app/${i}?flags=${i}`, { method: 'PUT', body: `value ${i}` });
    await c1.api('/v1/catalog/register', { method: 'PUT', body: JSON.stringify({ Node: 'ext-db', Address: '203.0.113.199', Service: { Service: 'db', Port: 5432, Tags: ['primary'] } }) });
    const file = join(tmp.dir, 'cluster.snap');
    const io = captureIO();
    expect(await runCli(['snapshot', 'save', file, `-http-addr=127.0.0.1:${c1.http}`], io), io.err()).to.equal(0);

    const fresh = await startAgent({ name: 'kv-fresh', args: ['-server', '-bootstrap'] });
    agents.push(fresh);
    await eventually('the fresh server to lead', 15_000, async () => (await fresh.api<string>('/v1/status/leader')) !== '');
    await fresh.api('/v1/kv/only-here', { method: 'PUT', body: 'x' });
    const kvOf = async (a: AgentProcess) => (await a.api<Entry[]>('/v1/kv/?recurse')).map(({ Key, Flags, Value }) => ({ Key, Flags, Value }));
    const before = await kvOf(fresh);

    // A truncated and an altered file are refused by the server and change nothing.
    const bytes = readFileSync(file);
    const put = (body: Uint8Array) => fetch(`${fresh.url}/v1/snapshot`, { method: 'PUT', body });
    let r = await put(bytes.subarray(0, bytes.length - 100));
    expect(r.status).to.equal(400);
    expect(await r.text()).to.match(/Snapshot refused, nothing changed: snapshot: archive is truncated/);
    const altered = Buffer.from(bytes);
    altered[altered.length >> 1] ^= 0x40;
    r = await put(altered);
    expect(r.status).to.equal(400);
    expect(await kvOf(fresh)).to.deep.equal(before);
    writeFileSync(join(tmp.dir, 'altered.snap'), altered);
    const bad = captureIO();
    expect(await runCli(['snapshot', 'restore', join(tmp.dir, 'altered.snap'), `-http-addr=127.0.0.1:${fresh.http}`], bad)).to.equal(1);

    const ok = captureIO();
    expect(await runCli(['snapshot', 'restore', file, `-http-addr=127.0.0.1:${fresh.http}`], ok), ok.err()).to.equal(0);
    expect(await kvOf(fresh)).to.deep.equal(await kvOf(s1));
    expect((await kvOf(fresh)).map((e) => e.Key)).to.not.include('only-here');
    expect(await fresh.api('/v1/catalog/service/db')).to.have.length(1);
    const svc = (a: AgentProcess) => a.api<Array<{ Node: string; ServicePort: number; ServiceTags: string[] }>>('/v1/catalog/service/db');
    expect((await svc(fresh)).map(({ Node, ServicePort, ServiceTags }) => ({ Node, ServicePort, ServiceTags })))
      .to.deep.equal((await svc(s1)).map(({ Node, ServicePort, ServiceTags }) => ({ Node, ServicePort, ServiceTags })));
    // Every server of the restored cluster would apply the same Restore entry; the fresh one keeps writing.
    await fresh.api('/v1/kv/after-restore', { method: 'PUT', body: 'y' });
    expect((await fresh.api<Entry[]>('/v1/kv/after-restore'))[0]!.Key).to.equal('after-restore');
  });
});
