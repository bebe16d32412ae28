import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';

export { freePort } from '../../agent/cli/free-port.js';

export async function serveApp(app: Koa): Promise<{ url: string; close: () => Promise<void> }> {
  return serveListener(app.callback());
}

/** Serves a request listener on an ephemeral 127.0.0.1 port; returns its base URL and a closer. */
export async function serveListener(listener: RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
