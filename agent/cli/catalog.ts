import type { Command } from 'commander';
import { AgentClient, resolveHttpAddr } from './http-client.js';
import { println, type CliIO } from './io.js';
import { columns, formatMap } from './table.js';

interface NodeJson {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string> | null;
  Meta: Record<string, string> | null;
}

function client(cmd: Command, io: CliIO): AgentClient {
  const { httpAddr } = cmd.optsWithGlobals<{ httpAddr?: string }>();
  return new AgentClient(resolveHttpAddr(httpAddr, io.env));
}

/** `herald catalog datacenters|nodes|services`: read the catalog, printed like `consul catalog`. */
export function registerCatalogCommand(program: Command, io: CliIO): void {
  const catalog = program.command('catalog').description('List datacenters, nodes and services in the catalog');

  catalog
    .command('datacenters')
    .description('List known datacenters')
    .action(async (_o: unknown, cmd: Command) => {
      const dcs = await client(cmd, io).json<string[]>('GET', '/v1/catalog/datacenters');
      for (const dc of dcs) println(io.stdout, dc);
    });

  catalog
    .command('nodes')
    .description('List nodes in the catalog')
    .option('--service <name>', 'only nodes providing this service')
    .option('--detailed', 'full node IDs, tagged addresses and metadata')
    .option('--filter <expr>', 'filter expression (Consul syntax)')
    .action(async (opts: { service?: string; detailed?: boolean; filter?: string }, cmd: Command) => {
      const c = client(cmd, io);
      const q = opts.filter ? `?filter=${encodeURIComponent(opts.filter)}` : '';
      let nodes = await c.json<NodeJson[]>('GET', `/v1/catalog/nodes${q}`);
      if (opts.service !== undefined) {
        const inst = await c.json<Array<{ Node: string }>>('GET', `/v1/catalog/service/${encodeURIComponent(opts.service)}`);
        const names = new Set(inst.map((i) => i.Node.toLowerCase()));
        nodes = nodes.filter((n) => names.has(n.Node.toLowerCase()));
      }
      if (nodes.length === 0) {
        println(io.stderr, 'No nodes match the given query.');
        return;
      }
      const rows = opts.detailed
        ? [['Node', 'ID', 'Address', 'DC', 'TaggedAddresses', 'Meta'], ...nodes.map((n) => [n.Node, n.ID, n.Address, n.Datacenter, formatMap(n.TaggedAddresses ?? {}), formatMap(n.Meta ?? {})])]
        : [['Node', 'ID', 'Address', 'DC'], ...nodes.map((n) => [n.Node, n.ID.slice(0, 8), n.Address, n.Datacenter])];
      println(io.stdout, columns(rows));
    });

  catalog
    .command('services')
    .description('List services in the catalog')
    .option('--node <name>', 'only services on this node')
    .option('--tags', 'show the tags of each service')
    .action(async (opts: { node?: string; tags?: boolean }, cmd: Command) => {
      const c = client(cmd, io);
      let services: Record<string, string[]>;
      if (opts.node !== undefined) {
        const n = await c.json<{ Services: Record<string, { Service: string; Tags: string[] }> } | null>('GET', `/v1/catalog/node/${encodeURIComponent(opts.node)}`);
        services = {};
        for (const s of Object.values(n?.Services ?? {})) services[s.Service] = [...new Set([...(services[s.Service] ?? []), ...s.Tags])].sort();
      } else {
        services = await c.json<Record<string, string[]>>('GET', '/v1/catalog/services');
      }
      const names = Object.keys(services).sort();
      if (names.length === 0) {
        println(io.stderr, 'No services match the given query.');
        return;
      }
      if (opts.tags) println(io.stdout, columns(names.map((n) => [n, (services[n] ?? []).join(',')])));
      else for (const n of names) println(io.stdout, n);
    });
}
