/**
 * Test doubles for device unit tests: an IRQ line that records its edges, and helpers to
 * drive an IoHandler like a bus would.
 */
import type { AccessSize, IoHandler, IrqLine } from '../devices/device.js';

/** An IrqLine that records its level and every transition. */
export class FakeIrqLine implements IrqLine {
  level = false;
  /** Number of 0 -> 1 transitions seen. */
  rising = 0;
  /** Every level set, in order. */
  readonly history: boolean[] = [];
  set(level: boolean): void {
    if (level && !this.level) this.rising++;
    this.level = level;
    this.history.push(level);
  }
  pulse(): void {
    this.set(true);
    this.set(false);
  }
}

/** Reads a byte at `offset` of `h`. */
export function inb(h: IoHandler, offset: number): number {
  return h.read(offset, 1);
}

/** Writes a byte at `offset` of `h`. */
export function outb(h: IoHandler, offset: number, value: number): void {
  h.write(offset, 1, value & 0xff);
}

/** Reads `size` bytes at `offset` of `h`. */
export function io(h: IoHandler, offset: number, size: AccessSize): number {
  return h.read(offset, size);
}
