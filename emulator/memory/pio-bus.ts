/**
 * PioBus: the 64 K x86 I/O port space, resolved through a flat table for speed.
 *
 * Devices register handlers for a port range and see offsets, never absolute ports
 * (ARCHITECTURE principle 1). Registration refuses overlaps. A handler declares the
 * access sizes it implements; wider accesses are split into little-endian pieces,
 * narrower ones are served by reading the containing access (QEMU's `impl` sizes).
 * Unmapped ports read all-ones and ignore writes, like an ISA bus with no device
 * answering; each miss is counted.
 */
import type { AccessSize, IoHandler } from '../devices/device.js';

interface Entry {
  readonly base: number;
  readonly length: number;
  readonly name: string;
  readonly handler: IoHandler;
}

const ONES: Record<AccessSize, number> = { 1: 0xff, 2: 0xffff, 4: 0xffffffff };

/** The I/O port bus of one machine. */
export class PioBus {
  private readonly table: Array<Entry | undefined> = new Array<Entry | undefined>(0x10000).fill(undefined);
  /** Count of accesses to ports no device answers. */
  unmappedAccesses = 0;
  /** Optional observer of unmapped accesses (rate-limit logging there). */
  onUnmapped: ((port: number, size: AccessSize, write: boolean) => void) | undefined;

  /** Registers `handler` for ports [base, base+length). Throws on overlap (a board bug). */
  register(base: number, length: number, name: string, handler: IoHandler): void {
    if (base < 0 || length <= 0 || base + length > 0x10000) {
      throw new RangeError(`PioBus: ${name}: port range ${hex(base)}+${length} outside the I/O space`);
    }
    for (let p = base; p < base + length; p++) {
      const other = this.table[p];
      if (other) throw new Error(`PioBus: ${name} at ${hex(base)}+${length} overlaps ${other.name} at ${hex(other.base)}+${other.length}`);
    }
    const entry: Entry = { base, length, name, handler };
    for (let p = base; p < base + length; p++) this.table[p] = entry;
  }

  /** Removes the registration that starts at `base` (PCI BAR moves). */
  unregister(base: number): void {
    const e = this.table[base];
    if (!e || e.base !== base) return;
    for (let p = e.base; p < e.base + e.length; p++) this.table[p] = undefined;
  }

  /** Name of the device at `port`, for diagnostics. */
  nameAt(port: number): string | undefined {
    return this.table[port & 0xffff]?.name;
  }

  /** Reads `size` bytes from `port`. */
  read(port: number, size: AccessSize): number {
    port &= 0xffff;
    const e = this.table[port];
    if (e !== undefined && port + size <= e.base + e.length && size >= e.handler.minSize && size <= e.handler.maxSize) {
      return e.handler.read(port - e.base, size);
    }
    if (size === 1) {
      if (e === undefined) return this.miss(port, 1, false);
      // A byte access to a device that only implements wider accesses.
      const wide = e.handler.minSize;
      const aligned = port - ((port - e.base) % wide);
      return (e.handler.read(aligned - e.base, wide) >>> ((port - aligned) * 8)) & 0xff;
    }
    // Split into two halves, little-endian.
    const half = (size >> 1) as AccessSize;
    const lo = this.read(port, half);
    const hi = this.read((port + half) & 0xffff, half);
    return size === 4 ? ((hi << 16) | lo) >>> 0 : (hi << 8) | lo;
  }

  /** Writes `size` bytes of `value` to `port`. */
  write(port: number, size: AccessSize, value: number): void {
    port &= 0xffff;
    const e = this.table[port];
    if (e !== undefined && port + size <= e.base + e.length && size >= e.handler.minSize && size <= e.handler.maxSize) {
      e.handler.write(port - e.base, size, value);
      return;
    }
    if (size === 1) {
      if (e === undefined) { this.miss(port, 1, true); return; }
      // Byte write to a wider-only device: the device gets the byte in the low lane.
      const wide = e.handler.minSize;
      const aligned = port - ((port - e.base) % wide);
      e.handler.write(aligned - e.base, wide, (value & 0xff) << ((port - aligned) * 8));
      return;
    }
    const half = (size >> 1) as AccessSize;
    const bits = half * 8;
    this.write(port, half, value & ONES[half]);
    this.write((port + half) & 0xffff, half, (value >>> bits) & ONES[half]);
  }

  private miss(port: number, size: AccessSize, write: boolean): number {
    this.unmappedAccesses++;
    this.onUnmapped?.(port, size, write);
    return ONES[size];
  }
}

function hex(n: number): string {
  return '0x' + n.toString(16);
}
