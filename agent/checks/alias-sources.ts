/**
 * Where alias checks read the aliased checks from (see {@link AliasFetch}):
 * - {@link localAliasFetch}: this agent's own local state, for an alias without AliasNode. It
 *   blocks like a query: the index is a counter of local-state changes, and a fetch with
 *   `minIndex` equal to the current counter waits for the next change (or `maxWaitMs`).
 * - {@link catalogAliasFetch}: a blocking `nodeChecks` read through the agent's
 *   {@link CatalogClient} (Consul's `/v1/health/node/:node`), for an alias naming a node.
 */
import type { Clock } from '../runtime/clock.js';
import type { LocalState } from '../local/state.js';
import type { CatalogClient } from '../http/catalog-client.js';
import type { AliasFetch, AliasSnapshot } from './alias.js';

/** Consul's default blocking wait. */
const DEFAULT_MAX_WAIT_MS = 5 * 60_000;

/**
 * Alias reads of local state. `nodeName` is put in the Node field of every check.
 * `forCheck(id)` is the fetch for alias check `id`, which never sees itself (its own status
 * would feed back into its result). `close` unsubscribes from local state (at shutdown).
 */
export function localAliasFetch(local: LocalState, nodeName: string, clock: Clock, maxWaitMs = DEFAULT_MAX_WAIT_MS): { forCheck(checkId: string): AliasFetch; close(): void } {
  let index = 1;
  const waiters = new Set<() => void>();
  const unsubscribe = local.subscribe(() => {
    index++;
    for (const w of [...waiters]) w();
  });
  const snapshot = (serviceId: string | undefined, self: string): AliasSnapshot => ({
    index,
    checks: local.checks().filter((c) => c.CheckID !== self).map((c) => ({ Node: nodeName, Name: c.Name, Status: c.Status, Output: c.Output, ServiceID: c.ServiceID })),
    ...(serviceId ? { serviceExists: local.service(serviceId) !== undefined } : {}),
  });
  const forCheck = (self: string): AliasFetch => async (query, minIndex, signal) => {
    if (minIndex > 0 && minIndex >= index && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          waiters.delete(done);
          clock.clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = clock.setTimeout(done, maxWaitMs);
        waiters.add(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
    return snapshot(query.serviceId, self);
  };
  return {
    forCheck,
    close: () => {
      unsubscribe();
      for (const w of [...waiters]) w();
    },
  };
}

/**
 * Alias reads of a node's checks through the catalog, as blocking queries. The alias check
 * itself (`self` on node `localNode`) is left out of the answer.
 */
export function catalogAliasFetch(catalog: CatalogClient, localNode: string, self: string, maxWaitMs = DEFAULT_MAX_WAIT_MS): AliasFetch {
  return async (query, minIndex, signal) => {
    const r = await catalog.read({ query: { op: 'nodeChecks', node: query.node }, minIndex, waitMs: maxWaitMs, consistency: 'default' }, signal);
    return { index: r.index, checks: r.value.filter((c) => !(c.Node === localNode && c.CheckID === self)) };
  };
}
