import { readFileSync, readdirSync, statSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { parseDuration } from './duration.js';
import { jsonErrorOffset, lineColumn } from './json-locate.js';
import { ConfigError, validateRaw, type RawConfig } from './schema.js';
import type { LogLevel } from '../runtime/logger.js';

/**
 * The agent's effective configuration after defaults, config files and flags are merged and
 * validated. camelCase here; the file format is Consul's snake_case (see `schema.ts`).
 * Durations are milliseconds.
 */
export interface RuntimeConfig {
  dev: boolean;
  datacenter: string;
  /** Always ends with a dot. */
  domain: string;
  altDomain: string | undefined;
  nodeName: string;
  nodeId: string | undefined;
  nodeMeta: Record<string, string>;
  server: boolean;
  bootstrap: boolean;
  bootstrapExpect: number;
  /** undefined only in dev mode: state is kept in memory. */
  dataDir: string | undefined;
  bindAddr: string;
  advertiseAddr: string;
  clientAddrs: string[];
  retryJoin: string[];
  retryIntervalMs: number;
  retryMax: number;
  startJoin: string[];
  rejoinAfterLeave: boolean;
  leaveOnTerminate: boolean;
  skipLeaveOnInterrupt: boolean;
  reconnectTimeoutMs: number;
  raftSnapshotThreshold: number;
  raftTrailingLogs: number;
  ports: { http: number; https: number; dns: number; server: number; serfLan: number; serfWan: number; grpc: number };
  logLevel: LogLevel;
  logJson: boolean | undefined;
  encrypt: string | undefined;
  encryptVerifyIncoming: boolean;
  encryptVerifyOutgoing: boolean;
  enableScriptChecks: boolean;
  enableLocalScriptChecks: boolean;
  checkUpdateIntervalMs: number;
  recursors: string[];
  dns: {
    allowStale: boolean;
    maxStaleMs: number;
    nodeTtlMs: number;
    serviceTtlMs: Record<string, number>;
    udpAnswerLimit: number;
    aRecordLimit: number;
    onlyPassing: boolean;
    enableAdditionalNodeMetaTxt: boolean;
    enableTruncate: boolean;
    recursorTimeoutMs: number;
    recursorStrategy: 'sequential' | 'random';
    soa: { refresh: number; retry: number; expire: number; minTtl: number };
  };
  raftMultiplier: number;
  gossip: {
    profile: 'lan' | 'local';
    gossipNodes?: number;
    gossipIntervalMs?: number;
    probeIntervalMs?: number;
    probeTimeoutMs?: number;
    retransmitMult?: number;
    suspicionMult?: number;
  };
  /** Service, check and watch definitions as given (validated by their subsystems). */
  services: RawConfig[];
  checks: RawConfig[];
  watches: RawConfig[];
  /** Files read, in merge order (for `herald reload` and diagnostics). */
  sources: string[];
}

/** Settings that come only from the command line. */
export interface FlagConfig {
  dev?: boolean;
  configFiles?: string[];
  configDirs?: string[];
  /** Flag values already in snake_case config form, e.g. `{ ports: { http: 9500 } }`. */
  raw?: RawConfig;
}

/** Keys whose arrays accumulate across sources instead of being replaced (as in Consul). */
const APPENDED = new Set(['retry_join', 'start_join', 'recursors', 'services', 'checks', 'watches']);

/** Deep merge of `over` onto `base`: objects merge, appended arrays concatenate, the rest replaces. */
export function mergeRaw(base: RawConfig, over: RawConfig): RawConfig {
  const out: RawConfig = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    if (APPENDED.has(k) && Array.isArray(cur) && Array.isArray(v)) out[k] = [...cur, ...v];
    else if (isPlainObject(cur) && isPlainObject(v) && k !== 'node_meta') out[k] = mergeRaw(cur, v);
    else out[k] = v;
  }
  return out;
}

