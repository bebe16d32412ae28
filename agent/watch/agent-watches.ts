/**
 * Watches declared in the agent config (`watches`, Consul's format), run inside the agent
 * against its own HTTP API:
 *
 * ```json
 * {"type": "service", "service": "web", "passingonly": true,
 *  "handler_type": "http",
 *  "http_handler_config": {"path": "https://pager.example/hook", "method": "POST",
 *                          "header": {"x-token": ["t"]}, "timeout": "10s", "tls_skip_verify": false}}
 * {"type": "checks", "state": "critical", "handler_type": "script", "args": ["/usr/local/bin/page"]}
 * ```
 *
 * Contract: definitions are validated up front ({@link parseWatchConfig} throws naming the
 * entry); once running, a failing handler or query is logged and the watch goes on — nothing
 * here ever throws into the agent.
 */
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import { parseDuration } from '../config/duration.js';
import { AgentClient } from '../cli/http-client.js';
import { WATCH_TYPES, WatchError, watchQuery, type WatchParams, type WatchType } from './plan.js';
import { Watcher, type WatchFetch, type WatchHandler } from './watcher.js';
import { httpHandler, scriptHandler } from './handlers.js';

export type HandlerSpec =
  | { kind: 'script'; args?: string[]; shell?: string; timeoutMs?: number }
  | { kind: 'http'; url: string; method?: string; header?: Record<string, string[]>; timeoutMs?: number; tlsSkipVerify?: boolean };

export interface WatchDefinition {
  params: WatchParams;
  handler: HandlerSpec;
}

const str = (v: unknown, what: string): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new WatchError(`${what}: must be a string`);
  return v;
};

/** Validates one `watches` entry. Keys are matched case-insensitively, `_` ignored. */
export function parseWatchConfig(raw: unknown, where = 'watch'): WatchDefinition {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new WatchError(`${where}: must be an object`);
  const v: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(raw as Record<string, unknown>)) v[k.toLowerCase().replace(/_/g, '')] = val;
  const type = str(v['type'], `${where}.type`);
  if (!type || !(WATCH_TYPES as readonly string[]).includes(type)) throw new WatchError(`${where}.type: must be one of ${WATCH_TYPES.join(', ')} (got ${JSON.stringify(v['type'])})`);
  const tagRaw = v['tag'];
  const tag = tagRaw === undefined ? undefined : Array.isArray(tagRaw) ? tagRaw.map((t, i) => str(t, `${where}.tag[${i}]`)!) : [str(tagRaw, `${where}.tag`)!];
  const params: WatchParams = {
    type: type as WatchType,
    ...(str(v['key'], `${where}.key`) !== undefined ? { key: v['key'] as string } : {}),
    ...(str(v['prefix'], `${where}.prefix`) !== undefined ? { prefix: v['prefix'] as string } : {}),
    ...(str(v['service'], `${where}.service`) !== undefined ? { service: v['service'] as string } : {}),
    ...(str(v['state'], `${where}.state`) !== undefined ? { state: v['state'] as string } : {}),
    ...(str(v['name'], `${where}.name`) !== undefined ? { name: v['name'] as string } : {}),
    ...(str(v['datacenter'], `${where}.datacenter`) !== undefined ? { datacenter: v['datacenter'] as string } : {}),
    ...(tag ? { tag } : {}),
    ...(v['passingonly'] === true ? { passingOnly: true } : {}),
    ...(v['stale'] === true ? { stale: true } : {}),
  };
  try {
    watchQuery(params);
  } catch (e) {
    throw new WatchError(`${where}: ${(e as Error).message.replace(/^watch: /, '').replace(/-(\w+)/, '"$1"')}`);
  }
  const handlerType = str(v['handlertype'], `${where}.handler_type`) ?? (v['httphandlerconfig'] ? 'http' : 'script');
  let handler: HandlerSpec;
  const timeout = (x: unknown, what: string): number | undefined => {
    const s = str(x, what);
    if (s === undefined) return undefined;
    try {
      return parseDuration(s);
    } catch (e) {
      throw new WatchError(`${what}: ${(e as Error).message}`);
    }
  };
  if (handlerType === 'script') {
    const args = v['args'];
    const shell = str(v['handler'], `${where}.handler`);
    if (args !== undefined && (!Array.isArray(args) || args.length === 0 || !args.every((a) => typeof a === 'string'))) {
      throw new WatchError(`${where}.args: must be a non-empty list of strings`);
    }
    if (!args && !shell) throw new WatchError(`${where}: a script handler needs "args" (or "handler")`);
    if (args && shell) throw new WatchError(`${where}: give "args" or "handler", not both`);
    const t = timeout(v['timeout'], `${where}.timeout`);
    handler = { kind: 'script', ...(args ? { args: args as string[] } : { shell: shell! }), ...(t !== undefined ? { timeoutMs: t } : {}) };
  } else if (handlerType === 'http') {
    const c = v['httphandlerconfig'];
    if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new WatchError(`${where}.http_handler_config: required for handler_type "http"`);
    const h: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(c as Record<string, unknown>)) h[k.toLowerCase().replace(/_/g, '')] = val;
    const url = str(h['path'], `${where}.http_handler_config.path`);
    if (!url || !/^https?:\/\//.test(url)) throw new WatchError(`${where}.http_handler_config.path: must be an http:// or https:// URL`);
    const header = h['header'];
    if (header !== undefined && (typeof header !== 'object' || header === null || !Object.values(header).every((x) => Array.isArray(x) && x.every((s) => typeof s === 'string')))) {
      throw new WatchError(`${where}.http_handler_config.header: must map names to lists of strings`);
    }
    const t = timeout(h['timeout'], `${where}.http_handler_config.timeout`);
    const method = str(h['method'], `${where}.http_handler_config.method`);
    handler = {
      kind: 'http',
      url,
      ...(method ? { method: method.toUpperCase() } : {}),
      ...(header ? { header: header as Record<string, string[]> } : {}),
      ...(t !== undefined ? { timeoutMs: t } : {}),
      ...(h['tlsskipverify'] === true ? { tlsSkipVerify: true } : {}),
    };
  } else {
    throw new WatchError(`${where}.handler_type: must be "script" or "http" (got "${handlerType}")`);
  }
  return { params, handler };
}

