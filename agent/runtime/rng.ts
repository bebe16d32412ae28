/**
 * Seeded pseudo-random numbers (sfc32). Every component that needs randomness takes an
 * {@link Rng}, so a simulation replays exactly from its seed.
 */
import type { Rng } from '../../catalog/runtime.js';

export type { Rng };

function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Small fast counter generator (Chris Doty-Humphrey's sfc32), 128 bits of state. */
export class SeededRng implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** @param seed any integer; equal seeds give equal sequences. */
  constructor(readonly seed: number) {
    this.a = mix32(seed ^ 0x9e3779b9);
    this.b = mix32(seed + 0x243f6a88);
    this.c = mix32(seed ^ 0xb7e15162);
    this.d = 1;
    for (let i = 0; i < 15; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.u32() / 4294967296;
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`rng: int(n) needs a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i] as T;
      arr[i] = arr[j] as T;
      arr[j] = tmp;
    }
    return arr;
  }

  fork(): Rng {
    return new SeededRng(this.u32());
  }
}

/** A generator seeded from the system's entropy, for production use. */
export function randomRng(): SeededRng {
  const buf = new Uint32Array(1);
  globalThis.crypto.getRandomValues(buf);
  return new SeededRng(buf[0] as number);
}
