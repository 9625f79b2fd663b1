/**
 * A bounded byte history: keeps the last `capacity` bytes appended, dropping the oldest.
 * Used for each VM's serial console so a console that connects late sees what came before.
 */

/** Fixed-capacity ring of bytes (oldest dropped first). */
export class ByteRing {
  private readonly buf: Uint8Array;
  private start = 0;
  private used = 0;

  /** @param capacity most bytes kept (at least 1) */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity: expected a positive integer, got ${capacity}`);
    this.buf = new Uint8Array(capacity);
  }

  /** Bytes currently held. */
  get length(): number {
    return this.used;
  }

  /** Appends `bytes`, dropping the oldest bytes beyond the capacity. */
  append(bytes: Uint8Array): void {
    const cap = this.capacity;
    if (bytes.length >= cap) {
      this.buf.set(bytes.subarray(bytes.length - cap));
      this.start = 0;
      this.used = cap;
      return;
    }
    const end = (this.start + this.used) % cap;
    const first = Math.min(bytes.length, cap - end);
    this.buf.set(bytes.subarray(0, first), end);
    if (first < bytes.length) this.buf.set(bytes.subarray(first), 0);
    const overflow = this.used + bytes.length - cap;
    if (overflow > 0) {
      this.start = (this.start + overflow) % cap;
      this.used = cap;
    } else {
      this.used += bytes.length;
    }
  }

  /** A copy of the held bytes, oldest first. */
  snapshot(): Uint8Array {
    const out = new Uint8Array(this.used);
    const first = Math.min(this.used, this.capacity - this.start);
    out.set(this.buf.subarray(this.start, this.start + first));
    if (first < this.used) out.set(this.buf.subarray(0, this.used - first), first);
    return out;
  }

  /** Forgets everything. */
  clear(): void {
    this.start = 0;
    this.used = 0;
  }
}
