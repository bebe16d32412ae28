import type { HttpDeps } from '../app.js';
import type { CatalogClient } from '../catalog-client.js';
import { HttpError } from '../errors.js';

/** The catalog client, or a 500 when this app was built without one. */
export function catalogOf(deps: HttpDeps): CatalogClient {
  if (deps.catalog === undefined) throw new HttpError(500, 'catalog: not available on this agent');
  return deps.catalog;
}
