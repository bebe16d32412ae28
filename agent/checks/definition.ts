/**
 * Consul check-definition JSON → {@link ParsedCheck}. Pure: no I/O, no clock.
 *
 * Keys are matched the way Consul decodes them: case-insensitively, with snake_case config-file
 * keys equal to their PascalCase API form (`tls_skip_verify` = `TLSSkipVerify`, `script_args`
 * = `ScriptArgs`, `check_id` = `CheckID`). Unknown keys are ignored, like the HTTP API does.
 * Errors are one line that starts with the offending field.
 */
import { formatDuration, parseDuration } from '../config/duration.js';
import {
  CHECK_STATUSES,
  DEFAULT_OUTPUT_MAX_SIZE,
  DEFAULT_SCRIPT_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  MIN_DEREGISTER_AFTER_MS,
  MIN_INTERVAL_MS,
  type CheckSpec,
  type CheckSpecBase,
  type CheckStatus,
  type ParseCheckResult,
  type ParsedCheck,
} from './types.js';

/** Defaults a caller can supply, e.g. for a check embedded in a service definition. */
export interface ParseCheckOptions {
  /** Used when the definition has no Name (Consul names service checks "Service 'web' check"). */
  defaultName?: string;
  /** Used when the definition has neither ID nor CheckID; otherwise the ID defaults to the Name. */
  defaultId?: string;
  /** Used when the definition has no ServiceID. */
  serviceId?: string;
  /**
   * The agent's `check_output_max_size` (default 4096). A definition's OutputMaxSize can only
   * lower it, like Consul.
   */
  checkOutputMaxSize?: number;
}

/** Canonical field names, by normalized key (lower case, no '_' or '-'). */
const FIELDS: Record<string, string> = {};
for (const f of [
  'ID', 'CheckID', 'Name', 'Notes', 'ServiceID', 'Status', 'Output',
  'HTTP', 'Method', 'Header', 'Body', 'TLSSkipVerify', 'TLSServerName', 'DisableRedirects',
  'TCP', 'GRPC', 'GRPCUseTLS', 'Args', 'ScriptArgs', 'AliasNode', 'AliasService',
  'TTL', 'Interval', 'Timeout', 'SuccessBeforePassing', 'FailuresBeforeWarning', 'FailuresBeforeCritical',
  'DeregisterCriticalServiceAfter', 'OutputMaxSize', 'Type',
  // Recognized only to be refused with a clear message.
  'Script', 'Shell', 'DockerContainerID', 'H2PING', 'H2PingUseTLS', 'UDP', 'OSService',
]) {
  FIELDS[normalizeKey(f)] = f;
}

const UNSUPPORTED: Record<string, string> = {
  Script: 'Script: the shell form of script checks is not supported; use Args',
  Shell: 'Shell: Docker checks are not supported',
  DockerContainerID: 'DockerContainerID: Docker checks are not supported',
  H2PING: 'H2PING: H2 ping checks are not supported',
  UDP: 'UDP: UDP checks are not supported',
  OSService: 'OSService: OS service checks are not supported',
};

/** Consul's check types; the ones without a runner here are refused above by their field. */
const KNOWN_TYPES = ['ttl', 'http', 'tcp', 'udp', 'script', 'docker', 'grpc', 'h2ping', 'alias', 'os_service'];
const KIND_OF_FIELD: Record<string, string> = {
  HTTP: 'http', TCP: 'tcp', GRPC: 'grpc', Args: 'script', ScriptArgs: 'script', AliasNode: 'alias', AliasService: 'alias', TTL: 'ttl',
};

function normalizeKey(k: string): string {
  return k.toLowerCase().replace(/[_-]/g, '');
}

class FieldError extends Error {
  override name = 'FieldError';
}

function fail(msg: string): never {
  throw new FieldError(msg);
}

/** Parses one check definition. Never throws for bad input; returns `{ ok: false, error }`. */
export function parseCheckDefinition(raw: unknown, opts: ParseCheckOptions = {}): ParseCheckResult {
  try {
    return { ok: true, check: parse(raw, opts) };
  } catch (err) {
    if (err instanceof FieldError) return { ok: false, error: err.message };
    throw err;
  }
}

