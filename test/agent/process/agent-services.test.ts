import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { freePort } from '../../lib/net.js';
import { tempDir } from '../../lib/tmp.js';

import { HERALD_BIN as MAIN } from '../../lib/herald-bin.js';

function startAgent(args: string[]) {
  const proc = spawn(process.execPath, [MAIN, 'agent', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, output: () => out, exited };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, deadlineMs = 5000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('herald agent process: services survive a restart', function () {
  this.timeout(20_000);

  it('a service registered over HTTP is persisted, reloaded on restart and synced back into the catalog', async () => {
    const tmp = tempDir();
    const http = await freePort();
    const base = `http://127.0.0.1:${http}`;
    const args = ['-server', '-bootstrap', `-data-dir=${tmp.dir}`, `-http-port=${http}`, '-dns-port=-1', '-node=svc-node', '-bind=127.0.0.1'];
    const first = startAgent(args);
    try {
      await waitFor('the HTTP API', async () => ((await fetch(`${base}/v1/agent/self`)).ok ? true : undefined));
      const r = await fetch(`${base}/v1/agent/service/register`, {
        method: 'PUT',
        body: JSON.stringify({ Name: 'web', ID: 'web-1', Port: 8080, Check: { TTL: '30s', Status: 'passing' } }),
      });
      expect(r.status, await r.text()).to.equal(200);
      await waitFor('web-1 in the catalog', async () => {
        const list = (await (await fetch(`${base}/v1/health/service/web?passing`)).json()) as unknown[];
        return list.length === 1 ? true : undefined;
      });
      first.proc.kill('SIGINT');
      expect(await first.exited, first.output()).to.equal(0);

      // The catalog of this lone server lives in memory: after the restart, only the agent's
      // persisted local state and anti-entropy can bring web-1 back.
      const second = startAgent(args);
      try {
        const agentSvcs = await waitFor('the HTTP API', async () => (await (await fetch(`${base}/v1/agent/services`)).json()) as Record<string, unknown>);
        expect(Object.keys(agentSvcs)).to.deep.equal(['web-1']);
        const nodes = await waitFor('web-1 back in the catalog', async () => {
          const list = (await (await fetch(`${base}/v1/catalog/service/web`)).json()) as Array<{ Node: string; ServicePort: number }>;
          return list.length === 1 ? list : undefined;
        });
        expect(nodes[0]).to.include({ Node: 'svc-node', ServicePort: 8080 });
      } finally {
        second.proc.kill('SIGINT');
        await second.exited;
      }
    } finally {
      first.proc.kill('SIGKILL');
      tmp.cleanup();
    }
  });
});
