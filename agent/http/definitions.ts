/**
 * Consul's agent-side service and check definitions (`PUT /v1/agent/service/register`,
 * `PUT /v1/agent/check/register`, service definition files) decoded and validated into
 * {@link LocalService} / {@link LocalCheck}. Keys match like Consul's agent: any case,
 * snake_case or PascalCase. Every problem is a 400 naming the field; nothing is registered
 * until the whole definition is valid.
 */
import { formatDuration } from '../config/duration.js';
import { decode, S, type Spec } from './decode.js';
import { BadRequestError } from './errors.js';
import { LOCAL_CHECK_STATUSES, type CheckKind, type LocalCheck, type LocalCheckStatus, type LocalService } from '../local/types.js';
import type { ServiceAddress, StringMap, Weights } from '../../catalog/state/index.js';

const CHECK_FIELDS: Record<string, Spec> = {
  CheckID: S.string,
  Name: S.string,
  Notes: S.string,
  Status: S.string,
  ServiceID: S.string,
  Type: S.string,
  TTL: S.duration,
  Interval: S.duration,
  Timeout: S.duration,
  DeregisterCriticalServiceAfter: S.duration,
  HTTP: S.string,
  Method: S.string,
  Header: S.map(S.array(S.string)),
  Body: S.string,
  DisableRedirects: S.bool,
  TLSServerName: S.string,
  TLSSkipVerify: S.bool,
  TCP: S.string,
  TCPUseTLS: S.bool,
  UDP: S.string,
  GRPC: S.string,
  GRPCUseTLS: S.bool,
  H2PING: S.string,
  H2PingUseTLS: S.bool,
  ScriptArgs: S.array(S.string),
  Shell: S.string,
  DockerContainerID: S.string,
  AliasNode: S.string,
  AliasService: S.string,
  SuccessBeforePassing: S.int,
  FailuresBeforeWarning: S.int,
  FailuresBeforeCritical: S.int,
  OutputMaxSize: S.int,
};
const CHECK_ALIASES = { ID: 'CheckID', Args: 'ScriptArgs' };

export const CHECK_SPEC = S.object(CHECK_FIELDS, CHECK_ALIASES);

export const SERVICE_SPEC = S.object(
  {
    ID: S.string,
    Name: S.string,
    Tags: S.array(S.string),
    Address: S.string,
    TaggedAddresses: S.map(S.object({ Address: S.string, Port: S.int })),
    Meta: S.map(S.string),
    Port: S.int,
    Weights: S.object({ Passing: S.int, Warning: S.int }),
    EnableTagOverride: S.bool,
    Kind: S.string,
    Check: CHECK_SPEC,
    Checks: S.array(CHECK_SPEC),
  },
  { Service: 'Name', ServiceID: 'ID' },
);

/** Consul's rules for service and node meta. */
const META_MAX_PAIRS = 64;
const META_KEY_MAX = 128;
const META_VALUE_MAX = 512;

function checkMeta(meta: StringMap, field: string): void {
  const keys = Object.keys(meta);
  if (keys.length > META_MAX_PAIRS) throw new BadRequestError(`Invalid ${field}: at most ${META_MAX_PAIRS} key/value pairs are allowed`);
  for (const k of keys) {
    if (k === '') throw new BadRequestError(`Invalid ${field}: keys cannot be blank`);
    if (!/^[A-Za-z0-9_-]+$/.test(k)) throw new BadRequestError(`Invalid ${field}: key "${k}" may only hold letters, digits, "_" and "-"`);
    if (k.length > META_KEY_MAX) throw new BadRequestError(`Invalid ${field}: key "${k.slice(0, 20)}..." is longer than ${META_KEY_MAX} characters`);
    if (k.startsWith('consul-')) throw new BadRequestError(`Invalid ${field}: key "${k}" uses the reserved prefix "consul-"`);
    if (meta[k]!.length > META_VALUE_MAX) throw new BadRequestError(`Invalid ${field}: value of "${k}" is longer than ${META_VALUE_MAX} characters`);
  }
}