function isPlainObject(v: unknown): v is RawConfig {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Folds Consul's singular `service`/`check` keys into the plural arrays. */
function normalizeDefinitions(raw: RawConfig): RawConfig {
  const out = { ...raw };
  for (const [one, many] of [
    ['service', 'services'],
    ['check', 'checks'],
  ] as const) {
    const list: unknown[] = [];
    if (out[many] !== undefined) list.push(...(Array.isArray(out[many]) ? (out[many] as unknown[]) : [out[many]]));
    if (out[one] !== undefined) list.push(...(Array.isArray(out[one]) ? (out[one] as unknown[]) : [out[one]]));
    delete out[one];
    if (list.length) out[many] = list;
    else delete out[many];
  }
  if (out['watches'] !== undefined && !Array.isArray(out['watches'])) out['watches'] = [out['watches']];
  return out;
}

/** Reads and validates one JSON config file. Throws ConfigError naming the file and problem. */
export function readConfigFile(path: string): RawConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`config: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config: ${path}: invalid JSON: ${jsonErrorWithLine(text, e as Error)}`);
  }
  const errors = validateRaw(raw, path);
  if (errors.length) throw new ConfigError(`config: ${errors.length === 1 ? errors[0] : `\n  ${errors.join('\n  ')}`}`);
  return normalizeDefinitions(raw as RawConfig);
}

function jsonErrorWithLine(text: string, e: Error): string {
  const at = jsonErrorOffset(text);
  if (at < 0) return e.message;
  const ch = text[at];
  const what = ch === undefined ? 'unexpected end of input' : `unexpected ${JSON.stringify(ch)}`;
  return `${what} at ${lineColumn(text, at)}`;
}

/**
 * Lists the files a config directory contributes, in lexical order: `*.json`.
 * HCL files are reported as unsupported rather than silently ignored.
 */