function parse(raw: unknown, opts: ParseCheckOptions): ParsedCheck {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('check definition must be a JSON object');
  const v: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(raw as Record<string, unknown>)) {
    const f = FIELDS[normalizeKey(k)];
    if (f !== undefined && v[f] === undefined && val !== null && val !== undefined) v[f] = val;
  }
  for (const [f, msg] of Object.entries(UNSUPPORTED)) {
    if (isSet(v[f])) fail(msg);
  }
  if (isSet(v.H2PingUseTLS)) fail('H2PingUseTLS: H2 ping checks are not supported');

  const name = optString(v, 'Name') || opts.defaultName || '';
  if (name === '') fail('Name is required');
  const checkId = optString(v, 'ID') || optString(v, 'CheckID') || opts.defaultId || name;
  const notes = optString(v, 'Notes');
  const serviceId = optString(v, 'ServiceID') || opts.serviceId || '';
  const output = optString(v, 'Output');
  const statusRaw = optString(v, 'Status');
  if (statusRaw !== '' && !(CHECK_STATUSES as readonly string[]).includes(statusRaw)) {
    fail(`Status: must be one of passing, warning, critical (got "${statusRaw}")`);
  }
  const status: CheckStatus = (statusRaw || 'critical') as CheckStatus;

  // Which kind: exactly one of these may be set.
  const kinds: Array<[string, boolean]> = [
    ['HTTP', optString(v, 'HTTP') !== ''],
    ['TCP', optString(v, 'TCP') !== ''],
    ['GRPC', optString(v, 'GRPC') !== ''],
    ['Args', isSet(v.Args)],
    ['ScriptArgs', isSet(v.ScriptArgs)],
    ['AliasNode', optString(v, 'AliasNode') !== ''],
    ['AliasService', optString(v, 'AliasService') !== ''],
    ['TTL', isSet(v.TTL) && optDuration(v, 'TTL') > 0],
  ];
  const present = kinds.filter(([, on]) => on).map(([f]) => f);
  const isAliasPair = present.length === 2 && present[0] === 'AliasNode' && present[1] === 'AliasService';
  if (present.length > 1 && !isAliasPair) fail(`"${present[0]}" and "${present[1]}" cannot both be set`);
  const kindField = present[0];
  if (kindField === undefined) {
    if (isSet(v.TTL)) fail('TTL must be > 0 for TTL checks');
    fail('one of HTTP, TCP, GRPC, Args, AliasNode/AliasService or TTL is required');
  }
  const typeRaw = optString(v, 'Type');
  if (typeRaw !== '') {
    const t = typeRaw.toLowerCase();
    if (!KNOWN_TYPES.includes(t)) fail(`Type: unknown check type "${typeRaw}"`);
    if (t !== KIND_OF_FIELD[kindField]) fail(`Type: "${typeRaw}" does not match the fields given (${kindField})`);
  }

  const warnings: string[] = [];
  const intervalMs = optDuration(v, 'Interval');
  const timeoutRaw = optDuration(v, 'Timeout');
  const ttlMs = optDuration(v, 'TTL');
  const failuresBeforeCritical = optCount(v, 'FailuresBeforeCritical');
  const failuresBeforeWarningRaw = optCount(v, 'FailuresBeforeWarning');
  const outputMaxSizeRaw = isSet(v.OutputMaxSize) ? optCount(v, 'OutputMaxSize') : 0;
  const agentMax = opts.checkOutputMaxSize !== undefined && opts.checkOutputMaxSize > 0 ? opts.checkOutputMaxSize : DEFAULT_OUTPUT_MAX_SIZE;
  const base: CheckSpecBase = {
    checkId,
    timeoutMs: timeoutRaw > 0 ? timeoutRaw : kindField === 'Args' || kindField === 'ScriptArgs' ? DEFAULT_SCRIPT_TIMEOUT_MS : DEFAULT_TIMEOUT_MS,
    successBeforePassing: optCount(v, 'SuccessBeforePassing'),
    // Consul: an unset FailuresBeforeWarning follows FailuresBeforeCritical.
    failuresBeforeWarning: failuresBeforeWarningRaw === 0 ? failuresBeforeCritical : failuresBeforeWarningRaw,
    failuresBeforeCritical,
    outputMaxSize: Math.min(agentMax, outputMaxSizeRaw > 0 ? outputMaxSizeRaw : agentMax),
  };

  const kindName: Record<string, string> = { HTTP: 'HTTP', TCP: 'TCP', GRPC: 'GRPC', Args: 'script', ScriptArgs: 'script' };
  let spec: CheckSpec;
  if (kindField === 'TTL') {
    if (intervalMs > 0) fail('Interval and TTL cannot both be set');
    spec = { ...base, kind: 'ttl', ttlMs };
  } else if (kindField === 'AliasNode' || kindField === 'AliasService') {
    if (intervalMs > 0) fail('Interval cannot be set for alias checks');
    const aliasNode = optString(v, 'AliasNode');
    const aliasService = optString(v, 'AliasService');
    spec = { ...base, kind: 'alias', ...(aliasNode ? { aliasNode } : {}), ...(aliasService ? { aliasService } : {}) };
  } else {
    if (intervalMs <= 0) fail(`Interval is required for ${kindName[kindField]} checks`);
    let interval = intervalMs;
    if (interval < MIN_INTERVAL_MS) {
      warnings.push(`Interval ${formatDuration(interval)} is below the minimum ${formatDuration(MIN_INTERVAL_MS)}; using ${formatDuration(MIN_INTERVAL_MS)}`);
      interval = MIN_INTERVAL_MS;
    }
    const ib = { ...base, intervalMs: interval };
    switch (kindField) {
      case 'HTTP': {
        const url = optString(v, 'HTTP');
        let parsed: URL;
        try {
          parsed = new URL(url);
        } catch {
          fail(`HTTP: invalid URL "${url}"`);
        }
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') fail(`HTTP: must be an http:// or https:// URL (got "${url}")`);
        const method = (optString(v, 'Method') || 'GET').toUpperCase();
        if (!/^[A-Z0-9!#$%&'*+.^_`|~-]+$/.test(method)) fail(`Method: invalid HTTP method "${method}"`);
        const tlsServerName = optString(v, 'TLSServerName');
        spec = {
          ...ib,
          kind: 'http',
          url,
          method,
          header: parseHeader(v.Header),
          body: optString(v, 'Body'),
          tlsSkipVerify: optBool(v, 'TLSSkipVerify'),
          disableRedirects: optBool(v, 'DisableRedirects'),
          ...(tlsServerName ? { tlsServerName } : {}),
        };
        break;
      }
      case 'TCP': {
        const address = optString(v, 'TCP');
        if (!splitHostPort(address)) fail(`TCP: must be host:port (got "${address}")`);
        spec = { ...ib, kind: 'tcp', address };
        break;
      }
      case 'GRPC': {
        const target = optString(v, 'GRPC');
        if (!parseGrpcTarget(target)) fail(`GRPC: must be host:port or host:port/service (got "${target}")`);
        const tlsServerName = optString(v, 'TLSServerName');
        spec = {
          ...ib,
          kind: 'grpc',
          target,
          useTls: optBool(v, 'GRPCUseTLS'),
          tlsSkipVerify: optBool(v, 'TLSSkipVerify'),
          ...(tlsServerName ? { tlsServerName } : {}),
        };
        break;
      }
      default: {
        const field = kindField;
        const args = v[field];
        if (!Array.isArray(args) || args.length === 0 || !args.every((a) => typeof a === 'string') || args[0] === '') {
          fail(`${field}: must be a non-empty list of strings`);
        }
        spec = { ...ib, kind: 'script', args: [...(args as string[])] };
      }
    }
  }

  let deregisterCriticalServiceAfterMs: number | undefined;
  const dereg = optDuration(v, 'DeregisterCriticalServiceAfter');
  if (dereg > 0) {
    deregisterCriticalServiceAfterMs = dereg;
    if (dereg < MIN_DEREGISTER_AFTER_MS) {
      warnings.push(`DeregisterCriticalServiceAfter must be at least 1m (got ${formatDuration(dereg)}); using 1m`);
      deregisterCriticalServiceAfterMs = MIN_DEREGISTER_AFTER_MS;
    }
  }

  return {
    spec,
    name,
    notes,
    serviceId,
    status,
    output,
    ...(deregisterCriticalServiceAfterMs !== undefined ? { deregisterCriticalServiceAfterMs } : {}),
    warnings,
  };
}

function isSet(x: unknown): boolean {
  if (x === undefined || x === null || x === '' || x === false) return false;
  if (Array.isArray(x)) return x.length > 0;
  return true;
}

function optString(v: Record<string, unknown>, f: string): string {
  const x = v[f];
  if (x === undefined) return '';
  if (typeof x !== 'string') fail(`${f}: must be a string`);
  return x;
}

function optBool(v: Record<string, unknown>, f: string): boolean {
  const x = v[f];
  if (x === undefined) return false;
  if (typeof x === 'boolean') return x;
  if (x === 'true') return true;
  if (x === 'false') return false;
  fail(`${f}: must be true or false`);
}

function optCount(v: Record<string, unknown>, f: string): number {
  const x = v[f];
  if (x === undefined) return 0;
  const n = typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : x;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) fail(`${f}: must be a non-negative integer`);
  return n;
}

