/**
 * HTTP check probe, Consul's semantics: one request (redirects followed unless disabled),
 * 2xx → passing, 429 → warning, anything else → critical. Output is
 * `HTTP <METHOD> <url>: <code> <reason> Output: <body>` with the body cut to its last
 * `outputMaxSize` bytes; a request that fails outright is critical with the error text.
 * No keep-alive: every probe opens a fresh connection.
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { formatDuration } from '../config/duration.js';
import type { Clock } from '../runtime/clock.js';
import { TailBuffer } from './output.js';
import { effectiveTimeoutMs } from './runner.js';
import type { HttpCheckSpec, ProbeResult } from './types.js';

export const USER_AGENT = 'Consul Health Check';
export const ACCEPT = 'text/plain, text/*, */*';
/** Go's http.Client stops after this many redirects. */
const MAX_REDIRECTS = 10;

/** Runs one HTTP probe. Resolves (never rejects); aborting `signal` ends it promptly. */
export async function probeHttp(spec: HttpCheckSpec, clock: Clock, signal?: AbortSignal): Promise<ProbeResult> {
  const timeoutMs = effectiveTimeoutMs(spec);
  const ac = new AbortController();
  let timedOut = false;
  const timer = clock.setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, timeoutMs);
  const onOuterAbort = (): void => ac.abort();
  signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (signal?.aborted) ac.abort();
  const op = spec.method.charAt(0) + spec.method.slice(1).toLowerCase();
  try {
    let url = new URL(spec.url);
    let method = spec.method;
    let body = spec.body;
    for (let redirects = 0; ; redirects++) {
      const res = await send(url, method, body, spec, ac.signal);
      const loc = res.headers.location;
      if (!spec.disableRedirects && isRedirect(res.statusCode ?? 0) && loc) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) {
          return { status: 'critical', output: `${op} "${url.href}": stopped after ${MAX_REDIRECTS} redirects` };
        }
        const code = res.statusCode ?? 0;
        if ((code === 301 || code === 302 || code === 303) && method !== 'GET' && method !== 'HEAD') {
          method = 'GET';
          body = '';
        }
        url = new URL(loc, url);
        continue;
      }
      const out = new TailBuffer(spec.outputMaxSize);
      try {
        for await (const chunk of res) out.write(chunk as Buffer);
      } catch {
        // A body cut short (or the timeout) still yields the status line and what arrived.
      }
      const code = res.statusCode ?? 0;
      const statusLine = `${code} ${res.statusMessage ?? ''}`.trimEnd();
      const output = `HTTP ${spec.method} ${spec.url}: ${statusLine} Output: ${out.text()}`;
      if (code >= 200 && code <= 299) return { status: 'passing', output };
      if (code === 429) return { status: 'warning', output };
      return { status: 'critical', output };
    }
  } catch (err) {
    const why = timedOut
      ? `timeout after ${formatDuration(timeoutMs)} (Client.Timeout exceeded)`
      : ac.signal.aborted
        ? 'check stopped'
        : (err as Error).message || String(err);
    return { status: 'critical', output: `${op} "${spec.url}": ${why}` };
  } finally {
    clock.clearTimeout(timer);
    signal?.removeEventListener('abort', onOuterAbort);
  }
}

function isRedirect(code: number): boolean {
  return code === 301 || code === 302 || code === 303 || code === 307 || code === 308;
}

function send(url: URL, method: string, body: string, spec: HttpCheckSpec, signal: AbortSignal): Promise<IncomingMessage> {
  const headers: OutgoingHttpHeaders = {};
  const lower = new Set<string>();
  for (const [name, values] of Object.entries(spec.header)) {
    if (values.length === 0) continue;
    headers[name] = values.length === 1 ? (values[0] as string) : values;
    lower.add(name.toLowerCase());
  }
  if (!lower.has('user-agent')) headers['User-Agent'] = USER_AGENT;
  if (!lower.has('accept')) headers['Accept'] = ACCEPT;
  if (body !== '' && !lower.has('content-length')) headers['Content-Length'] = Buffer.byteLength(body);
  const https = url.protocol === 'https:';
  const opts = {
    method,
    headers,
    agent: false as const,
    signal,
    // SNI comes from TLSServerName or the URL's host, never from a Host header (as in Go);
    // an IP address sends no SNI.
    ...(https ? { rejectUnauthorized: !spec.tlsSkipVerify, servername: spec.tlsServerName ?? (isIP(url.hostname.replace(/^\[|\]$/g, '')) ? '' : url.hostname) } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(url, opts, (res) => {
      // An abort after the headers arrived must not surface as an unhandled 'error'.
      res.on('error', () => {});
      resolve(res);
    });
    req.on('error', reject);
    req.end(body === '' ? undefined : body);
  });
}
