import { isIP } from 'node:net';
import { parseDuration, DurationError } from './duration.js';

/**
 * The accepted configuration keys, in Consul's snake_case JSON form, with their types.
 * Every config source (file, directory entry, flags) is checked against this before it is
 * merged, so an error can name the source, the key path and the bad value.
 */
export type Spec =
  | { kind: 'string'; check?: (v: string) => string | undefined; doc: string }
  | { kind: 'bool'; doc: string }
  | { kind: 'int'; min: number; max: number; doc: string }
  | { kind: 'duration'; min?: number; doc: string }
  | { kind: 'strings'; check?: (v: string) => string | undefined; doc: string }
  | { kind: 'map'; doc: string; values?: 'string' | 'duration' }
  | { kind: 'object'; fields: Record<string, Spec>; doc: string }
  /** Arrays or single objects validated by the owning subsystem (services, checks, watches). */
  | { kind: 'definitions'; doc: string };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const ipOnly = (v: string): string | undefined => (isIP(v) ? undefined : 'must be an IP address');
const ipList = (v: string): string | undefined => {
  const parts = v.split(/\s+/).filter(Boolean);
  if (parts.length === 0) return 'must be one or more IP addresses separated by spaces';
  const bad = parts.find((p) => !isIP(p));
  return bad === undefined ? undefined : `"${bad}" is not an IP address`;
};
const dnsLabelish = (v: string): string | undefined =>
  /^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$/.test(v) ? undefined : 'may contain only letters, digits, "-" and "_"';
const domainName = (v: string): string | undefined =>
  /^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?\.?$/.test(v)
    ? undefined
    : 'must be a DNS domain such as "consul."';
const uuid = (v: string): string | undefined =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v) ? undefined : 'must be a UUID';
const nonEmpty = (v: string): string | undefined => (v.trim() === '' ? 'must not be empty' : undefined);
const logLevel = (v: string): string | undefined =>
  ['trace', 'debug', 'info', 'warn', 'err', 'error'].includes(v.toLowerCase())
    ? undefined
    : 'must be one of trace, debug, info, warn, err';
const gossipKey = (v: string): string | undefined => {
  const b = Buffer.from(v, 'base64');
  return b.length === 32 && b.toString('base64') === v
    ? undefined
    : 'must be 32 bytes encoded in base64 (generate one with "herald keygen")';
};
const hostPort = (v: string): string | undefined => (v.trim() === '' ? 'must be an address' : undefined);

const port = (doc: string): Spec => ({ kind: 'int', min: -1, max: 65535, doc: `${doc}; -1 disables, 0 picks a free port` });

