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
import type { LocalCheck, LocalService } from '../local/types.js';
import { parseCheckDefinition as parseCheckSpec } from '../checks/definition.js';
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
}> & Record<string, unknown>;

const DURATION_FIELDS = new Set(['TTL', 'Interval', 'Timeout', 'DeregisterCriticalServiceAfter']);

/**
 * A decoded check → {@link LocalCheck}. The rules of check definitions live in one place,
 * agent/checks/definition.ts (the runner-spec parser); this only maps its errors to a 400
 * naming where the check sits (`Check`, `Checks[1]`) and keeps the definition in Consul's
 * field names for storage.
 */
function toCheck(c: RawCheck, defaults: { id: string; name: string; serviceId: string }, field: string): LocalCheck {
  const Definition: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    if (['CheckID', 'Name', 'Notes', 'Status', 'ServiceID', 'Type'].includes(k) || v === undefined) continue;
    Definition[k] = DURATION_FIELDS.has(k) ? formatDuration(v as number) : v;
  }
  const parsed = parseCheckSpec(
    { ...Definition, Name: c.Name, CheckID: c.CheckID, Status: c.Status, Type: c.Type, ServiceID: defaults.serviceId },
    { defaultName: defaults.name, defaultId: defaults.id },
  );
  if (!parsed.ok) throw new BadRequestError(`Invalid check: ${field ? `${field.slice(0, -1)}: ` : ''}${parsed.error}`);
  const p = parsed.check;
  return {
    CheckID: p.spec.checkId,
    Name: p.name,
    Status: p.status,
    Notes: p.notes,
    Output: '',
    ServiceID: defaults.serviceId,
    ServiceName: '',
    ServiceTags: [],
    Type: p.spec.kind,
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
