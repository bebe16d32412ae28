/**
 * Push-pull: a periodic full-state exchange with one random member over TCP, also used on
 * join. It repairs whatever gossip lost and lets partitions re-merge.
 */

/** Members up to which the push-pull interval is not scaled (memberlist pushPullScaleThreshold). */
export const PUSH_PULL_SCALE_THRESHOLD = 32;

/**
 * memberlist `pushPullScale`: the push-pull interval is unchanged up to 32 members, then
 * multiplied by `ceil(log2(n) - log2(32)) + 1`.
 */
export function pushPullScale(interval: number, n: number): number {
  if (n <= PUSH_PULL_SCALE_THRESHOLD) return interval;
  const multiplier = Math.ceil(Math.log2(n) - Math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1;
  return interval * multiplier;
}
