/**
 * KV entry flags: Consul's opaque unsigned 64-bit integer. JavaScript numbers are exact only
 * up to 2^53 − 1, and Consul's own lock and semaphore helpers use flag values above that
 * (0x2ddccbc058a50c18, 0xe0f69a2baa414de0), so flags travel as `number | bigint`.
 *
 * Canonical form (every function here returns it, and the state machine stores only it): a
 * `number` when the value is a safe integer, a `bigint` otherwise. Equal flags then have
 * equal representations, `===` compares them, and msgpack round-trips them exactly.
 */

export type KVFlags = number | bigint;

/** The largest flags value, 2^64 − 1. */
export const MAX_FLAGS = (1n << 64n) - 1n;

/**
 * The canonical form of `v`, or undefined when `v` is not an integer in [0, 2^64 − 1]
 * (non-integers, negatives, unsafe numbers that have already lost precision, other types).
 */
export function canonicalFlags(v: unknown): KVFlags | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'bigint' || v < 0n || v > MAX_FLAGS) return undefined;
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Parses decimal flags text (digits only, at most 2^64 − 1) into canonical form; undefined when invalid. */
export function parseFlags(text: string): KVFlags | undefined {
  if (!/^\d{1,20}$/.test(text)) return undefined;
  return canonicalFlags(BigInt(text));
}
