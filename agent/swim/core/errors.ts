/** Errors raised by the gossip layer; messages start with "swim:". */
export class SwimError extends Error {
  override name = 'SwimError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message.startsWith('swim:') ? message : `swim: ${message}`, options);
  }
}
