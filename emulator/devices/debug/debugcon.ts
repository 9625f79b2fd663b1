/**
 * Debug console port, compatible with QEMU's `isa-debugcon` (Bochs port 0xe9 hack;
 * SeaBIOS and OVMF debug output on 0x402).
 *
 * Follows: QEMU hw/char/debugcon.c. Each byte written goes to the injected sink; reads
 * return the configured read-back value (0xe9 by default), which is how guests probe
 * for the port's presence.
 * Leaves out: nothing relevant; wider writes are split into bytes by the bus.
 */
import type { AccessSize, Device, DeviceState, IoHandler } from '../device.js';

/** Dependencies of DebugCon. */
export interface DebugConOptions {
  /** Receives each byte the guest writes. */
  sink: (byte: number) => void;
  /** Value returned by reads (QEMU's `readback` property, default 0xe9). */
  readback?: number;
  /** Device id (default "debugcon"). */
  id?: string;
}

/** A write-only byte console on one port. */
export class DebugCon implements Device {
  /** @inheritdoc */
  readonly id: string;
  /** The handler to register (length 1) at 0xe9 or 0x402. */
  readonly io: IoHandler;
  private readonly readback: number;

  constructor(opts: DebugConOptions) {
    this.id = opts.id ?? 'debugcon';
    this.readback = (opts.readback ?? 0xe9) & 0xff;
    this.io = {
      minSize: 1,
      maxSize: 1,
      read: (_offset: number, _size: AccessSize) => this.readback,
      write: (_offset: number, _size: AccessSize, v: number) => opts.sink(v & 0xff),
    };
  }

  /** @inheritdoc */
  reset(): void {}

  /** @inheritdoc */
  saveState(): DeviceState {
    return { v: 1 };
  }

  /** @inheritdoc */
  loadState(state: unknown): void {
    if (typeof state !== 'object' || state === null || (state as { v?: unknown }).v !== 1) {
      throw new Error(`${this.id}: state must be { v: 1 }`);
    }
  }
}
