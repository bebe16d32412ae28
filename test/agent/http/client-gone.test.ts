import { expect } from 'chai';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClientGone } from '../../../agent/http/client-gone.js';

/** A server on 127.0.0.1 and one client request to it; `res` is the server's response. */
async function oneRequest(): Promise<{ res: ServerResponse; abortClient: () => void; close: () => Promise<void> }> {
  let got!: (res: ServerResponse) => void;
  const resP = new Promise<ServerResponse>((r) => (got = r));
  const server = createServer((_req, res) => got(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const req = request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/' });
  req.on('error', () => undefined);
  req.end();
  return {
    res: await resP,
    abortClient: () => req.destroy(),
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

describe('agent/http/client-gone: ClientGone', () => {
  it('aborts once, calling every listener still registered, when the client goes away', async () => {
    const t = await oneRequest();
    const gone = new ClientGone(t.res);
    const calls: string[] = [];
    const a = (): void => void calls.push('a');
    const b = (): void => void calls.push('b');
    gone.addEventListener('abort', a);
    gone.addEventListener('abort', b);
    gone.removeEventListener('abort', a);
    expect(gone.aborted).to.equal(false);
    t.abortClient();
    for (let i = 0; i < 100 && !gone.aborted; i++) await new Promise((r) => setTimeout(r, 10));
    expect(gone.aborted).to.equal(true);
    expect(calls).to.deep.equal(['b']);
    gone.addEventListener('abort', a);
    expect(calls, 'a listener added after the abort is not called').to.deep.equal(['b']);
    await t.close();
  });

  it('a response already closed is aborted from the start', async () => {
    const t = await oneRequest();
    const closed = new Promise<void>((r) => t.res.on('close', () => r()));
    t.res.end('x');
    await closed;
    expect(new ClientGone(t.res).aborted).to.equal(true);
    await t.close();
  });
});
