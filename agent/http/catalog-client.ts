/**
 * The seam between the HTTP API and the catalog: what routes call to read and write it.
 * Today the agent passes a `CatalogEndpoint` in process; once agent↔server RPC exists, an RPC
 * client implements the same interface and forwards to a server (leader for writes and
 * default reads, any server for `stale`, ReadIndex for `consistent`).
 */
import type { CatalogQuery, CatalogQueryValue, CatalogReadRequest, CatalogReadResponse, ReadCancel } from '../../catalog/query.js';
import type { ApplyResult, Command } from '../../catalog/state/index.js';
import type { Consistency } from './query.js';

export interface CatalogClientReadRequest<Q extends CatalogQuery = CatalogQuery> extends CatalogReadRequest<Q> {
  consistency: Consistency;
}

export interface CatalogClient {
  /**
   * A catalog read with blocking-query semantics (see `CatalogEndpoint.read`). Rejects with a
   * `CatalogError` for a bad request or when there is no leader. `signal` cancels a blocked
   * read early (the client went away); it then answers with the last result.
   */
  read<Q extends CatalogQuery>(req: CatalogClientReadRequest<Q>, signal?: ReadCancel): Promise<CatalogReadResponse<CatalogQueryValue<Q>>>;
  /** Commits a write; `{ok: false}` when the state machine refused it (nothing changed). */
  write(cmd: Command): Promise<ApplyResult>;
}
