import { expect } from 'chai';
import { HERALD_BIN } from '../lib/herald-bin.js';
import { spawn } from 'node:child_process';
import { startAgent, eventually, type AgentProcess } from '../lib/agent-process.js';

describe('herald watch on KV (real agent process)', function () {
  this.timeout(30_000);
  let agent: AgentProcess | undefined;
  after(() => agent?.cleanup());

  it('-type=key and -type=keyprefix print each change once', async () => {
    agent = await startAgent({ name: 'kvwatch', args: ['-server', '-bootstrap'] });
    const a = agent;
    await eventually('leader', 10_000, async () => (await a.api<string>('/v1/status/leader')) !== '');
    const watch = (args: string[]): { out: () => string; stop: () => void } => {
      const p = spawn(process.execPath, [HERALD_BIN, 'watch', `-http-addr=127.0.0.1:${a.http}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => (out += String(d)));
      return { out: () => out, stop: () => p.kill('SIGKILL') };
    };
    const key = watch(['-type=key', '-key=cfg/a']);
    const prefix = watch(['-type=keyprefix', '-prefix=cfg/']);
    try {
      await eventually('both watches to print their first result', 10_000, () => key.out().length > 0 && prefix.out().length > 0);
      await a.api('/v1/kv/cfg/a', { method: 'PUT', body: 'one' });
      await a.api('/v1/kv/cfg/b', { method: 'PUT', body: 'two' });
      await eventually('key watch to see cfg/a', 10_000, () => key.out().includes(Buffer.from('one').toString('base64')));
      await eventually('prefix watch to see cfg/b', 10_000, () => prefix.out().includes(Buffer.from('two').toString('base64')));
      await new Promise((r) => setTimeout(r, 500));
      // cfg/b does not change cfg/a: the key watch printed its initial result and one change only.
      const out = key.out();
      expect(out.match(/^null$/gm), out).to.have.length(1);
      expect(out.match(/"Key": "cfg\/a"/g), out).to.have.length(1);
      expect(out, 'the key watch must not print cfg/b').to.not.include('cfg/b');
    } finally {
      key.stop();
      prefix.stop();
    }
  });
});
