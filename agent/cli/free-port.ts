/**
 * A TCP port for a local process to bind, for the build's code-cache training run and for
 * tests and benchmarks that start agents on 127.0.0.1.
 */
import { createServer, type AddressInfo } from 'node:net';

/** Ports this process handed out: the kernel may give a closed probe's port again, and two agents' ports must differ. */
const handedOut = new Set<number>();

/** A TCP port free on 127.0.0.1 a moment ago (the OS picks it), never one this process handed out before. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port on 127.0.0.1 after 50 tries');
}
