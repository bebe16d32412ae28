/**
 * What an agent holds about its own host: services and checks registered with it. The field
 * names are Consul's (AgentService, AgentCheck), so rows convert to API JSON and to catalog
 * registrations by picking fields. Entries are plain data, validated before they get here.
 */
import type { ServiceAddress, StringMap, Weights } from '../../catalog/state/index.js';

export interface LocalService {
  ID: string;
  Service: string;
  Tags: string[];
  /** '' means "use the node address". */
  Address: string;
  TaggedAddresses: Record<string, ServiceAddress>;
  Meta: StringMap;
  Port: number;
  Weights: Weights;
  EnableTagOverride: boolean;
  /** '' for a typical service. */
  Kind: string;
}

/**
 * Check kinds Consul knows. `ttl` is kept by agent/checks/ttl.ts, http/tcp/grpc/script/alias
 * run in agent/checks/manager.ts; `maintenance` is the agent-made maintenance-mode check.
 */
export const CHECK_KINDS = ['ttl', 'http', 'tcp', 'udp', 'script', 'docker', 'grpc', 'h2ping', 'alias', 'maintenance'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

/** Statuses a local check can be in (maintenance comes with maintenance mode, later). */
export type LocalCheckStatus = 'passing' | 'warning' | 'critical';
export const LOCAL_CHECK_STATUSES: readonly LocalCheckStatus[] = ['passing', 'warning', 'critical'];

export interface LocalCheck {
  CheckID: string;
  Name: string;
  Status: LocalCheckStatus;
  Notes: string;
  Output: string;
  /** '' for a node-level check. */
  ServiceID: string;
  /** Name of the service it belongs to, kept current with the service ('' for node-level). */
  ServiceName: string;
  ServiceTags: string[];
  Type: CheckKind;
  /**
   * How the check runs, in Consul's field names: TTL, Interval, Timeout,
   * DeregisterCriticalServiceAfter (Go duration strings), HTTP, Method, Header, Body, TCP,
   * UDP, GRPC, H2PING, ScriptArgs, Shell, DockerContainerID, AliasNode, AliasService, ...
   * Only keys that were given are present.
   */
  Definition: Record<string, unknown>;
}
