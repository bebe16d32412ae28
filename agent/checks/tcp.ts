/**
 * TCP check probe, Consul's semantics: a connection established within the timeout is
 * passing ("TCP connect <addr>: Success") and is closed at once; anything else is critical
 * with the error ("dial tcp <addr>: ...").
 */
import { connect } from 'node:net';
import type { Clock } from '../runtime/clock.js';
import { splitHostPort } from './definition.js';
import { effectiveTimeoutMs } from './runner.js';
import type { ProbeResult, TcpCheckSpec } from './types.js';

/** Runs one TCP probe. Resolves (never rejects); aborting `signal` ends it promptly. */
export function probeTcp(spec: TcpCheckSpec, clock: Clock, signal?: AbortSignal): Promise<ProbeResult> {
  const hp = splitHostPort(spec.address);
  if (!hp) return Promise.resolve({ status: 'critical', output: `dial tcp ${spec.address}: missing port in address` });
  return new Promise((resolve) => {
    let done = false;
    const sock = connect({ host: hp.host, port: hp.port });
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(r);
    };
    const timer = clock.setTimeout(() => finish({ status: 'critical', output: `dial tcp ${spec.address}: i/o timeout` }), effectiveTimeoutMs(spec));
    const onAbort = (): void => finish({ status: 'critical', output: `dial tcp ${spec.address}: check stopped` });
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    sock.once('connect', () => finish({ status: 'passing', output: `TCP connect ${spec.address}: Success` }));
    sock.once('error', (err) => finish({ status: 'critical', output: `dial tcp ${spec.address}: ${err.message}` }));
  });
}