export function configDirFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new ConfigError(`config: cannot read directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const hcl = names.filter((n) => n.endsWith('.hcl'));
  if (hcl.length) throw new ConfigError(`config: ${join(dir, hcl[0] as string)}: HCL is not supported; write the config as JSON`);
  return names
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => join(dir, n))
    .filter((p) => statSync(p).isFile());
}

/** Reads every config source named by `flags` and returns the merged raw config and the file list. */
export function loadSources(flags: FlagConfig): { raw: RawConfig; sources: string[] } {
  let raw: RawConfig = {};
  const sources: string[] = [];
  const files: string[] = [];
  for (const f of flags.configFiles ?? []) {
    let isDir = false;
    try {
      isDir = statSync(f).isDirectory();
    } catch {
      /* readConfigFile reports the missing file */
    }
    files.push(...(isDir ? configDirFiles(f) : [f]));
  }
  for (const d of flags.configDirs ?? []) files.push(...configDirFiles(d));
  for (const f of files) {
    raw = mergeRaw(raw, readConfigFile(f));
    sources.push(f);
  }
  if (flags.raw) {
    const errors = validateRaw(flags.raw, 'flags');
    if (errors.length) throw new ConfigError(`config: ${errors.join('; ')}`);
    raw = mergeRaw(raw, normalizeDefinitions(flags.raw));
  }
  return { raw, sources };
}

/** Consul's defaults; `dev` switches to the single-node development profile. */
export function defaults(dev: boolean): RawConfig {
  return {
    datacenter: 'dc1',
    domain: 'consul.',
    node_name: hostname().split('.')[0]?.replace(/[^a-zA-Z0-9_-]/g, '-') || 'herald',
    server: dev,
    bootstrap: dev,
    bootstrap_expect: 0,
    bind_addr: dev ? '127.0.0.1' : '0.0.0.0',
    client_addr: '127.0.0.1',
    retry_interval: '30s',
    retry_max: 0,
    ports: { http: 8500, https: -1, dns: 8600, server: 8300, serf_lan: 8301, serf_wan: 8302, grpc: -1 },
    log_level: dev ? 'debug' : 'info',
    reconnect_timeout: '72h',
    raft_snapshot_threshold: 8192,
    raft_trailing_logs: 10240,
    check_update_interval: '5m',
    encrypt_verify_incoming: true,
    encrypt_verify_outgoing: true,
    dns_config: {
      allow_stale: true,
      max_stale: '87600h',
      node_ttl: '0s',
      service_ttl: {},
      udp_answer_limit: 3,
      a_record_limit: 0,
      only_passing: false,
      enable_additional_node_meta_txt: true,
      enable_truncate: true,
      recursor_timeout: '2s',
      recursor_strategy: 'sequential',
      soa: { refresh: 3600, retry: 600, expire: 86400, min_ttl: 0 },
    },
    performance: { raft_multiplier: 1 },
  };
}

/**
 * Builds the runtime config: defaults, then config files in order, then flags. Throws
 * {@link ConfigError} with a message naming the bad key and value.
 */
export function buildConfig(flags: FlagConfig, pickAdvertise: () => string = firstPrivateOrLoopback): RuntimeConfig {
  const dev = flags.dev ?? false;
  const { raw: loaded, sources } = loadSources(flags);
  const r = mergeRaw(defaults(dev), loaded);
  const get = <T>(k: string): T => r[k] as T;
  const ports = get<Record<string, number>>('ports');
  const dns = get<RawConfig>('dns_config');
  const soa = dns['soa'] as Record<string, number>;
  const server = get<boolean>('server');
  const bindAddr = get<string>('bind_addr');
  let advertiseAddr = get<string | undefined>('advertise_addr');
  if (!advertiseAddr) advertiseAddr = bindAddr === '0.0.0.0' || bindAddr === '::' ? pickAdvertise() : bindAddr;
  let domain = get<string>('domain');
  if (!domain.endsWith('.')) domain += '.';
  let altDomain = get<string | undefined>('alt_domain');
  if (altDomain && !altDomain.endsWith('.')) altDomain += '.';
  const level = get<string>('log_level').toLowerCase();

  const cfg: RuntimeConfig = {
    dev,
    datacenter: get<string>('datacenter').toLowerCase(),
    domain: domain.toLowerCase(),
    altDomain: altDomain?.toLowerCase(),
    nodeName: get<string>('node_name'),
    nodeId: get<string | undefined>('node_id')?.toLowerCase(),
    nodeMeta: get<Record<string, string>>('node_meta') ?? {},
    server,
    bootstrap: get<boolean>('bootstrap'),
    bootstrapExpect: get<number>('bootstrap_expect'),
    dataDir: get<string | undefined>('data_dir'),
    bindAddr,
    advertiseAddr,
    clientAddrs: get<string>('client_addr').split(/\s+/).filter(Boolean),
    retryJoin: get<string[] | undefined>('retry_join') ?? [],
    retryIntervalMs: parseDuration(get<string>('retry_interval')),
    retryMax: get<number>('retry_max'),
    startJoin: get<string[] | undefined>('start_join') ?? [],
    rejoinAfterLeave: get<boolean | undefined>('rejoin_after_leave') ?? false,
    leaveOnTerminate: get<boolean | undefined>('leave_on_terminate') ?? !server,
    skipLeaveOnInterrupt: get<boolean | undefined>('skip_leave_on_interrupt') ?? server,
    reconnectTimeoutMs: parseDuration(get<string>('reconnect_timeout')),
    raftSnapshotThreshold: get<number>('raft_snapshot_threshold'),
    raftTrailingLogs: get<number>('raft_trailing_logs'),
    ports: {
      http: ports['http'] as number,
      https: ports['https'] as number,
      dns: ports['dns'] as number,
      server: ports['server'] as number,
      serfLan: ports['serf_lan'] as number,
      serfWan: ports['serf_wan'] as number,
      grpc: ports['grpc'] as number,
    },
    logLevel: (level === 'err' ? 'error' : level) as LogLevel,
    logJson: get<boolean | undefined>('log_json'),
    encrypt: get<string | undefined>('encrypt'),
    encryptVerifyIncoming: get<boolean>('encrypt_verify_incoming'),
    encryptVerifyOutgoing: get<boolean>('encrypt_verify_outgoing'),
    enableScriptChecks: get<boolean | undefined>('enable_script_checks') ?? false,
    enableLocalScriptChecks: get<boolean | undefined>('enable_local_script_checks') ?? false,
    checkUpdateIntervalMs: parseDuration(get<string>('check_update_interval')),
    recursors: get<string[] | undefined>('recursors') ?? [],
    dns: {
      allowStale: dns['allow_stale'] as boolean,
      maxStaleMs: parseDuration(dns['max_stale'] as string),
      nodeTtlMs: parseDuration(dns['node_ttl'] as string),
      serviceTtlMs: Object.fromEntries(
        Object.entries((dns['service_ttl'] as Record<string, string>) ?? {}).map(([k, v]) => [k.toLowerCase(), parseDuration(v)]),
      ),
      udpAnswerLimit: dns['udp_answer_limit'] as number,
      aRecordLimit: dns['a_record_limit'] as number,
      onlyPassing: dns['only_passing'] as boolean,
      enableAdditionalNodeMetaTxt: dns['enable_additional_node_meta_txt'] as boolean,
      enableTruncate: dns['enable_truncate'] as boolean,
      recursorTimeoutMs: parseDuration(dns['recursor_timeout'] as string),
      recursorStrategy: dns['recursor_strategy'] as 'sequential' | 'random',
      soa: { refresh: soa['refresh'] as number, retry: soa['retry'] as number, expire: soa['expire'] as number, minTtl: soa['min_ttl'] as number },
    },
    raftMultiplier: (get<RawConfig>('performance')['raft_multiplier'] as number) ?? 1,
    gossip: gossipConfig(get<RawConfig | undefined>('gossip_lan') ?? {}),
    services: (get<RawConfig[] | undefined>('services') ?? []) as RawConfig[],
    checks: (get<RawConfig[] | undefined>('checks') ?? []) as RawConfig[],
    watches: (get<RawConfig[] | undefined>('watches') ?? []) as RawConfig[],
    sources,
  };
  crossCheck(cfg);
  return cfg;
}

function gossipConfig(g: RawConfig): RuntimeConfig['gossip'] {
  const dur = (k: string): number | undefined => (typeof g[k] === 'string' ? parseDuration(g[k] as string) : undefined);
  const out: RuntimeConfig['gossip'] = { profile: (g['profile'] as 'lan' | 'local' | undefined) ?? 'lan' };
  if (g['gossip_nodes'] !== undefined) out.gossipNodes = g['gossip_nodes'] as number;
  if (g['retransmit_mult'] !== undefined) out.retransmitMult = g['retransmit_mult'] as number;
  if (g['suspicion_mult'] !== undefined) out.suspicionMult = g['suspicion_mult'] as number;
  const gi = dur('gossip_interval');
  if (gi !== undefined) out.gossipIntervalMs = gi;
  const pi = dur('probe_interval');
  if (pi !== undefined) out.probeIntervalMs = pi;
  const pt = dur('probe_timeout');
  if (pt !== undefined) out.probeTimeoutMs = pt;
  return out;
}

/** Rules that involve more than one key. */
function crossCheck(c: RuntimeConfig): void {
  const problems: string[] = [];
  if (!c.dev && !c.dataDir) problems.push('data_dir: must be set (or run with -dev to keep state in memory)');
  if (c.bootstrap && c.bootstrapExpect > 0) problems.push('bootstrap and bootstrap_expect: set one or the other, not both');
  if ((c.bootstrap || c.bootstrapExpect > 0) && !c.server) problems.push('bootstrap_expect/bootstrap: only valid on a server (set server: true)');
  if (c.bindAddr === '0.0.0.0' && c.advertiseAddr === '0.0.0.0') problems.push('advertise_addr: cannot be 0.0.0.0; set advertise_addr');
  if (c.gossip.probeTimeoutMs !== undefined && c.gossip.probeTimeoutMs >= (c.gossip.probeIntervalMs ?? (c.gossip.profile === 'local' ? 200 : 1000))) {
    problems.push('gossip_lan.probe_timeout: must be shorter than gossip_lan.probe_interval');
  }
  if (c.altDomain && c.altDomain === c.domain) problems.push(`alt_domain: must differ from domain "${c.domain}"`);
  const snake: Record<string, string> = { serfLan: 'serf_lan', serfWan: 'serf_wan' };
  const ports = Object.entries(c.ports)
    .filter(([, p]) => p > 0)
    .map(([name, p]) => [snake[name] ?? name, p] as const);
  const seen = new Map<number, string>();
  for (const [name, p] of ports) {
    const other = seen.get(p);
    if (other) problems.push(`ports.${name}: ${p} is already used by ports.${other}`);
    seen.set(p, name);
  }
  if (problems.length) throw new ConfigError(`config: ${problems.join('; ')}`);
}

/** Like Consul: the first private (RFC 1918) IPv4 address of this host, else the first non-internal one, else 127.0.0.1. */
export function firstPrivateOrLoopback(): string {
  const addrs = Object.values(networkInterfaces())
    .flat()
    .filter((a): a is NonNullable<typeof a> => !!a && a.family === 'IPv4' && !a.internal)
    .map((a) => a.address);
  const isPrivate = (a: string): boolean => /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(a);
  return addrs.find(isPrivate) ?? addrs[0] ?? '127.0.0.1';
}
