/**
 * Exit device compatible with QEMU's `isa-debug-exit` (board: port 0xf4, size 1).
 *
 * Follows: QEMU hw/misc/debugexit.c. Writing value v asks the machine to exit with
 * status (v << 1) | 1, so a guest can never report 0 (success is conventionally 1 << 1 | 1).
 * Reads return 0, as in QEMU.
 * Leaves out: the `iosize` property (the board registers the width it wants; the value
 * is the whole access).
 */
import type { AccessSize, Device, DeviceState, IoHandler } from '../device.js';

/** Dependencies of IsaDebugExit. */
export interface IsaDebugExitOptions {
  /** Called with the exit code (value << 1) | 1. */
  exit: (code: number) => void;
  /** Widest access the board registers (QEMU iosize; default 1). */
  ioSize?: AccessSize;
  /** Device id (default "isa-debug-exit"). */
  id?: string;
}

/** The exit port. */
export class IsaDebugExit implements Device {
  /** @inheritdoc */
  readonly id: string;
  /** The handler to register at 0xf4 (length = ioSize). */
  readonly io: IoHandler;

  constructor(opts: IsaDebugExitOptions) {
    this.id = opts.id ?? 'isa-debug-exit';
    const max = opts.ioSize ?? 1;
    this.io = {
      minSize: 1,
      maxSize: max,
      read: (_offset: number, _size: AccessSize) => 0,
      // QEMU: exit((val << 1) | 1); computed unsigned so 32-bit values do not go negative.
      write: (_offset: number, _size: AccessSize, v: number) => opts.exit((v >>> 0) * 2 + 1),
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
