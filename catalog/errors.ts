/**
 * Errors of the catalog service (`CatalogEndpoint`). They travel as plain data over RPC later:
 * `code` says how an HTTP layer should answer, `message` is the text to show.
 */
export type CatalogErrorCode =
  /** The request itself is wrong (bad filter, unknown check state): HTTP 400. */
  | 'bad-request'
  /** A write was refused by the state machine's validation (missing node, bad port): HTTP 400. */
  | 'rejected'
  /** No leader to serve a write or a consistent read: HTTP 500 "No cluster leader". */
  | 'no-leader';

export class CatalogError extends Error {
  override name = 'CatalogError';
  constructor(
    readonly code: CatalogErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
