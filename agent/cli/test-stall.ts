/**
 * TEST-ONLY fault injection: with `HERALD_TEST_STALL_MS=N` in the environment the process
 * blocks its own event loop (a busy wait) for N ms every `HERALD_TEST_STALL_EVERY_MS`
 * (default 1000) ms, to play a host that is slow but alive (the fault suite's Lifeguard
 * scenario). Unset, as in production, nothing happens. The timer is unref'd, so it never
 * keeps a process alive. Values are clamped to sane ranges so a typo cannot wedge a host.
 *
 * @returns the interval handle when a stall was armed, for tests; undefined otherwise.
 */
export function startTestStall(env: NodeJS.ProcessEnv): NodeJS.Timeout | undefined {
  const ms = Number(env['HERALD_TEST_STALL_MS'] ?? '');
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  const every = Number(env['HERALD_TEST_STALL_EVERY_MS'] ?? '1000');
  const period = Number.isFinite(every) && every >= 10 ? every : 1000;
  const stall = Math.min(ms, period - 1, 10_000);
  const t = setInterval(() => {
    const until = performance.now() + stall;
    while (performance.now() < until) {
      // busy wait: the point is to block the event loop
    }
  }, period);
  t.unref();
  return t;
}
