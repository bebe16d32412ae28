/**
 * Normalized check specs: what a runner needs to run one check, in camelCase with durations
 * in milliseconds. {@link parseCheckDefinition} (definition.ts) builds them from Consul's
 * check-definition JSON; tests and the agent may also build them directly.
 */

/** The three statuses a check can report (maintenance is a separate, agent-made check). */
export type CheckStatus = 'passing' | 'warning' | 'critical';

export const CHECK_STATUSES: readonly CheckStatus[] = ['passing', 'warning', 'critical'];

/** Receives every (damped) result of a runner. Called only between start() and stop(). */
export type CheckReport = (status: CheckStatus, output: string) => void;

/** One probe outcome before flap damping. */
export interface ProbeResult {
  status: CheckStatus;
  output: string;
}

/** Consul's default timeout for HTTP, TCP and gRPC checks. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Consul's default timeout for script checks (its code uses 30 s, not 10 s). */
export const DEFAULT_SCRIPT_TIMEOUT_MS = 30_000;
/** Consul's default `check_output_max_size`: output is cut to this many bytes. */
export const DEFAULT_OUTPUT_MAX_SIZE = 4096;
/** Consul raises shorter intervals to this (with a warning). */
export const MIN_INTERVAL_MS = 1000;
/** Consul raises a shorter DeregisterCriticalServiceAfter to this (with a warning). */
export const MIN_DEREGISTER_AFTER_MS = 60_000;

/** Fields every kind has. */
export interface CheckSpecBase {
  checkId: string;
  /** Per-run timeout (connect, request and response; or the script's whole run). */
  timeoutMs: number;
  /** Consecutive successes needed before a passing/warning result is reported (0 = at once). */
  successBeforePassing: number;
  /** Consecutive failures needed before a failure is reported as warning (0 = at once). */
  failuresBeforeWarning: number;
  /** Consecutive failures needed before a failure is reported as critical (0 = at once). */
  failuresBeforeCritical: number;
  /** Output is cut to this many bytes. */
  outputMaxSize: number;
}

/** Kinds run on a fixed interval by the interval runner. */
export interface IntervalSpecBase extends CheckSpecBase {
  intervalMs: number;
}

export interface HttpCheckSpec extends IntervalSpecBase {
  kind: 'http';
  /** http:// or https:// URL. */
  url: string;
  /** Upper-case method; default GET. */
  method: string;
  /** Request headers, each name with its list of values (Consul's `Header` map). */
  header: Record<string, string[]>;
  /** Request body; '' for none. */
  body: string;
  tlsSkipVerify: boolean;
  /** SNI and certificate name to use instead of the URL's host. */
  tlsServerName?: string;
  /** When true a 3xx is the result itself; otherwise redirects are followed (up to 10, like Go). */
  disableRedirects: boolean;
}

export interface TcpCheckSpec extends IntervalSpecBase {
  kind: 'tcp';
  /** host:port ([v6]:port for IPv6). */
  address: string;
}

export interface GrpcCheckSpec extends IntervalSpecBase {
  kind: 'grpc';
  /** host:port, optionally followed by /service (the name sent in HealthCheckRequest). */
  target: string;
  useTls: boolean;
  tlsSkipVerify: boolean;
  tlsServerName?: string;
}

export interface ScriptCheckSpec extends IntervalSpecBase {
  kind: 'script';
  /** argv; args[0] is the program, run directly without a shell. */
  args: string[];
}

/** Mirrors another node's or service's health. Not interval-driven (watches the catalog). */
export interface AliasCheckSpec extends CheckSpecBase {
  kind: 'alias';
  /** The node to mirror; undefined = this agent's own node. */
  aliasNode?: string;
  /** The service instance (ID) to mirror; undefined = node-level checks only. */
  aliasService?: string;
}

/** Heartbeat check: the application reports; the agent only expires it (agent/local owns it). */
export interface TtlCheckSpec extends CheckSpecBase {
  kind: 'ttl';
  ttlMs: number;
}

export type IntervalCheckSpec = HttpCheckSpec | TcpCheckSpec | GrpcCheckSpec | ScriptCheckSpec;
/** Kinds that have a runner in agent/checks. */
export type RunnerSpec = IntervalCheckSpec | AliasCheckSpec;
export type CheckSpec = RunnerSpec | TtlCheckSpec;
export type CheckKind = CheckSpec['kind'];

/** A parsed check registration: the runner spec plus what the agent stores about the check. */
export interface ParsedCheck {
  spec: CheckSpec;
  /** Name as given (required by Consul's agent endpoint). */
  name: string;
  notes: string;
  /** '' for a node-level check. */
  serviceId: string;
  /** Initial status; Consul's default is critical. */
  status: CheckStatus;
  /** Initial output, if the definition gave one. */
  output: string;
  /** Undefined when not set (never reaped). Already raised to the 1 m minimum. */
  deregisterCriticalServiceAfterMs?: number;
  /** Values the parser adjusted the way Consul does (e.g. an interval below 1 s). */
  warnings: string[];
}

export type ParseCheckResult = { ok: true; check: ParsedCheck } | { ok: false; error: string };
