/**
 * Typed errors of the catalog state machine. Messages carry the `catalog/state:` prefix.
 *
 * - {@link StateError}: a read was given bad input (e.g. an unknown health state); the HTTP
 *   layer answers 400 with the message.
 * - {@link CommandDecodeError}: bytes that are not a valid encoded command.
 * - {@link SnapshotError}: bytes that are not a valid snapshot of a supported version.
 * - {@link StateInvariantError}: a broken invariant (e.g. a Raft index that does not move
 *   forward). Never caught: it means a bug, not bad input.
 *
 * Validation failures of a command (missing node, check for a missing service, ...) are not
 * thrown: `apply` returns them as an error result, because a committed command that fails
 * validation must fail identically on every server.
 */
export class StateError extends Error {
  override name = 'StateError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`catalog/state: ${message}`, options);
  }
}

export class CommandDecodeError extends Error {
  override name = 'CommandDecodeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`catalog/state: bad command: ${message}`, options);
  }
}

export class SnapshotError extends Error {
  override name = 'SnapshotError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`catalog/state: bad snapshot: ${message}`, options);
  }
}

export class StateInvariantError extends Error {
  override name = 'StateInvariantError';
  constructor(message: string) {
    super(`catalog/state: invariant broken: ${message}`);
  }
}