/**
 * A duration in ms: a Go duration string ("10s"), or a JSON number in nanoseconds (how Go
 * encodes time.Duration, which Consul's API accepts). Unset → 0.
 */
function optDuration(v: Record<string, unknown>, f: string): number {
  const x = v[f];
  if (x === undefined) return 0;
  let ms: number;
  if (typeof x === 'number') {
    if (!Number.isFinite(x)) fail(`${f}: invalid duration ${String(x)}`);
    ms = x / 1e6;
  } else if (typeof x === 'string') {
    try {
      ms = parseDuration(x);
    } catch (err) {
      fail(`${f}: ${(err as Error).message}`);
    }
  } else {
    fail(`${f}: must be a duration string such as "10s"`);
  }
  if (ms < 0) fail(`${f}: must not be negative`);
  return ms;
}

function parseHeader(x: unknown): Record<string, string[]> {
  if (x === undefined) return {};
  if (typeof x !== 'object' || x === null || Array.isArray(x)) fail('Header: must be an object of header name to list of values');
  const out: Record<string, string[]> = {};
  for (const [name, vals] of Object.entries(x as Record<string, unknown>)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) fail(`Header: invalid header name "${name}"`);
    if (!Array.isArray(vals) || !vals.every((s) => typeof s === 'string')) fail(`Header["${name}"]: must be a list of strings`);
    if (vals.some((s) => /[\r\n\0]/.test(s as string))) fail(`Header["${name}"]: values must not contain line breaks`);
    out[name] = [...(vals as string[])];
  }
  return out;
}

/** Splits "host:port" / "[v6]:port"; undefined when it is not of that form or the port is out of range. */
export function splitHostPort(s: string): { host: string; port: number } | undefined {
  let host: string;
  let portStr: string;
  if (s.startsWith('[')) {
    const end = s.indexOf(']:');
    if (end < 0) return undefined;
    host = s.slice(1, end);
    portStr = s.slice(end + 2);
  } else {
    const i = s.lastIndexOf(':');
    if (i < 0) return undefined;
    host = s.slice(0, i);
    portStr = s.slice(i + 1);
    if (host.includes(':')) return undefined;
  }
  if (host === '' || !/^\d{1,5}$/.test(portStr)) return undefined;
  const port = Number(portStr);
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** Splits a gRPC check target "host:port[/service]". */
export function parseGrpcTarget(target: string): { host: string; port: number; service: string } | undefined {
  const slash = target.indexOf('/');
  const addr = slash < 0 ? target : target.slice(0, slash);
  const service = slash < 0 ? '' : target.slice(slash + 1);
  const hp = splitHostPort(addr);
  return hp ? { ...hp, service } : undefined;
}
