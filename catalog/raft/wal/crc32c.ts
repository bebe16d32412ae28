/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven, slicing-by-8.
 * Check value: crc32c("123456789") === 0xE3069283. Used for every WAL record, segment
 * header and snapshot file.
 */

const POLY = 0x82f63b78;

/** Eight 256-entry tables: TABLE[k*256 + b] is the CRC of byte b followed by k zero bytes. */
const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) {
      const prev = t[(k - 1) * 256 + i] as number;
      t[k * 256 + i] = ((prev >>> 8) ^ (t[prev & 0xff] as number)) >>> 0;
    }
  }
  return t;
})();

/**
 * Continues a CRC-32C over `data[start, end)`. `crc` is a previous result (0 to begin), so
 * `crc32c(b, crc32c(a)) === crc32c(a ++ b)`.
 */
export function crc32c(data: Uint8Array, crc = 0, start = 0, end = data.length): number {
  const t = TABLE;
  let c = ~crc;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    const lo = c ^ ((data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24));
    const hi = (data[i + 4] as number) | ((data[i + 5] as number) << 8) | ((data[i + 6] as number) << 16) | ((data[i + 7] as number) << 24);
    c =
      (t[1792 + (lo & 0xff)] as number) ^
      (t[1536 + ((lo >>> 8) & 0xff)] as number) ^
      (t[1280 + ((lo >>> 16) & 0xff)] as number) ^
      (t[1024 + (lo >>> 24)] as number) ^
      (t[768 + (hi & 0xff)] as number) ^
      (t[512 + ((hi >>> 8) & 0xff)] as number) ^
      (t[256 + ((hi >>> 16) & 0xff)] as number) ^
      (t[hi >>> 24] as number);
    i += 8;
  }
  while (i < end) {
    c = (t[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
    i++;
  }
  return ~c >>> 0;
}

/** Bit-at-a-time reference implementation; only for tests of the table-driven one. */
export function crc32cBitwise(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  }
  return ~c >>> 0;
}
