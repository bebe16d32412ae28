import type { Command } from 'commander';
import { clientFor } from './client.js';
import { println, type CliIO } from './io.js';

interface SelfResponse {
  Config: Record<string, unknown>;
  Stats?: Record<string, Record<string, string>>;
}

/** `herald info`: the running agent's identity and stats, section by section like `consul info`. */
export function registerInfoCommand(program: Command, io: CliIO): void {
  program
    .command('info')
    .description("Show the local agent's configuration and stats")
    .action(async (_opts: unknown, cmd: Command) => {
      const self = await clientFor(cmd, io).json<SelfResponse>('GET', '/v1/agent/self');
      const sections: Record<string, Record<string, unknown>> = { ...(self.Stats ?? {}) };
      sections['agent'] = {
          ...(self.Stats?.['agent'] ?? {}),
          datacenter: self.Config['Datacenter'],
          node_id: self.Config['NodeID'],
          node_name: self.Config['NodeName'],
          server: self.Config['Server'],
          version: self.Config['Version'],
      };
      for (const name of Object.keys(sections).sort()) {
        println(io.stdout, `${name}:`);
        const sec = sections[name] as Record<string, unknown>;
        for (const k of Object.keys(sec).sort()) println(io.stdout, `\t${k} = ${String(sec[k])}`);
      }
    });
}