export const SCHEMA: Record<string, Spec> = {
  datacenter: { kind: 'string', check: dnsLabelish, doc: 'Datacenter name (default "dc1").' },
  domain: { kind: 'string', check: domainName, doc: 'DNS domain served (default "consul.").' },
  alt_domain: { kind: 'string', check: domainName, doc: 'A second DNS domain answered like `domain`.' },
  node_name: { kind: 'string', check: dnsLabelish, doc: 'Name of this node (default: the host name).' },
  node_id: { kind: 'string', check: uuid, doc: 'Fixed node ID (UUID); generated and kept in data_dir otherwise.' },
  node_meta: { kind: 'map', doc: 'Free-form key/value metadata for this node.' },
  server: { kind: 'bool', doc: 'Run as a server (member of the Raft group).' },
  bootstrap: { kind: 'bool', doc: 'Bootstrap a single-server cluster (only one server may have it).' },
  bootstrap_expect: { kind: 'int', min: 0, max: 15, doc: 'Number of servers to wait for before the first election.' },
  data_dir: { kind: 'string', check: nonEmpty, doc: 'Directory for persistent state (required unless -dev).' },
  bind_addr: { kind: 'string', check: ipOnly, doc: 'Address for cluster traffic (gossip, RPC) (default 0.0.0.0).' },
  advertise_addr: { kind: 'string', check: ipOnly, doc: 'Address other agents use to reach this one.' },
  client_addr: { kind: 'string', check: ipList, doc: 'Address(es) for the HTTP and DNS interfaces (default 127.0.0.1).' },
  retry_join: { kind: 'strings', check: hostPort, doc: 'Addresses to join, retried until one succeeds.' },
  retry_interval: { kind: 'duration', min: 1, doc: 'Time between join attempts (default "30s").' },
  retry_max: { kind: 'int', min: 0, max: 1_000_000, doc: 'Join attempts before giving up; 0 = forever.' },
  start_join: { kind: 'strings', check: hostPort, doc: 'Addresses to join once at start-up.' },
  rejoin_after_leave: { kind: 'bool', doc: 'Rejoin the cluster after a graceful leave on restart.' },
  leave_on_terminate: { kind: 'bool', doc: 'Leave gracefully on SIGTERM (default false for servers, true for clients).' },
  skip_leave_on_interrupt: { kind: 'bool', doc: 'Do not leave on SIGINT (default true for servers, false for clients).' },
  raft_snapshot_threshold: { kind: 'int', min: 1, max: 1_000_000_000, doc: 'Raft entries applied between snapshots (default 8192).' },
  raft_trailing_logs: { kind: 'int', min: 0, max: 1_000_000_000, doc: 'Raft entries kept behind a snapshot for slow followers (default 10240).' },
  reconnect_timeout: { kind: 'duration', min: 8 * 3_600_000, doc: 'Time before a failed node is reaped (default "72h", minimum "8h").' },
  ports: {
    kind: 'object',
    doc: 'Listening ports.',
    fields: {
      http: port('HTTP API (default 8500)'),
      https: port('HTTPS API (default -1)'),
      dns: port('DNS interface (default 8600)'),
      server: port('Server RPC and Raft (default 8300)'),
      serf_lan: port('LAN gossip (default 8301)'),
      serf_wan: port('WAN gossip (default 8302)'),
      grpc: port('gRPC (default -1)'),
    },
  },
  log_level: { kind: 'string', check: logLevel, doc: 'Log level: trace, debug, info, warn, err (default info).' },
  log_json: { kind: 'bool', doc: 'Log JSON lines (default: JSON unless stdout is a terminal).' },
  encrypt: { kind: 'string', check: gossipKey, doc: 'Gossip encryption key (base64, 32 bytes).' },
  encrypt_verify_incoming: { kind: 'bool', doc: 'Refuse unencrypted incoming gossip (default true).' },
  encrypt_verify_outgoing: { kind: 'bool', doc: 'Encrypt all outgoing gossip (default true).' },
  enable_script_checks: { kind: 'bool', doc: 'Allow script checks registered over the HTTP API.' },
  enable_local_script_checks: { kind: 'bool', doc: 'Allow script checks from config files only.' },
  check_update_interval: { kind: 'duration', min: 0, doc: 'Rate limit for output-only check updates (default "5m").' },
  recursors: { kind: 'strings', check: hostPort, doc: 'Upstream DNS servers for names outside the domain.' },
  dns_config: {
    kind: 'object',
    doc: 'DNS interface tuning.',
    fields: {
      allow_stale: { kind: 'bool', doc: 'Answer from any server (default true).' },
      max_stale: { kind: 'duration', min: 0, doc: 'Staleness bound for stale answers (default "87600h").' },
      node_ttl: { kind: 'duration', min: 0, doc: 'TTL of node records (default "0s").' },
      service_ttl: { kind: 'map', values: 'duration', doc: 'TTL per service name; "*" and prefix* wildcards.' },
      udp_answer_limit: { kind: 'int', min: 1, max: 4096, doc: 'Max answers in a UDP response (default 3).' },
      a_record_limit: { kind: 'int', min: 0, max: 4096, doc: 'Max A/AAAA answers (default 0 = no limit).' },
      only_passing: { kind: 'bool', doc: 'Leave out instances with warning checks too.' },
      enable_additional_node_meta_txt: { kind: 'bool', doc: 'Node meta as TXT in the additional section of node A/AAAA and SRV answers (default true).' },
      enable_truncate: { kind: 'bool', doc: 'Set TC when records were left out (default true in Herald).' },
      recursor_timeout: { kind: 'duration', min: 1, doc: 'Timeout for a recursor query (default "2s").' },
      recursor_strategy: {
        kind: 'string',
        check: (v) => (v === 'sequential' || v === 'random' ? undefined : 'must be "sequential" or "random"'),
        doc: 'Order in which recursors are tried.',
      },
      soa: {
        kind: 'object',
        doc: 'SOA record values.',
        fields: {
          refresh: { kind: 'int', min: 0, max: 2 ** 31 - 1, doc: 'default 3600' },
          retry: { kind: 'int', min: 0, max: 2 ** 31 - 1, doc: 'default 600' },
          expire: { kind: 'int', min: 0, max: 2 ** 31 - 1, doc: 'default 86400' },
          min_ttl: { kind: 'int', min: 0, max: 2 ** 31 - 1, doc: 'default 0' },
        },
      },
    },
  },
  gossip_lan: {
    kind: 'object',
    doc: 'LAN gossip timing (memberlist LAN defaults).',
    fields: {
      profile: {
        kind: 'string',
        check: (v) => (v === 'lan' || v === 'local' ? undefined : 'must be "lan" or "local"'),
        doc: 'Base timings: "lan" (memberlist LAN, default) or "local" (fast, for tests on one host).',
      },
      gossip_nodes: { kind: 'int', min: 1, max: 64, doc: 'Members gossiped to per round (default 3).' },
      gossip_interval: { kind: 'duration', min: 1, doc: 'Time between gossip rounds (default "200ms").' },
      probe_interval: { kind: 'duration', min: 10, doc: 'Time between failure probes (default "1s").' },
      probe_timeout: { kind: 'duration', min: 1, doc: 'Wait for a direct ack before indirect probes (default "500ms").' },
      retransmit_mult: { kind: 'int', min: 1, max: 64, doc: 'Broadcast retransmits = mult × ⌈log10(n+1)⌉ (default 4).' },
      suspicion_mult: { kind: 'int', min: 1, max: 64, doc: 'Suspicion timeout = mult × max(1, log10 n) × probe interval (default 4).' },
    },
  },
  performance: {
    kind: 'object',
    doc: 'Timing scale.',
    fields: {
      raft_multiplier: { kind: 'int', min: 1, max: 10, doc: 'Scales Raft timeouts (default 1 in Herald).' },
    },
  },
  services: { kind: 'definitions', doc: 'Service definitions (array).' },
  service: { kind: 'definitions', doc: 'One service definition.' },
  checks: { kind: 'definitions', doc: 'Check definitions (array).' },
  check: { kind: 'definitions', doc: 'One check definition.' },
  watches: { kind: 'definitions', doc: 'Watch definitions (array).' },
};

