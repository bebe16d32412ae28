/**
 * gRPC check probe: the standard health protocol, `grpc.health.v1.Health/Check`, spoken over
 * node:http2 with the framing in grpc-wire.ts. Target "host:port[/service]"; the service
 * name ('' = the server as a whole) goes in the request.
 *
 * Results: SERVING → passing "gRPC check <target>: success"; another serving status →
 * critical "gRPC <target> serving status: NOT_SERVING" (or UNKNOWN, …); a non-zero grpc-status →
 * critical "rpc error: code = NotFound desc = unknown service" (grpc-go's error text); a
 * connection failure or the timeout → critical (Unavailable / DeadlineExceeded).
 */
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import type { Clock } from '../runtime/clock.js';
import { parseGrpcTarget } from './definition.js';
import { effectiveTimeoutMs } from './runner.js';
import {
  GRPC_CODE_NAMES,
  HEALTH_CHECK_PATH,
  SERVING_STATUS_NAMES,
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  frameMessage,
  unframeMessages,
} from './grpc-wire.js';
import type { GrpcCheckSpec, ProbeResult } from './types.js';

const SERVING = 1;

function rpcError(code: number, desc: string): ProbeResult {
  return { status: 'critical', output: `rpc error: code = ${GRPC_CODE_NAMES[code] ?? `Code(${code})`} desc = ${desc}` };
}

/** gRPC's mapping of a non-200 HTTP status to a status code. */
function codeForHttpStatus(s: number): number {
  if (s === 400) return 13;
  if (s === 401) return 16;
  if (s === 403) return 7;
  if (s === 404) return 12;
  if (s === 429 || s === 502 || s === 503 || s === 504) return 14;
  return 2;
}

/** The grpc-timeout header value: at most 8 digits, so long timeouts switch to seconds. */
export function grpcTimeout(ms: number): string {
  const m = Math.max(1, Math.ceil(ms));
  return m <= 99_999_999 ? `${m}m` : `${Math.min(99_999_999, Math.ceil(m / 1000))}S`;
}

function decodeGrpcMessage(m: string | string[] | undefined): string {
  const s = Array.isArray(m) ? m.join(',') : (m ?? '');
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Runs one gRPC health probe. Resolves (never rejects); aborting `signal` ends it promptly. */
export function probeGrpc(spec: GrpcCheckSpec, clock: Clock, signal?: AbortSignal): Promise<ProbeResult> {
  const t = parseGrpcTarget(spec.target);
  if (!t) return Promise.resolve(rpcError(14, `invalid target "${spec.target}"`));
  const timeoutMs = effectiveTimeoutMs(spec);
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  const authority = `${spec.useTls ? 'https' : 'http'}://${host}:${t.port}`;

  return new Promise((resolve) => {
    let done = false;
    let session: ClientHttp2Session | undefined;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      session?.destroy();
      resolve(r);
    };
    const timer = clock.setTimeout(() => finish(rpcError(4, 'context deadline exceeded')), timeoutMs);
    const onAbort = (): void => finish(rpcError(1, 'check stopped'));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) return onAbort();

    session = connect(authority, {
      ...(spec.useTls ? { rejectUnauthorized: !spec.tlsSkipVerify, ...(spec.tlsServerName ? { servername: spec.tlsServerName } : {}) } : {}),
    });
    session.on('error', (err) => finish(rpcError(14, `connection error: ${err.message}`)));

    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: HEALTH_CHECK_PATH,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      te: 'trailers',
      'grpc-timeout': grpcTimeout(timeoutMs),
      'user-agent': 'herald-health-check',
    });
    let headers: IncomingHttpHeaders | undefined;
    let trailers: IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    req.on('response', (h) => (headers = h));
    req.on('trailers', (h) => (trailers = h));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', (err: Error & { cause?: unknown }) => {
      // A stream cancelled because the connection failed carries the connection's error.
      if (err.cause instanceof Error) return finish(rpcError(14, `connection error: ${err.cause.message}`));
      finish(rpcError(14, `stream error: ${err.message}`));
    });
    req.on('close', () => {
      if (!headers) return finish(rpcError(14, `stream closed without a response (code ${req.rstCode})`));
      const httpStatus = Number(headers[constants.HTTP2_HEADER_STATUS]);
      // Trailers-only responses carry grpc-status in the headers.
      const st = trailers?.['grpc-status'] ?? headers['grpc-status'];
      const msg = trailers?.['grpc-message'] ?? headers['grpc-message'];
      if (st === undefined) {
        if (httpStatus !== 200) return finish(rpcError(codeForHttpStatus(httpStatus), `unexpected HTTP status code received from server: ${httpStatus}`));
        return finish(rpcError(13, 'server closed the stream without sending trailers'));
      }
      const code = Number(st);
      if (code !== 0) return finish(rpcError(code, decodeGrpcMessage(msg)));
      let status: number;
      try {
        const msgs = unframeMessages(Buffer.concat(chunks));
        if (msgs.length !== 1) return finish(rpcError(13, `expected 1 response message, got ${msgs.length}`));
        status = decodeHealthCheckResponse(msgs[0] as Buffer).status;
      } catch (err) {
        return finish(rpcError(13, (err as Error).message));
      }
      if (status === SERVING) return finish({ status: 'passing', output: `gRPC check ${spec.target}: success` });
      return finish({ status: 'critical', output: `gRPC ${spec.target} serving status: ${SERVING_STATUS_NAMES[status] ?? String(status)}` });
    });
    req.end(frameMessage(encodeHealthCheckRequest(t.service)));
  });
}
