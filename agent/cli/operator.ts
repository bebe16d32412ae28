import type { Command } from 'commander';
import { clientFor, columns } from './client.js';
import { CliError, println, type CliIO } from './io.js';
import type { RaftConfiguration } from '../rpc/endpoints.js';

/** `herald operator raft list-peers|remove-peer|transfer-leader`. */
export function registerOperatorCommands(program: Command, io: CliIO): void {
  const operator = program.command('operator').description('Cluster operator tools');
  const raft = operator.command('raft').description('Inspect and change the Raft configuration of the servers');

  raft
    .command('list-peers')
    .description('List the Raft peers (servers) and their state')
    .option('--stale', 'answer from any server, not only the leader')
    .action(async (opts: { stale?: boolean }, cmd: Command) => {
      const conf = await clientFor(cmd, io).json<RaftConfiguration>('GET', `/v1/operator/raft/configuration${opts.stale ? '?stale' : ''}`);
      const rows = [['Node', 'ID', 'Address', 'State', 'Voter', 'RaftProtocol']];
      for (const s of conf.Servers) {
        rows.push([s.Node, s.ID, s.Address, s.Leader ? 'leader' : s.Voter ? 'follower' : 'non-voter', String(s.Voter), s.ProtocolVersion]);
      }
      println(io.stdout, columns(rows));
    });

  raft
    .command('remove-peer')
    .description('Remove a server from the Raft configuration')
    .option('--id <id>', 'the server ID')
    .option('--address <ip:port>', 'the server address')
    .action(async (opts: { id?: string; address?: string }, cmd: Command) => {
      if (!opts.id === !opts.address) throw new CliError('Exactly one of -id or -address must be given');
      const q = opts.id ? `id=${encodeURIComponent(opts.id)}` : `address=${encodeURIComponent(opts.address as string)}`;
      const r = await clientFor(cmd, io).request('DELETE', `/v1/operator/raft/peer?${q}`);
      if (r.status !== 200) throw new CliError(`Error removing peer: ${r.text.trim()}`);
      println(io.stdout, `Removed peer with ${opts.id ? `id "${opts.id}"` : `address "${opts.address}"`}`);
    });

  raft
    .command('transfer-leader')
    .description('Hand Raft leadership to another server')
    .option('--id <id>', 'the server ID to transfer to (default: the most caught-up voter)')
    .action(async (opts: { id?: string }, cmd: Command) => {
      const r = await clientFor(cmd, io).request('POST', `/v1/operator/raft/transfer-leader${opts.id ? `?id=${encodeURIComponent(opts.id)}` : ''}`);
      if (r.status !== 200) throw new CliError(`Error transferring leadership: ${r.text.trim()}`);
      println(io.stdout, 'Success');
    });
}
