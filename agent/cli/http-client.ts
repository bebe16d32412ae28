import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CliError } from './io.js';

/** Default agent HTTP address, as Consul's CLI. */
export const DEFAULT_HTTP_ADDR = '127.0.0.1:8500';

/**
 * Resolves the agent's HTTP base URL from `--http-addr`, then `HERALD_HTTP_ADDR`, then
 * `CONSUL_HTTP_ADDR`, then the default. Accepts `host:port`, `[v6]:port` or an
 * `http(s)://` URL; anything else is a CliError naming the source.
 */
export function resolveHttpAddr(flag: string | undefined, env: NodeJS.ProcessEnv): URL {
  const [value, source] =
    flag !== undefined
      ? [flag, '-http-addr']
      : env['HERALD_HTTP_ADDR']
        ? [env['HERALD_HTTP_ADDR'], 'HERALD_HTTP_ADDR']
        : env['CONSUL_HTTP_ADDR']
          ? [env['CONSUL_HTTP_ADDR'], 'CONSUL_HTTP_ADDR']
          : [DEFAULT_HTTP_ADDR, 'default'];
  return parseHttpAddr(value, source);
}

export function parseHttpAddr(value: string, source = '-http-addr'): URL {
  const v = value.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `http://${v}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(`${source}: invalid address "${value}" (use host:port or http://host:port)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`${source}: unsupported scheme "${url.protocol}" in "${value}" (use http or https)`);
  }
  if (!url.hostname) throw new CliError(`${source}: missing host in "${value}"`);
  if (url.pathname !== '/' || url.search) throw new CliError(`${source}: "${value}" must not have a path or query`);
  if (!url.port) url.port = url.protocol === 'https:' ? '8501' : '8500';
  return url;
}

/** A small JSON client for the agent's HTTP API, with CLI-friendly errors. */
export class AgentClient {
  constructor(
    readonly base: URL,
    private readonly timeoutMs = 10_000,
  ) {}

  /**
   * One request over node:http (not fetch: fetch refuses some ports outright). Network
   * failures become a CliError naming the agent's address and the system error code.
   */
  request(
    method: string,
    path: string,
    body?: unknown,
    opts: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<{ status: number; text: string; bytes: Buffer; headers: IncomingHttpHeaders }> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const url = new URL(path, this.base);
    const payload =
      body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = {};
      // Without an explicit length Node sends no body framing for DELETE, and the body is lost.
      if (payload !== undefined) headers['Content-Length'] = Buffer.byteLength(payload);
      const req = send(url, { method, timeout: timeoutMs, headers, signal: opts.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, text: bytes.toString('utf8'), bytes, headers: res.headers });
        });
        res.on('error', (e) => reject(this.networkError(e)));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (e) => reject(this.networkError(e)));
      req.end(payload);
    });
  }

  private networkError(e: Error): CliError {
    return new CliError(`cannot reach the Herald agent at ${this.base.host}: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
  }

  /** GET/PUT returning parsed JSON; a non-2xx answer becomes a CliError with the agent's message. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.request(method, path, body);
    if (r.status < 200 || r.status > 299) {
      throw new CliError(`Unexpected response code: ${r.status} (${r.text.trim()})`);
    }
    return JSON.parse(r.text) as T;
  }
}
