import type { ServerResponse } from 'node:http';
import type { ReadCancel } from '../../catalog/query.js';

/**
 * A {@link ReadCancel} for one HTTP request: it turns aborted when the response closes,
 * which before the answer means the client went away (and after it is harmless: every reader
 * has removed its listener by then). Cheaper than an AbortController per blocking request,
 * and the response's listener is never removed: it dies with the response.
 */
export class ClientGone implements ReadCancel {
  private flag = false;
  private listeners: Array<() => void> = [];

  constructor(res: ServerResponse) {
    if (res.closed) this.flag = true;
    else res.on('close', this.onClose);
  }

  get aborted(): boolean {
    return this.flag;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.flag) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  private readonly onClose = (): void => {
    if (this.flag) return;
    this.flag = true;
    const ls = this.listeners;
    this.listeners = [];
    for (const l of ls) l();
  };
}
