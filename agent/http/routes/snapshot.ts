/**
 * `/v1/snapshot`: save and restore the whole state machine (catalog, KV, sessions).
 *
 * - GET answers the archive of catalog/archive.ts (gzipped tar with SHA-256 sums), read from
 *   the leader (or, with `?stale`, from this agent's server), with X-Consul-Index.
 * - PUT takes such an archive as the body and verifies it completely (gzip, tar, checksums,
 *   the state's own decoding) before anything changes; a bad archive is a 400 naming the
 *   problem. A good one is committed as one Restore command through Raft, so every server
 *   installs the same state at the same log index.
 */
import type { RouteModule } from '../app.js';
import { readBody } from '../body.js';
import { BadRequestError, HttpError } from '../errors.js';
import { readWithMeta } from '../read.js';
import { commitValue, now } from './kv.js';
import { packSnapshotArchive, SnapshotArchiveError, unpackSnapshotArchive } from '../../../catalog/archive.js';
import { CommandType, SNAPSHOT_VERSION, SnapshotError, StateStore } from '../../../catalog/state/index.js';

/** Largest archive a restore accepts. */
export const MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024;

export const snapshotRoutes: RouteModule = (router, deps) => {
  router.get('/v1/snapshot', async (ctx) => {
    const snap = await readWithMeta(ctx, deps, { op: 'snapshot' });
    const body = packSnapshotArchive(snap.data, { Index: snap.index, StateVersion: SNAPSHOT_VERSION, Datacenter: deps.config.datacenter }, now(deps));
    ctx.type = 'application/x-gzip';
    ctx.set('Content-Disposition', 'attachment; filename="state.snap"');
    ctx.body = body;
  });

  router.put('/v1/snapshot', async (ctx) => {
    const archive = await readBody(ctx, MAX_SNAPSHOT_BYTES);
    let state: Buffer;
    try {
      state = unpackSnapshotArchive(archive).state;
      new StateStore().restore(state);
    } catch (e) {
      if (e instanceof SnapshotArchiveError || e instanceof SnapshotError) throw new BadRequestError(`Snapshot refused, nothing changed: ${e.message}`);
      throw e;
    }
    const ok = await commitValue(deps, { type: CommandType.Restore, req: { Data: state } });
    if (ok !== true) throw new HttpError(500, 'snapshot: restore was not applied');
    ctx.status = 200;
    ctx.body = '';
  });
};
