import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from '../../lib/net.js';
import { tempDir } from '../../lib/tmp.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { HERALD_BIN as MAIN } from '../../lib/herald-bin.js';

/** Starts `herald agent` as a real process and collects its output. */
function startAgent(args: string[]): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [MAIN, 'agent', '-serf-lan-port=0', '-server-port=0', '-dns-port=0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, output: () => out, exited };
}

async function waitForHttp(url: string, deadlineMs: number): Promise<Response> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await fetch(url);
    } catch (e) {
      if (Date.now() > until) throw new Error(`no answer from ${url} within ${deadlineMs} ms: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('herald agent process', function () {
  this.timeout(20_000);

  it('-dev serves /v1/agent/self within 5 s and stops cleanly on SIGINT', async () => {
    const http = await freePort();
    const a = startAgent(['-dev', `-http-port=${http}`, '-log-json']);
    try {
      const t0 = Date.now();
      const res = await waitForHttp(`http://127.0.0.1:${http}/v1/agent/self`, 5000);
      expect(Date.now() - t0).to.be.below(5000);
      const self = (await res.json()) as { Config: { Server: boolean } };
      expect(self.Config.Server).to.equal(true);
      expect(await (await fetch(`http://127.0.0.1:${http}/v1/status/leader`)).json()).to.match(/^127\.0\.0\.1:\d+$/);
      a.proc.kill('SIGINT');
      expect(await a.exited).to.equal(0);
      expect(a.output()).to.contain('agent stopped');
    } finally {
      a.proc.kill('SIGKILL');
    }
  });

  it('a second signal exits at once with a non-zero code', async () => {
    const http = await freePort();
    const a = startAgent(['-dev', `-http-port=${http}`]);
    try {
      await waitForHttp(`http://127.0.0.1:${http}/v1/agent/self`, 5000);
      // A request still arriving keeps the first, graceful shutdown waiting on it.
      const sock = connect(http, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      sock.write('GET /v1/agent/self HTTP/1.1\r\nHost: test\r\n');
      await new Promise((r) => setTimeout(r, 100));
      a.proc.kill('SIGTERM');
      const until = Date.now() + 5000;
      while (!a.output().includes('caught SIGTERM') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      a.proc.kill('SIGTERM');
      expect(await a.exited).to.equal(1);
      sock.destroy();
      expect(a.output()).to.match(/caught SIGTERM again: exiting immediately/);
    } finally {
      a.proc.kill('SIGKILL');
    }
  });

  it('a non-dev agent keeps its node ID in the data dir across restarts', async () => {
    const tmp = tempDir();
    try {
      const http = await freePort();
      const args = [`-data-dir=${tmp.dir}`, `-http-port=${http}`, '-dns-port=-1', '-node=persist'];
      const first = startAgent(args);
      const id1 = ((await (await waitForHttp(`http://127.0.0.1:${http}/v1/agent/self`, 5000)).json()) as { Config: { NodeID: string } }).Config.NodeID;
      first.proc.kill('SIGINT');
      expect(await first.exited).to.equal(0);
      expect(existsSync(join(tmp.dir, 'node-id'))).to.equal(true);
      const second = startAgent(args);
      const id2 = ((await (await waitForHttp(`http://127.0.0.1:${http}/v1/agent/self`, 5000)).json()) as { Config: { NodeID: string } }).Config.NodeID;
      second.proc.kill('SIGINT');
      await second.exited;
      expect(id2).to.equal(id1);
      expect(readFileSync(join(tmp.dir, 'node-id'), 'utf8')).to.equal(id1);
    } finally {
      tmp.cleanup();
    }
  });

  it('a port already in use is a clear error and a non-zero exit', async () => {
    const http = await freePort();
    const a = startAgent(['-dev', `-http-port=${http}`]);
    try {
      await waitForHttp(`http://127.0.0.1:${http}/v1/agent/self`, 5000);
      const b = startAgent(['-dev', `-http-port=${http}`]);
      expect(await b.exited).to.equal(1);
      expect(b.output()).to.match(/HTTP port \d+ on 127.0.0.1 is already in use/);
    } finally {
      a.proc.kill('SIGKILL');
    }
  });
});
