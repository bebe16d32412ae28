import type { Command } from 'commander';
import { generateKey } from '../swim/keyring.js';
import { clientFor } from './client.js';
import { CliError, println, type CliIO } from './io.js';

interface KeyringResponse {
  Datacenter: string;
  WAN: boolean;
  Keys: Record<string, number>;
  PrimaryKeys?: Record<string, number>;
  NumNodes: number;
}

/** `herald keygen` and `herald keyring`: gossip encryption keys. */
export function registerKeyringCommands(program: Command, io: CliIO): void {
  program
    .command('keygen')
    .description('Generate a new gossip encryption key (32 random bytes, base64)')
    .action(() => println(io.stdout, generateKey()));

  program
    .command('keyring')
    .description('List, install, use or remove gossip encryption keys across the cluster')
    .option('--list', 'list installed keys')
    .option('--list-primary', 'list primary keys')
    .option('--install <key>', 'install a new key on every member')
    .option('--use <key>', 'make an installed key the primary on every member')
    .option('--remove <key>', 'remove a key from every member')
    .action(async (opts: { list?: boolean; listPrimary?: boolean; install?: string; use?: string; remove?: string }, cmd: Command) => {
      const chosen = [opts.list, opts.listPrimary, opts.install, opts.use, opts.remove].filter((v) => v !== undefined).length;
      if (chosen !== 1) throw new CliError('Exactly one of -list, -list-primary, -install, -use, or -remove must be provided');
      const client = clientFor(cmd, io);
      if (opts.list || opts.listPrimary) {
        println(io.stdout, '==> Gathering installed encryption keys...');
        const rings = await client.json<KeyringResponse[]>('GET', '/v1/operator/keyring');
        for (const r of rings) {
          println(io.stdout, '');
          println(io.stdout, `${r.Datacenter} (${r.WAN ? 'WAN' : 'LAN'}):`);
          const keys = opts.listPrimary ? (r.PrimaryKeys ?? {}) : r.Keys;
          for (const [k, n] of Object.entries(keys)) println(io.stdout, `  ${k} [${n}/${r.NumNodes}]`);
        }
        return;
      }
      const [method, key, verb] = opts.install
        ? (['POST', opts.install, 'Installing new gossip encryption key...'] as const)
        : opts.use
          ? (['PUT', opts.use, 'Changing primary gossip encryption key...'] as const)
          : (['DELETE', opts.remove as string, 'Removing gossip encryption key...'] as const);
      println(io.stdout, `==> ${verb}`);
      const r = await client.request(method, '/v1/operator/keyring', { Key: key });
      if (r.status !== 200) throw new CliError(r.text.trim());
    });
}
