/**
 * Lifeguard local health awareness. The score rises when this node misses acks or nacks it
 * should have received (its own slowness is the likely cause) and when it must refute a
 * suspicion about itself, and falls on every successful probe. Probe interval and probe
 * timeout are multiplied by (score + 1), so a struggling node probes less and waits longer
 * before accusing others.
 */
export class Awareness {
  private score = 0;

  /** @param max score ranges over 0..max-1 (memberlist AwarenessMaxMultiplier = 8). */
  constructor(private readonly max: number) {}

  applyDelta(delta: number): void {
    this.score = clampScore(this.score + delta, this.max);
  }

  getScore(): number {
    return this.score;
  }

  /** `ticks` scaled by the current score. */
  scale(ticks: number): number {
    return scaleByAwareness(ticks, this.score);
  }
}

/** Score clamped to 0..max-1. */
export function clampScore(score: number, max: number): number {
  return Math.min(Math.max(score, 0), Math.max(0, max - 1));
}

/** Lifeguard scaling: duration × (score + 1). */
export function scaleByAwareness(duration: number, score: number): number {
  return duration * (score + 1);
}
