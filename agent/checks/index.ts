/** Public surface of the check runners (see docs/checks.md). */
export * from './types.js';
export { parseCheckDefinition, splitHostPort, parseGrpcTarget, type ParseCheckOptions } from './definition.js';
export { StatusDamper, type DamperThresholds } from './damper.js';
export { IntervalRunner, effectiveTimeoutMs, type CheckRunner, type Probe, type IntervalRunnerOptions } from './runner.js';
export { probeHttp, USER_AGENT, ACCEPT } from './http.js';
export { probeTcp } from './tcp.js';
export { probeGrpc, grpcTimeout } from './grpc.js';
export { scriptProbe, type ScriptProbeOptions } from './script.js';
export { AliasRunner, aliasResult, aliasBackoffMs, pollingAliasFetch, type AliasFetch, type AliasQuery, type AliasSnapshot, type AliasedCheck, type AliasRunnerOptions } from './alias.js';
export { createCheckRunner, type CheckRunnerDeps } from './factory.js';
export { ChecksError, ScriptChecksDisabledError } from './errors.js';
export { TailBuffer } from './output.js';
export { CheckRunnerSet } from './runner-set.js';
