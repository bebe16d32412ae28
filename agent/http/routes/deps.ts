import type { HttpDeps } from '../app.js';
import type { CatalogClient } from '../catalog-client.js';
import { HttpError } from '../errors.js';

/** The catalog client, or a 500 when this app was built without one. */
export function catalogOf(deps: HttpDeps): CatalogClient {
  if (deps.catalog === undefined) throw new HttpError(500, 'catalog: not available on this agent');
  return deps.catalog;
}

/** A dependency the route needs; its absence (a test app built without it) is a 500 naming it. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new HttpError(500, `agent: ${what} not available on this agent`);
  return value;
}
