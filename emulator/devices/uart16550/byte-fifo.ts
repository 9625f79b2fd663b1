/**
 * A bounded byte FIFO (the 16550A's 16-byte receive FIFO). Plain ring buffer; the UART
 * decides what happens when it is full (overrun).
 */

/** Fixed-capacity FIFO of bytes. */
export class ByteFifo {
  private readonly buf: Uint8Array;
  private head = 0;
  private count = 0;

  constructor(
    /** Maximum number of bytes held. */
    readonly capacity: number,
  ) {
    this.buf = new Uint8Array(capacity);
  }

  /** Number of bytes held. */
  get length(): number {
    return this.count;
  }

  /** True when no more bytes fit. */
  get full(): boolean {
    return this.count === this.capacity;
  }

  /** Appends a byte; returns false (dropping it) when full. */
  push(b: number): boolean {
    if (this.count === this.capacity) return false;
    this.buf[(this.head + this.count) % this.capacity] = b & 0xff;
    this.count++;
    return true;
  }

  /** Removes the oldest byte; returns 0 when empty (what the data register shows then). */
  pop(): number {
    if (this.count === 0) return 0;
    const b = this.buf[this.head]!;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return b;
  }

  /** Drops everything. */
  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  /** The held bytes, oldest first. */
  toArray(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.buf[(this.head + i) % this.capacity]!);
    return out;
  }
}
