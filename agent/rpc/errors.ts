/**
 * RPC failures that cross the wire keep their `code`, so a client can tell "retry on another
 * server" (NoLeader, Unavailable) from "the request itself is wrong" (BadRequest).
 */
export type RpcErrorCode = 'NoLeader' | 'NotLeader' | 'BadRequest' | 'NotFound' | 'Unavailable' | 'Timeout' | 'Internal' | 'UnknownMethod';

export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    readonly code: RpcErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Codes after which the same request may succeed on another server or a bit later. */
export function isRetryable(code: RpcErrorCode): boolean {
  return code === 'NoLeader' || code === 'NotLeader' || code === 'Unavailable' || code === 'Timeout';
}