type RawCheck = Partial<{
  CheckID: string; Name: string; Notes: string; Status: string; ServiceID: string; Type: string;
  TTL: number; Interval: number; Timeout: number; DeregisterCriticalServiceAfter: number;
  HTTP: string; TCP: string; UDP: string; GRPC: string; H2PING: string; ScriptArgs: string[];
  DockerContainerID: string; Shell: string; AliasNode: string; AliasService: string;
}> & Record<string, unknown>;

const DURATION_FIELDS = new Set(['TTL', 'Interval', 'Timeout', 'DeregisterCriticalServiceAfter']);

/** The kind of a check, from the fields it sets; a 400 when none or a conflicting set is given. */
function checkKind(c: RawCheck, field: string): CheckKind {
  const where = field ? `${field.slice(0, -1)}: ` : '';
  const kinds: CheckKind[] = [];
  if (c.DockerContainerID) kinds.push('docker');
  else if (c.ScriptArgs && c.ScriptArgs.length > 0) kinds.push('script');
  if (c.HTTP) kinds.push('http');
  if (c.TCP) kinds.push('tcp');
  if (c.UDP) kinds.push('udp');
  if (c.GRPC) kinds.push('grpc');
  if (c.H2PING) kinds.push('h2ping');
  if (c.AliasNode || c.AliasService) kinds.push('alias');
  if (c.TTL !== undefined) kinds.push('ttl');
  if (c.Type !== undefined && c.Type !== '') {
    const t = c.Type.toLowerCase();
    if (!['ttl', 'http', 'tcp', 'udp', 'script', 'docker', 'grpc', 'h2ping', 'alias'].includes(t)) {
      throw new BadRequestError(`Invalid check: ${field}Type: unknown check type "${c.Type}"`);
    }
    if (kinds.length === 0 || kinds[0] !== t || kinds.length > 1) {
      throw new BadRequestError(`Invalid check: ${field}Type "${c.Type}" does not match the fields given (${kinds.join(', ') || 'none'})`);
    }
  }
  if (kinds.length === 0) {
    throw new BadRequestError(`Invalid check: ${where}one of Args, HTTP, TCP, UDP, GRPC, H2PING, DockerContainerID, AliasNode/AliasService or TTL must be specified`);
  }
  if (kinds.length > 1) throw new BadRequestError(`Invalid check: ${where}only one check kind may be given, got ${kinds.join(', ')}`);
  const kind = kinds[0]!;
  if (kind === 'ttl') {
    if (!(c.TTL! > 0)) throw new BadRequestError(`Invalid check: ${field}TTL must be > 0 for TTL checks`);
    if (c.Interval !== undefined && c.Interval > 0) throw new BadRequestError(`Invalid check: ${field}Interval and TTL cannot both be specified`);
  } else if (kind === 'alias') {
    if (c.Interval !== undefined && c.Interval > 0) throw new BadRequestError(`Invalid check: ${field}Interval must not be set for Alias checks`);
  } else if (!(c.Interval! > 0)) {
    throw new BadRequestError(`Invalid check: ${field}Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP, gRPC or Docker checks`);
  }
  if (kind === 'docker' && !c.Shell && !(c.ScriptArgs && c.ScriptArgs.length > 0)) {
    throw new BadRequestError(`Invalid check: ${where}Docker checks need Args or Shell`);
  }
  if (c.Timeout !== undefined && c.Timeout < 0) throw new BadRequestError(`Invalid check: ${field}Timeout must not be negative`);
  return kind;
}