/** A raw, unvalidated config object in Consul's snake_case form. */
export type RawConfig = Record<string, unknown>;

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/**
 * Checks one config source against {@link SCHEMA}. Returns a list of problems, each naming
 * the source, the dotted key and the offending value; empty when the source is valid.
 */
export function validateRaw(raw: unknown, source: string): string[] {
  const errors: string[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return [`${source}: the top level must be a JSON object`];
  }
  walk(raw as Record<string, unknown>, SCHEMA, '', source, errors);
  return errors;
}

function walk(obj: Record<string, unknown>, fields: Record<string, Spec>, prefix: string, source: string, errors: string[]): void {
  for (const [key, value] of Object.entries(obj)) {
    const path = prefix + key;
    const spec = fields[key];
    if (!spec) {
      const hint = suggest(key, Object.keys(fields));
      errors.push(`${source}: unknown key "${path}"${hint ? ` (did you mean "${prefix}${hint}"?)` : ''}`);
      continue;
    }
    const problem = checkValue(spec, value, path, source, errors);
    if (problem) errors.push(`${source}: ${path}: ${problem}, got ${describe(value)}`);
  }
}

function checkValue(spec: Spec, value: unknown, path: string, source: string, errors: string[]): string | undefined {
  switch (spec.kind) {
    case 'string':
      if (typeof value !== 'string') return 'expected a string';
      return spec.check?.(value);
    case 'bool':
      return typeof value === 'boolean' ? undefined : 'expected true or false';
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return 'expected an integer';
      if (value < spec.min || value > spec.max) return `expected an integer from ${spec.min} to ${spec.max}`;
      return undefined;
    case 'duration': {
      if (typeof value !== 'string') return 'expected a duration string such as "10s"';
      try {
        const ms = parseDuration(value);
        if (spec.min !== undefined && ms < spec.min) return `must be at least ${spec.min} ms`;
      } catch (e) {
        if (e instanceof DurationError) return e.message;
        throw e;
      }
      return undefined;
    }
    case 'strings': {
      if (!Array.isArray(value)) return 'expected an array of strings';
      value.forEach((v, i) => {
        if (typeof v !== 'string') errors.push(`${source}: ${path}[${i}]: expected a string, got ${describe(v)}`);
        else {
          const p = spec.check?.(v);
          if (p) errors.push(`${source}: ${path}[${i}]: ${p}, got ${describe(v)}`);
        }
      });
      return undefined;
    }
    case 'map': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'expected an object of string values';
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') errors.push(`${source}: ${path}.${k}: expected a string, got ${describe(v)}`);
        else if (spec.values === 'duration') {
          try {
            parseDuration(v);
          } catch (e) {
            if (!(e instanceof DurationError)) throw e;
            errors.push(`${source}: ${path}.${k}: ${e.message}`);
          }
        }
      }
      return undefined;
    }
    case 'object':
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'expected an object';
      walk(value as Record<string, unknown>, spec.fields, `${path}.`, source, errors);
      return undefined;
    case 'definitions':
      if (value === null || typeof value !== 'object') return 'expected an object or an array of objects';
      return undefined;
  }
}

/** Closest known key by edit distance (≤ 2), for "did you mean" hints. */
function suggest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = editDistance(key, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] as number;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] as number;
      dp[j] = Math.min((dp[j] as number) + 1, (dp[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] as number;
}
