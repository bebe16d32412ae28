/**
 * Typed errors the HTTP layer maps to status codes. Handlers throw these; the one error
 * middleware in `app.ts` turns them into a plain-text body like Consul's. Anything else is a
 * 500 whose message is logged and, like Consul, returned as text.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** 400: the message names the bad field or parameter. */
export class BadRequestError extends HttpError {
  override name = 'BadRequestError';
  constructor(message: string) {
    super(400, message);
  }
}

export class NotFoundError extends HttpError {
  override name = 'NotFoundError';
  constructor(message = '404 page not found') {
    super(404, message);
  }
}

export class MethodNotAllowedError extends HttpError {
  override name = 'MethodNotAllowedError';
  constructor(method: string, allowed: string[]) {
    super(405, `method ${method} not allowed`, { Allow: allowed.join(',') });
  }
}

export class PayloadTooLargeError extends HttpError {
  override name = 'PayloadTooLargeError';
  constructor(limit: number) {
    super(413, `Request body too large: the limit is ${limit} bytes`);
  }
}