function toCheck(c: RawCheck, defaults: { id: string; name: string; serviceId: string }, field: string): LocalCheck {
  const Type = checkKind(c, field);
  const status = c.Status === undefined || c.Status === '' ? 'critical' : c.Status;
  if (!LOCAL_CHECK_STATUSES.includes(status as LocalCheckStatus)) {
    throw new BadRequestError(`Invalid check: ${field}Status "${c.Status}" must be one of passing, warning, critical`);
  }
  const Definition: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    if (['CheckID', 'Name', 'Notes', 'Status', 'ServiceID', 'Type'].includes(k) || v === undefined) continue;
    Definition[k] = DURATION_FIELDS.has(k) ? formatDuration(v as number) : v;
  }
  return {
    CheckID: c.CheckID || defaults.id,
    Name: c.Name || defaults.name,
    Status: status as LocalCheckStatus,
    Notes: c.Notes ?? '',
    Output: '',
    ServiceID: defaults.serviceId,
    ServiceName: '',
    ServiceTags: [],
    Type,
    Definition,
  };
}

/** A decoded `PUT /v1/agent/service/register` body. */
export interface ServiceRegistration {
  service: LocalService;
  checks: LocalCheck[];
}

/** Decodes and validates an agent service definition (Consul's AgentServiceRegistration). */
export function parseServiceDefinition(body: unknown): ServiceRegistration {
  if (body === undefined) throw new BadRequestError('Request decode failed: empty body');
  const d = decode(body, SERVICE_SPEC) as Partial<{
    ID: string; Name: string; Tags: string[]; Address: string; TaggedAddresses: Record<string, Partial<ServiceAddress>>;
    Meta: StringMap; Port: number; Weights: Partial<Weights>; EnableTagOverride: boolean; Kind: string;
    Check: RawCheck; Checks: RawCheck[];
  }>;
  if (!d.Name) throw new BadRequestError('Missing service name');
  const ID = d.ID || d.Name;
  const port = d.Port ?? 0;
  if (port < 0 || port > 65535) throw new BadRequestError(`Invalid Port: ${port} is out of range 0-65535`);
  const Meta = d.Meta ?? {};
  checkMeta(Meta, 'Service Meta');
  const Weights = { Passing: d.Weights?.Passing ?? 1, Warning: d.Weights?.Warning ?? 1 };
  if (Weights.Passing < 1) throw new BadRequestError('Invalid Weights: Passing must be greater than 0');
  if (Weights.Warning < 0) throw new BadRequestError('Invalid Weights: Warning must not be negative');
  const TaggedAddresses: Record<string, ServiceAddress> = {};
  for (const [k, a] of Object.entries(d.TaggedAddresses ?? {})) {
    const p = a.Port ?? 0;
    if (p < 0 || p > 65535) throw new BadRequestError(`Invalid TaggedAddresses.${k}.Port: ${p} is out of range 0-65535`);
    TaggedAddresses[k] = { Address: a.Address ?? '', Port: p };
  }
  const service: LocalService = {
    ID,
    Service: d.Name,
    Tags: d.Tags ?? [],
    Address: d.Address ?? '',
    TaggedAddresses,
    Meta,
    Port: port,
    Weights,
    EnableTagOverride: d.EnableTagOverride ?? false,
    Kind: d.Kind ?? '',
  };
  const raw = [...(d.Check ? [d.Check] : []), ...(d.Checks ?? [])];
  const checks = raw.map((c, i) => {
    const field = d.Check && i === 0 ? 'Check.' : `Checks[${d.Check ? i - 1 : i}].`;
    const id = `service:${ID}${raw.length > 1 ? `:${i + 1}` : ''}`;
    return toCheck(c, { id, name: `Service '${d.Name}' check`, serviceId: ID }, field);
  });
  const ids = new Set<string>();
  for (const c of checks) {
    if (ids.has(c.CheckID)) throw new BadRequestError(`Invalid check: CheckID "${c.CheckID}" is given twice`);
    ids.add(c.CheckID);
  }
  return { service, checks };
}

/** Decodes and validates `PUT /v1/agent/check/register` (Consul's CheckDefinition). */
export function parseCheckDefinition(body: unknown): LocalCheck {
  if (body === undefined) throw new BadRequestError('Request decode failed: empty body');
  const c = decode(body, CHECK_SPEC) as RawCheck;
  if (!c.Name) throw new BadRequestError('Missing check name');
  return toCheck(c, { id: c.Name, name: c.Name, serviceId: c.ServiceID ?? '' }, '');
}
