import { expect } from 'chai';
import { gunzipSync, gzipSync } from 'node:zlib';
import { packSnapshotArchive, SnapshotArchiveError, unpackSnapshotArchive } from '../../catalog/archive.js';

const state = new Uint8Array(Array.from({ length: 3000 }, (_, i) => i % 251));
const pack = () => packSnapshotArchive(state, { Index: 42, StateVersion: 2, Datacenter: 'dc1' }, 1_700_000_000_000);

function refused(bytes: Uint8Array): string {
  try {
    unpackSnapshotArchive(bytes);
  } catch (e) {
    expect(e).to.be.instanceOf(SnapshotArchiveError);
    return (e as Error).message;
  }
  throw new Error('accepted a bad archive');
}

describe('catalog/archive', () => {
  it('round-trips state and meta', () => {
    const { meta, state: back } = unpackSnapshotArchive(pack());
    expect(meta).to.deep.equal({ Version: 1, Index: 42, StateVersion: 2, Datacenter: 'dc1', Size: 3000, Created: '2023-11-14T22:13:20.000Z' });
    expect([...back]).to.deep.equal([...state]);
  });

  it('names what is wrong: truncation, gzip damage, altered content behind a valid gzip', () => {
    const a = pack();
    expect(refused(a.subarray(0, a.length - 10))).to.match(/archive is truncated/);
    expect(refused(new Uint8Array(0))).to.match(/archive is empty/);
    const damaged = Buffer.from(a);
    damaged[20] ^= 0x55;
    expect(refused(damaged)).to.match(/archive is (corrupt|truncated)/);
    // Alter one byte of state.bin and re-gzip: only the SHA-256 sum can tell.
    const tar = gunzipSync(a);
    tar[512 * 3 + 100] ^= 0x01;
    expect(refused(gzipSync(tar))).to.match(/checksum mismatch for state\.bin/);
    // A tar cut short inside a file.
    expect(refused(gzipSync(gunzipSync(a).subarray(0, 2000)))).to.match(/truncated/);
  });
});
