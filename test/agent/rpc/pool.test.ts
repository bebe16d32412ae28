import { expect } from 'chai';
import { ServerPool } from '../../../agent/rpc/pool.js';
import { RpcClient } from '../../../agent/rpc/client.js';
import { RpcError } from '../../../agent/rpc/errors.js';
import { ManualClock } from '../../../agent/runtime/clock.js';
import { SeededRng } from '../../../agent/runtime/rng.js';

describe('rpc server pool', () => {
  it('close() ends a call waiting to retry (no servers known) at once, and refuses later calls', async () => {
    const clock = new ManualClock();
    const client = new RpcClient(clock);
    const pool = new ServerPool({ client, clock, rng: new SeededRng(1), holdTimeoutMs: 7000 });
    try {
      const pending = pool.call('Catalog.Nodes', {}).then(
        () => 'resolved',
        (e: unknown) => e,
      );
      // The first attempt fails (no servers) and the call now waits on the clock to retry;
      // the clock never advances, so only close() can end it.
      await new Promise((r) => setImmediate(r));
      pool.close();
      const err = await pending;
      expect(err).to.be.instanceOf(RpcError);
      expect((err as RpcError).code).to.equal('Unavailable');
      expect((err as Error).message).to.match(/^rpc: agent is shutting down/);
      const later = await pool.call('Catalog.Nodes', {}).then(
        () => 'resolved',
        (e: unknown) => e,
      );
      expect(later).to.be.instanceOf(RpcError);
    } finally {
      client.close();
    }
  });
});
