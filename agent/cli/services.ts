import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AgentClient, resolveHttpAddr } from './http-client.js';
import { CliError, println, type CliIO } from './io.js';

interface ServiceFlags {
  name?: string;
  id?: string;
  address?: string;
  port?: string;
  tag?: string[];
  meta?: string[];
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Value of `key` in `o`, matched case-insensitively (service files use `service` or `Service`). */
function field(o: Record<string, unknown>, key: string): unknown {
  const k = Object.keys(o).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : o[k];
}

/**
 * Service definitions from a JSON file in Consul's format: `{"service": {...}}` or
 * `{"services": [{...}, ...]}`. The definitions are sent to the agent as they are; the agent
 * validates them.
 */
export function readServiceFile(path: string): Record<string, unknown>[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CliError(`${path}: invalid JSON: ${(e as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new CliError(`${path}: expected a JSON object with "service" or "services"`);
  const one = field(doc as Record<string, unknown>, 'service');
  const many = field(doc as Record<string, unknown>, 'services');
  const defs = [...(one !== undefined ? [one] : []), ...(Array.isArray(many) ? many : many !== undefined ? [many] : [])];
  if (defs.length === 0) throw new CliError(`${path}: no "service" or "services" definition found`);
  for (const d of defs) {
    if (d === null || typeof d !== 'object' || Array.isArray(d)) throw new CliError(`${path}: each service definition must be a JSON object`);
  }
  return defs as Record<string, unknown>[];
}

function fromFlags(f: ServiceFlags): Record<string, unknown> {
  if (!f.name) throw new CliError('Service name must be specified with -name or a service definition file');
  const def: Record<string, unknown> = { Name: f.name };
  if (f.id) def['ID'] = f.id;
  if (f.address) def['Address'] = f.address;
  if (f.port !== undefined) {
    if (!/^\d+$/.test(f.port) || Number(f.port) > 65535) throw new CliError(`-port: "${f.port}" is not a port number (0-65535)`);
    def['Port'] = Number(f.port);
  }
  if (f.tag && f.tag.length > 0) def['Tags'] = f.tag;
  if (f.meta && f.meta.length > 0) {
    const meta: Record<string, string> = {};
    for (const kv of f.meta) {
      const i = kv.indexOf('=');
      if (i <= 0) throw new CliError(`-meta: "${kv}" must be key=value`);
      meta[kv.slice(0, i)] = kv.slice(i + 1);
    }
    def['Meta'] = meta;
  }
  return def;
}

function client(cmd: Command, io: CliIO): AgentClient {
  const { httpAddr } = cmd.optsWithGlobals<{ httpAddr?: string }>();
  return new AgentClient(resolveHttpAddr(httpAddr, io.env));
}

async function put(c: AgentClient, path: string, body?: unknown): Promise<void> {
  const r = await c.request('PUT', path, body);
  if (r.status < 200 || r.status > 299) throw new CliError(`Unexpected response code: ${r.status} (${r.text.trim()})`);
}

/** `herald services register|deregister`: manage services on the local agent, like `consul services`. */
export function registerServicesCommand(program: Command, io: CliIO): void {
  const services = program.command('services').description('Register and deregister services on the local agent');

  services
    .command('register')
    .description('Register a service from a JSON definition file or from flags')
    .argument('[file]', 'JSON file with "service" or "services"')
    .option('--name <name>', 'service name')
    .option('--id <id>', 'service ID (default: the name)')
    .option('--address <addr>', 'service address (default: the node address)')
    .option('--port <port>', 'service port')
    .option('--tag <tag>', 'tag (repeatable)', collect)
    .option('--meta <key=value>', 'metadata (repeatable)', collect)
    .action(async (file: string | undefined, flags: ServiceFlags, cmd: Command) => {
      const usedFlags = flags.name !== undefined || flags.id !== undefined || flags.address !== undefined || flags.port !== undefined || flags.tag !== undefined || flags.meta !== undefined;
      if (file !== undefined && usedFlags) throw new CliError('use either a service definition file or flags, not both');
      const defs = file !== undefined ? readServiceFile(file) : [fromFlags(flags)];
      const c = client(cmd, io);
      for (const d of defs) {
        await put(c, '/v1/agent/service/register', d);
        println(io.stdout, `Registered service: ${String(field(d, 'name') ?? field(d, 'id') ?? '')}`);
      }
    });

  services
    .command('deregister')
    .description('Deregister services named by ID or by a definition file')
    .argument('[file]', 'JSON file with "service" or "services" (their IDs, or names when no ID)')
    .option('--id <id>', 'service ID')
    .action(async (file: string | undefined, flags: { id?: string }, cmd: Command) => {
      if (file !== undefined && flags.id !== undefined) throw new CliError('use either a service definition file or -id, not both');
      let ids: string[];
      if (file !== undefined) {
        ids = readServiceFile(file).map((d) => String(field(d, 'id') ?? field(d, 'name') ?? ''));
        if (ids.some((i) => i === '')) throw new CliError(`${file}: every service needs an ID or a name`);
      } else {
        if (!flags.id) throw new CliError('Service ID must be specified with -id or a service definition file');
        ids = [flags.id];
      }
      const c = client(cmd, io);
      for (const id of ids) {
        await put(c, `/v1/agent/service/deregister/${encodeURIComponent(id)}`);
        println(io.stdout, `Deregistered service: ${id}`);
      }
    });
}
