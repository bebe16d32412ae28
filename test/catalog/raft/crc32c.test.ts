import { expect } from 'chai';
import { crc32c, crc32cBitwise } from '../../../catalog/raft/wal/crc32c.js';
import { SeededRng } from '../../../agent/runtime/rng.js';

describe('raft wal crc32c', () => {
  const vectors: Array<[string, number]> = [
    ['', 0x00000000],
    ['a', 0xc1d04330],
    ['123456789', 0xe3069283],
    ['The quick brown fox jumps over the lazy dog', 0x22620404],
  ];
  for (const [input, want] of vectors) {
    it(`crc32c(${JSON.stringify(input)}) = 0x${want.toString(16)}`, () => {
      expect(crc32c(Buffer.from(input))).to.equal(want);
      expect(crc32cBitwise(Buffer.from(input))).to.equal(want);
    });
  }

  it('matches the RFC 3720 iSCSI vectors (32 zero bytes, 32 0xff bytes, 0..31)', () => {
    expect(crc32c(new Uint8Array(32))).to.equal(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).to.equal(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).to.equal(0x46dd794e);
  });

  it('slicing-by-8 agrees with the bitwise reference on random inputs, and continues incrementally', () => {
    const seed = 4242;
    const rng = new SeededRng(seed);
    for (let n = 0; n < 200; n++) {
      const len = rng.int(100);
      const b = Uint8Array.from({ length: len }, () => rng.int(256));
      expect(crc32c(b), `seed ${seed} len ${len}`).to.equal(crc32cBitwise(b));
      const cut = len === 0 ? 0 : rng.int(len);
      expect(crc32c(b, crc32c(b, 0, 0, cut), cut), `seed ${seed} cut ${cut}`).to.equal(crc32c(b));
    }
  });
});
