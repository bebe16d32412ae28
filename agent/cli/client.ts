import type { Command } from 'commander';
import { AgentClient, resolveHttpAddr } from './http-client.js';
import type { CliIO } from './io.js';

/** The agent client for a command, from the global `-http-addr` and the environment. */
export function clientFor(cmd: Command, io: CliIO): AgentClient {
  const { httpAddr } = cmd.optsWithGlobals<{ httpAddr?: string }>();
  return new AgentClient(resolveHttpAddr(httpAddr, io.env));
}

/** Left-aligned columns separated by two spaces, like Go's tabwriter in Consul's CLI. */
export function columns(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] as number) + 2))).join('').trimEnd()).join('\n');
}
