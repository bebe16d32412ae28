import type { Command } from 'commander';
import { clientFor, columns } from './client.js';
import { CliError, println, type CliIO } from './io.js';

interface Member {
  Name: string;
  Addr: string;
  Port: number;
  Tags: Record<string, string>;
  Status: number;
  ProtocolCur: number;
}

const STATUS_NAMES = ['none', 'alive', 'leaving', 'left', 'failed'];

/** `herald members|join|leave|force-leave`: the gossip pool, as Consul's CLI shows it. */
export function registerMemberCommands(program: Command, io: CliIO): void {
  program
    .command('members')
    .description('List the members of the LAN gossip pool')
    .option('--detailed', 'show every tag of each member')
    .option('--status <regexp>', 'only members whose status matches')
    .action(async (opts: { detailed?: boolean; status?: string }, cmd: Command) => {
      let statusRe: RegExp | undefined;
      if (opts.status !== undefined) {
        try {
          statusRe = new RegExp(`^(?:${opts.status})$`);
        } catch {
          throw new CliError(`-status: invalid regexp "${opts.status}"`);
        }
      }
      const members = (await clientFor(cmd, io).json<Member[]>('GET', '/v1/agent/members'))
        .map((m) => ({ ...m, status: STATUS_NAMES[m.Status] ?? 'unknown' }))
        .filter((m) => !statusRe || statusRe.test(m.status))
        .sort((a, b) => a.Name.localeCompare(b.Name));
      if (opts.detailed) {
        const rows = [['Node', 'Address', 'Status', 'Tags']];
        for (const m of members) {
          const tags = Object.keys(m.Tags)
            .sort()
            .map((k) => `${k}=${m.Tags[k]}`)
            .join(',');
          rows.push([m.Name, `${m.Addr}:${m.Port}`, m.status, tags]);
        }
        println(io.stdout, columns(rows));
        return;
      }
      const rows = [['Node', 'Address', 'Status', 'Type', 'Build', 'Protocol', 'DC', 'Segment']];
      for (const m of members) {
        const t = m.Tags;
        rows.push([
          m.Name,
          `${m.Addr}:${m.Port}`,
          m.status,
          t['role'] === 'consul' ? 'server' : 'client',
          (t['build'] ?? '').split(':')[0] ?? '',
          t['vsn'] ?? String(m.ProtocolCur),
          t['dc'] ?? '',
          t['role'] === 'consul' ? '<all>' : '<default>',
        ]);
      }
      println(io.stdout, columns(rows));
    });

  program
    .command('join')
    .description('Tell the agent to join the cluster through the given addresses')
    .argument('<address...>', 'gossip address (host or host:port, default port 8301)')
    .action(async (addresses: string[], _opts: unknown, cmd: Command) => {
      const client = clientFor(cmd, io);
      let joined = 0;
      for (const a of addresses) {
        const r = await client.request('PUT', `/v1/agent/join/${encodeURIComponent(a)}`);
        if (r.status === 200) joined++;
        else println(io.stderr, `Error joining address '${a}': ${r.text.trim()}`);
      }
      if (joined === 0) throw new CliError('Failed to join any nodes.');
      println(io.stdout, `Successfully joined cluster by contacting ${joined} nodes.`);
    });

  program
    .command('leave')
    .description('Make the agent leave the cluster gracefully and shut down')
    .action(async (_opts: unknown, cmd: Command) => {
      const r = await clientFor(cmd, io).request('PUT', '/v1/agent/leave');
      if (r.status !== 200) throw new CliError(`Error leaving: ${r.text.trim()}`);
      println(io.stdout, 'Graceful leave complete');
    });

  program
    .command('force-leave')
    .description('Force a failed member into the left state')
    .argument('<node>', 'member name')
    .option('--prune', 'remove the member from the member list entirely')
    .action(async (node: string, opts: { prune?: boolean }, cmd: Command) => {
      const r = await clientFor(cmd, io).request('PUT', `/v1/agent/force-leave/${encodeURIComponent(node)}${opts.prune ? '?prune' : ''}`);
      if (r.status !== 200) throw new CliError(`Error force leaving: ${r.text.trim()}`);
    });
}
