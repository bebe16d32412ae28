import type { Clock, TimerHandle } from './clock.js';

/**
 * A background loop that can be stopped at any point: `stop()` aborts the request in flight
 * (through {@link abort}), cuts a {@link sleep} short, and resolves once `run()` returned.
 * Subclasses write `run()` as a plain `while (!this.stopped)` loop.
 */
export abstract class StoppableLoop {
  protected stopped = false;
  /** The controller of the request in flight, if any; stop() aborts it. */
  protected abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private timer: TimerHandle | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly loopClock: Clock) {}

  protected abstract run(): Promise<void>;

  start(): void {
    if (this.loop || this.stopped) return;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.loopClock.clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
  }

  /** Waits `ms` on the injected clock, or less if stop() is called meanwhile. */
  protected sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = this.loopClock.setTimeout(resolve, ms);
    });
  }
}
