/**
 * The output side of a PS/2 device: command replies go ahead of queued input data (as in
 * QEMU hw/input/ps2.c's command queue), and both are bounded like a device's small buffer.
 */

/** Most reply bytes kept (a guest sending commands without reading the answers). */
export const MAX_REPLIES = 64;

/** Bytes a PS/2 device has for the controller. */
export class Ps2Queue {
  private replies: number[] = [];
  private data: number[] = [];

  constructor(
    /** Most input-data bytes held (replies are always kept). */
    readonly capacity: number,
  ) {}

  /** Bytes waiting in total. */
  get length(): number {
    return this.replies.length + this.data.length;
  }

  /** Free room for input data. */
  get room(): number {
    return Math.max(0, this.capacity - this.data.length);
  }

  /** Queues a command reply (ahead of input data); a guest that never reads loses the excess. */
  reply(...bytes: number[]): void {
    for (const b of bytes) if (this.replies.length < MAX_REPLIES) this.replies.push(b & 0xff);
  }

  /** Queues input data; returns false (queuing nothing) if all of `bytes` do not fit. */
  push(bytes: readonly number[]): boolean {
    if (bytes.length > this.room) return false;
    for (const b of bytes) this.data.push(b & 0xff);
    return true;
  }

  /** Takes the next byte (reply first); undefined when empty. */
  shift(): number | undefined {
    return this.replies.length > 0 ? this.replies.shift() : this.data.shift();
  }

  /** Drops queued input data (a device reset or enable clears its buffer). */
  clearData(): void {
    this.data = [];
  }

  /** Drops everything. */
  clear(): void {
    this.replies = [];
    this.data = [];
  }

  /** Plain state. */
  save(): { replies: number[]; data: number[] } {
    return { replies: [...this.replies], data: [...this.data] };
  }

  /** Restores validated state. */
  load(s: { replies: readonly number[]; data: readonly number[] }): void {
    this.replies = [...s.replies];
    this.data = [...s.data];
  }
}
