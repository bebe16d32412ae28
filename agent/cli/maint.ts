import type { Command } from 'commander';
import { clientFor } from './client.js';
import { CliError, println, type CliIO } from './io.js';

const NODE_MAINT = '_node_maintenance';
const SERVICE_MAINT_PREFIX = '_service_maintenance:';

type AgentCheck = { CheckID: string; Notes: string; ServiceID: string; Node: string };

/**
 * `herald maint [-enable|-disable] [-service id] [-reason text]`: maintenance mode of the
 * node or one service (like `consul maint`); without -enable/-disable it lists what is in
 * maintenance, read from the agent's checks.
 */
export function registerMaintCommand(program: Command, io: CliIO): void {
  program
    .command('maint')
    .description('Enable, disable or list maintenance mode of the node or a service')
    .option('--enable', 'enable maintenance mode')
    .option('--disable', 'disable maintenance mode')
    .option('--service <id>', 'the service instance ID (default: the whole node)')
    .option('--reason <text>', 'why (shown as the check notes)')
    .action(async (opts: { enable?: boolean; disable?: boolean; service?: string; reason?: string }, cmd: Command) => {
      const client = clientFor(cmd, io);
      if (opts.enable && opts.disable) throw new CliError('Only one of -enable or -disable may be provided');
      if (!opts.enable && opts.reason) throw new CliError('Reason may only be provided with -enable');
      if (!opts.enable && !opts.disable) {
        if (opts.service) throw new CliError('Service requires either -enable or -disable');
        const checks = await client.json<Record<string, AgentCheck>>('GET', '/v1/agent/checks');
        const lines: string[] = [];
        for (const c of Object.values(checks).sort((a, b) => (a.CheckID < b.CheckID ? -1 : 1))) {
          if (c.CheckID === NODE_MAINT) lines.push('Node:', `  Name:   ${c.Node}`, `  Reason: ${c.Notes}`, '');
        }
        for (const c of Object.values(checks).sort((a, b) => (a.CheckID < b.CheckID ? -1 : 1))) {
          if (c.CheckID.startsWith(SERVICE_MAINT_PREFIX)) lines.push('Service:', `  ID:     ${c.ServiceID}`, `  Reason: ${c.Notes}`, '');
        }
        if (lines.length) io.stdout.write(`${lines.join('\n')}`);
        return;
      }
      const q = new URLSearchParams({ enable: opts.enable ? 'true' : 'false' });
      if (opts.reason) q.set('reason', opts.reason);
      const path = opts.service ? `/v1/agent/service/maintenance/${encodeURIComponent(opts.service)}` : '/v1/agent/maintenance';
      const r = await client.request('PUT', `${path}?${q}`);
      if (r.status !== 200) throw new CliError(`Unexpected response code: ${r.status} (${r.text.trim()})`);
      const state = opts.enable ? 'enabled' : 'disabled';
      println(io.stdout, opts.service ? `Service maintenance is now ${state} for "${opts.service}"` : `Node maintenance is now ${state}`);
    });
}