/** Builds the handler function of a definition. */
export function makeHandler(spec: HandlerSpec, clock: Clock, logger: Logger): WatchHandler {
  if (spec.kind === 'script') {
    return scriptHandler({ ...(spec.args ? { args: spec.args } : {}), ...(spec.shell !== undefined ? { shell: spec.shell } : {}), ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}), clock, logger });
  }
  const { kind: _kind, ...rest } = spec;
  return httpHandler({ ...rest, clock, logger });
}

/** A {@link WatchFetch} over an agent's HTTP API. `waitMs` bounds each blocking query. */
export function agentFetch(base: URL, waitMs = 5 * 60_000): WatchFetch {
  const client = new AgentClient(base, waitMs + waitMs / 16 + 30_000);
  return async (path, signal) => {
    const r = await client.request('GET', path, undefined, signal ? { signal } : {});
    const raw = r.headers['x-consul-index'];
    const index = Number(Array.isArray(raw) ? raw[0] : raw ?? 0);
    return { status: r.status, text: r.text, index: Number.isFinite(index) ? index : 0 };
  };
}

/** The agent's own HTTP API as a watch source: its first bound address (a wildcard bind → loopback). */
export function selfFetch(addresses: Array<{ address: string; port: number }>): WatchFetch | undefined {
  const a = addresses[0];
  if (!a) return undefined;
  const host = a.address === '0.0.0.0' ? '127.0.0.1' : a.address === '::' ? '::1' : a.address;
  return agentFetch(new URL(`http://${host.includes(':') ? `[${host}]` : host}:${a.port}`));
}

export interface AgentWatchesOptions {
  clock: Clock;
  logger: Logger;
  /** The agent's HTTP API; undefined when it has none (watches then cannot run). */
  fetch: WatchFetch | undefined;
}

export class AgentWatches {
  private watchers: Watcher[] = [];
  private readonly log: Logger;

  constructor(private readonly o: AgentWatchesOptions) {
    this.log = o.logger.child({ component: 'watch' });
  }

  /** Validates every definition; throws naming the first bad one. */
  static parseAll(raws: unknown[]): WatchDefinition[] {
    return raws.map((r, i) => parseWatchConfig(r, `watches[${i}]`));
  }

  /** Starts one watcher per definition (after stopping the ones running). */
  async start(defs: WatchDefinition[]): Promise<void> {
    await this.stop();
    if (defs.length > 0 && !this.o.fetch) {
      this.log.error('watches need the HTTP API (ports.http >= 0); none started');
      return;
    }
    for (const d of defs) {
      try {
        const w = new Watcher({ params: d.params, fetch: this.o.fetch!, handler: makeHandler(d.handler, this.o.clock, this.o.logger), clock: this.o.clock, logger: this.o.logger });
        w.start();
        this.watchers.push(w);
      } catch (e) {
        this.log.error(`watch of type ${d.params.type} not started: ${(e as Error).message}`);
      }
    }
    if (defs.length) this.log.info(`started ${this.watchers.length} watches`);
  }

  async stop(): Promise<void> {
    const ws = this.watchers;
    this.watchers = [];
    await Promise.all(ws.map((w) => w.stop()));
  }

  get size(): number {
    return this.watchers.length;
  }
}
