import type { Command } from 'commander';
import { clientFor } from './client.js';
import { CliError, println, type CliIO } from './io.js';

/** `herald event -name=NAME [-node -service -tag] [payload]`: fire a user event. */
export function registerEventCommand(program: Command, io: CliIO): void {
  program
    .command('event')
    .description('Fire a user event to the cluster')
    .requiredOption('--name <name>', 'event name')
    .option('--node <regexp>', 'only nodes whose name matches')
    .option('--service <regexp>', 'only nodes running a matching service')
    .option('--tag <regexp>', 'only nodes whose matching service has a matching tag (needs -service)')
    .argument('[payload]', 'event payload (up to 512 bytes with the name)')
    .action(async (payload: string | undefined, opts: { name: string; node?: string; service?: string; tag?: string }, cmd: Command) => {
      if (opts.tag && !opts.service) throw new CliError('-tag requires -service');
      const q = new URLSearchParams();
      if (opts.node) q.set('node', opts.node);
      if (opts.service) q.set('service', opts.service);
      if (opts.tag) q.set('tag', opts.tag);
      const qs = q.toString();
      const ev = await clientFor(cmd, io).json<{ ID: string }>('PUT', `/v1/event/fire/${encodeURIComponent(opts.name)}${qs ? `?${qs}` : ''}`, payload ?? '');
      println(io.stdout, `Event ID: ${ev.ID}`);
    });
}
