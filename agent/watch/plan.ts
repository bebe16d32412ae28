/**
 * Watch plans, like Consul's: a watch type plus its parameters name one blocking query of the
 * agent's HTTP API. Pure: no I/O.
 *
 * | type       | query                                          | result when absent |
 * | ---------- | ---------------------------------------------- | ------------------ |
 * | key        | GET /v1/kv/<key>  (the one entry, not a list)   | null               |
 * | keyprefix  | GET /v1/kv/<prefix>?recurse                     | []                 |
 * | services   | GET /v1/catalog/services                        |                    |
 * | nodes      | GET /v1/catalog/nodes                           |                    |
 * | service    | GET /v1/health/service/<service>[?tag][&passing]|                    |
 * | checks     | GET /v1/health/checks/<service> or /v1/health/state/<state, default any> | |
 * | event      | GET /v1/event/list[?name]                       |                    |
 */

export const WATCH_TYPES = ['key', 'keyprefix', 'services', 'nodes', 'service', 'checks', 'event'] as const;
export type WatchType = (typeof WATCH_TYPES)[number];

export interface WatchParams {
  type: WatchType;
  key?: string;
  prefix?: string;
  service?: string;
  tag?: string[];
  passingOnly?: boolean;
  state?: string;
  name?: string;
  datacenter?: string;
  /** `?stale` reads. */
  stale?: boolean;
}

export class WatchError extends Error {
  override name = 'WatchError';
}

export interface WatchQuery {
  /** Path and query string without the blocking parameters. */
  path: string;
  /** The answer a 404 stands for (the KV endpoints answer 404 for a missing key). */
  notFound?: unknown;
  /** Picks the watched value out of the decoded body. */
  extract(body: unknown): unknown;
}

/** Validates `p` and builds its query; throws {@link WatchError} naming the problem. */
export function watchQuery(p: WatchParams): WatchQuery {
  const q = new URLSearchParams();
  if (p.datacenter) q.set('dc', p.datacenter);
  if (p.stale) q.set('stale', '');
  const id = <T>(b: T): T => b;
  const need = (v: string | undefined, flag: string): string => {
    if (v === undefined || v === '') throw new WatchError(`watch: type "${p.type}" requires -${flag}`);
    return v;
  };
  let path: string;
  let notFound: unknown;
  let extract: (b: unknown) => unknown = id;
  switch (p.type) {
    case 'key': {
      path = `/v1/kv/${encodeKey(need(p.key, 'key'))}`;
      notFound = null;
      extract = (b) => (Array.isArray(b) ? (b[0] ?? null) : b);
      break;
    }
    case 'keyprefix':
      path = `/v1/kv/${encodeKey(p.prefix ?? '')}`;
      q.set('recurse', '');
      notFound = [];
      break;
    case 'services':
      path = '/v1/catalog/services';
      break;
    case 'nodes':
      path = '/v1/catalog/nodes';
      break;
    case 'service':
      path = `/v1/health/service/${encodeURIComponent(need(p.service, 'service'))}`;
      for (const t of p.tag ?? []) q.append('tag', t);
      if (p.passingOnly) q.set('passing', '');
      break;
    case 'checks':
      if (p.service && p.state) throw new WatchError('watch: type "checks" takes -service or -state, not both');
      if (p.service) path = `/v1/health/checks/${encodeURIComponent(p.service)}`;
      else {
        const state = p.state || 'any';
        if (!['any', 'passing', 'warning', 'critical'].includes(state)) throw new WatchError(`watch: invalid -state "${state}" (any, passing, warning or critical)`);
        path = `/v1/health/state/${state}`;
      }
      break;
    case 'event':
      path = '/v1/event/list';
      if (p.name) q.set('name', p.name);
      break;
    default:
      throw new WatchError(`watch: unknown type "${String((p as { type: unknown }).type)}" (one of ${WATCH_TYPES.join(', ')})`);
  }
  const qs = q.toString().replace(/=(&|$)/g, '$1');
  return { path: qs ? `${path}?${qs}` : path, ...(notFound !== undefined ? { notFound } : {}), extract };
}

/** KV keys keep their slashes in the path; every segment is percent-encoded. */
function encodeKey(k: string): string {
  return k.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');
}
