/**
 * Output capture with Consul's size limit: like its circular buffer, only the last `size`
 * bytes written are kept, and the total written is counted.
 */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private kept = 0;
  private total = 0;

  /** @param size bytes to keep; must be positive. */
  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`checks: output size must be a positive integer, got ${size}`);
  }

  /** Total bytes written so far (kept or not). */
  get totalWritten(): number {
    return this.total;
  }

  write(chunk: Buffer | string): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.total += b.length;
    this.chunks.push(b);
    this.kept += b.length;
    while (this.kept > this.size) {
      const first = this.chunks[0] as Buffer;
      const excess = this.kept - this.size;
      if (first.length <= excess) {
        this.chunks.shift();
        this.kept -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.kept -= excess;
      }
    }
  }

  /** The kept bytes as UTF-8; a character cut in half at the start is dropped. */
  text(): string {
    let b = Buffer.concat(this.chunks);
    if (this.total > this.kept) {
      let i = 0;
      while (i < b.length && i < 3 && ((b[i] as number) & 0xc0) === 0x80) i++;
      b = b.subarray(i);
    }
    return b.toString('utf8');
  }

  /** True when bytes were dropped. */
  get truncated(): boolean {
    return this.total > this.kept;
  }
}
