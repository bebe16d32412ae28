import { expect } from 'chai';
import { startAgent, eventually, type AgentProcess } from '../lib/agent-process.js';
import { runCli } from '../../agent/cli/program.js';
import { generateKey } from '../../agent/swim/keyring.js';
import { captureIO } from '../lib/io.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Member {
  Name: string;
  Status: number;
  Tags: Record<string, string>;
}

const statusOf = async (a: AgentProcess, name: string): Promise<number | undefined> =>
  (await a.api<Member[]>('/v1/agent/members')).find((m) => m.Name === name)?.Status;

describe('cluster: gossip between real agent processes', function () {
  this.timeout(60_000);
  const agents: AgentProcess[] = [];
  afterEach(() => {
    for (const a of agents.splice(0)) a.cleanup();
  });

  it('joins by retry-join, detects a SIGKILLed member as failed, a leave as left, and spreads user events', async () => {
    const n1 = await startAgent({ name: 'n1' });
    agents.push(n1);
    const join = `-retry-join=127.0.0.1:${n1.serf}`;
    const n2 = await startAgent({ name: 'n2', args: [join, '-retry-interval=200ms'] });
    const n3 = await startAgent({ name: 'n3', args: [join, '-retry-interval=200ms'] });
    agents.push(n2, n3);
    for (const a of agents) {
      await eventually(`${a.name} to see 3 alive members`, 10_000, async () => (await a.api<Member[]>('/v1/agent/members')).filter((m) => m.Status === 1).length === 3);
    }
    const m = await n2.api<Member[]>('/v1/agent/members');
    expect(m.find((x) => x.Name === 'n1')!.Tags).to.include({ role: 'node', dc: 'dc1', vsn: '2' });

    // The CLI shows the same, in Consul's table form.
    const io = captureIO();
    expect(await runCli(['members', `-http-addr=127.0.0.1:${n1.http}`], io)).to.equal(0);
    expect(io.out()).to.match(/^Node\s+Address\s+Status\s+Type/);
    expect(io.out()).to.match(/^n3\s+127\.0\.0\.1:\d+\s+alive\s+client/m);

    // User event fired on n1 reaches n2.
    const io2 = captureIO();
    expect(await runCli(['event', '-name=deploy', `-http-addr=127.0.0.1:${n1.http}`, 'v42'], io2)).to.equal(0);
    const id = /Event ID: (\S+)/.exec(io2.out())![1];
    const ev = await eventually('n2 to receive the event', 10_000, async () =>
      (await n2.api<Array<{ ID: string; Name: string; Payload: string }>>('/v1/event/list?name=deploy')).find((e) => e.ID === id),
    );
    expect(Buffer.from(ev.Payload, 'base64').toString()).to.equal('v42');

    // SIGKILL: the others declare n3 failed (4).
    n3.kill('SIGKILL');
    await eventually('n1 and n2 to see n3 failed', 15_000, async () => (await statusOf(n1, 'n3')) === 4 && (await statusOf(n2, 'n3')) === 4);

    // force-leave turns the failed member into left (3).
    expect(await runCli(['force-leave', 'n3', `-http-addr=127.0.0.1:${n1.http}`], captureIO())).to.equal(0);
    await eventually('n2 to see n3 left after force-leave', 10_000, async () => (await statusOf(n2, 'n3')) === 3);

    // Graceful leave: n2 leaves through the CLI, exits, and n1 records it as left (3), not failed.
    const io3 = captureIO();
    expect(await runCli(['leave', `-http-addr=127.0.0.1:${n2.http}`], io3)).to.equal(0);
    expect(io3.out()).to.contain('Graceful leave complete');
    await eventually('n1 to see n2 left', 10_000, async () => (await statusOf(n1, 'n2')) === 3);
    expect(await Promise.race([n2.exited, new Promise((r) => setTimeout(() => r('still running'), 15_000))])).to.equal(0);
  });

  it('runs with gossip encryption and rotates keys cluster-wide without downtime', async () => {
    const k1 = generateKey();
    const n1 = await startAgent({ name: 'e1', args: [`-encrypt=${k1}`] });
    agents.push(n1);
    const n2 = await startAgent({ name: 'e2', args: [`-encrypt=${k1}`, `-retry-join=127.0.0.1:${n1.serf}`, '-retry-interval=200ms'] });
    agents.push(n2);
    // An agent with another key cannot join.
    const intruder = await startAgent({ name: 'x', args: [`-encrypt=${generateKey()}`] });
    agents.push(intruder);
    await eventually('e1 and e2 to see each other', 10_000, async () => (await statusOf(n1, 'e2')) === 1 && (await statusOf(n2, 'e1')) === 1);
    const io = captureIO();
    expect(await runCli(['join', `-http-addr=127.0.0.1:${intruder.http}`, `127.0.0.1:${n1.serf}`], io)).to.equal(1);
    expect(await statusOf(n1, 'x')).to.equal(undefined);

    const k2 = generateKey();
    const http = `-http-addr=127.0.0.1:${n1.http}`;
    for (const args of [['-install', k2], ['-use', k2], ['-remove', k1]]) {
      const io = captureIO();
      const rc = await runCli(['keyring', ...args, http], io);
      expect(rc, `keyring ${args[0]}: ${io.out()} ${io.err()}`).to.equal(0);
    }
    const list = captureIO();
    expect(await runCli(['keyring', '-list', `-http-addr=127.0.0.1:${n2.http}`], list)).to.equal(0);
    expect(list.out()).to.contain(k2);
    expect(list.out()).to.not.contain(k1);
    // The rotation is on disk on the other member, and the pair still gossips.
    await eventually('e2 keyring file to hold only k2', 5000, () => JSON.parse(readFileSync(join(n2.dataDir, 'serf', 'local.keyring'), 'utf8'))[0] === k2);
    expect(JSON.parse(readFileSync(join(n2.dataDir, 'serf', 'local.keyring'), 'utf8'))).to.deep.equal([k2]);
    n2.kill('SIGKILL');
    await eventually('e1 to see e2 failed after the rotation', 15_000, async () => (await statusOf(n1, 'e2')) === 4);
  });
});
