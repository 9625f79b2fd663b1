/**
 * System control port A (port 0x92, "fast A20 gate"), as found on PS/2 machines and
 * emulated by QEMU's i8042 companion `port92`.
 *
 * Follows: IBM PS/2 Hardware Interface Technical Reference, "System Control Port A";
 * QEMU hw/input/pckbd.c (port92_read/port92_write).
 * Bit 1 gates A20; writing 1 to bit 0 requests a fast CPU reset (edge 0 -> 1).
 * Leaves out: the watchdog status bit (4), the security lock bit (3), the activity-light
 * bits (6-7); they are stored and read back as written, like QEMU.
 */
import type { AccessSize, Device, DeviceState, IoHandler } from '../device.js';

/** Bit 0: fast reset (writing 1 pulses the CPU reset). */
export const PORT92_RESET = 0x01;
/** Bit 1: A20 gate enabled. */
export const PORT92_A20 = 0x02;

/** Dependencies of Port92. */
export interface Port92Options {
  /** Called whenever the A20 bit changes. */
  setA20: (enabled: boolean) => void;
  /** Called on a 0 -> 1 write of the reset bit. */
  reset: () => void;
  /** Device id (default "port92"). */
  id?: string;
}

/** System control port A. One port; register it at 0x92. */
export class Port92 implements Device {
  /** @inheritdoc */
  readonly id: string;
  /** The handler to register at port 0x92 (length 1). */
  readonly io: IoHandler;
  private value = 0;

  constructor(private readonly opts: Port92Options) {
    this.id = opts.id ?? 'port92';
    this.io = {
      minSize: 1,
      maxSize: 1,
      read: (_offset: number, _size: AccessSize) => this.value,
      write: (_offset: number, _size: AccessSize, v: number) => this.writeValue(v & 0xff),
    };
  }

  /** Current A20 state as last written through this port. */
  get a20(): boolean {
    return (this.value & PORT92_A20) !== 0;
  }

  private writeValue(v: number): void {
    const old = this.value;
    // The reset bit is write-only in effect; QEMU keeps it stored but fires on writes of 1.
    this.value = v & ~PORT92_RESET;
    if ((old ^ v) & PORT92_A20) this.opts.setA20((v & PORT92_A20) !== 0);
    if (v & PORT92_RESET) this.opts.reset();
  }

  /** @inheritdoc */
  reset(): void {
    this.value = 0;
  }

  /** @inheritdoc */
  saveState(): DeviceState {
    return { v: 1, value: this.value };
  }

  /** @inheritdoc */
  loadState(state: unknown): void {
    const s = state as { v?: unknown; value?: unknown } | null;
    if (typeof s !== 'object' || s === null || s.v !== 1) throw new Error(`${this.id}: state must be { v: 1, value }`);
    if (typeof s.value !== 'number' || !Number.isInteger(s.value) || s.value < 0 || s.value > 0xff) {
      throw new Error(`${this.id}: state.value must be a byte`);
    }
    this.value = s.value & ~PORT92_RESET;
  }
}
