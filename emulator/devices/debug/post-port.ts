/**
 * POST diagnostic port (port 0x80): the BIOS writes progress codes here; the ISA
 * "POST card" displayed them. Linux also uses it as an I/O delay port.
 *
 * Follows: common PC/AT practice (no datasheet); QEMU leaves the port unassigned, but a
 * board may want the codes for boot diagnostics. Reads return the last code written
 * (like many POST cards and chipsets that latch it).
 * Leaves out: the 0x84-0x8f DMA page register aliases (the DMA controller's business).
 */
import type { AccessSize, Device, DeviceState, IoHandler, ResetKind } from '../device.js';

/** Dependencies of PostPort. */
export interface PostPortOptions {
  /** Optional observer of every code written. */
  onCode?: (code: number) => void;
  /** Device id (default "post-port"). */
  id?: string;
}

/** Latches the last POST code. */
export class PostPort implements Device {
  /** @inheritdoc */
  readonly id: string;
  /** The handler to register at 0x80 (length 1). */
  readonly io: IoHandler;
  /** The last code written (0 after reset). */
  lastCode = 0;
  /** Number of codes written since reset. */
  writes = 0;

  constructor(opts: PostPortOptions = {}) {
    this.id = opts.id ?? 'post-port';
    this.io = {
      minSize: 1,
      maxSize: 1,
      read: (_offset: number, _size: AccessSize) => this.lastCode,
      write: (_offset: number, _size: AccessSize, v: number) => {
        this.lastCode = v & 0xff;
        this.writes++;
        opts.onCode?.(this.lastCode);
      },
    };
  }

  /** @inheritdoc */
  reset(_kind?: ResetKind): void {
    this.lastCode = 0;
    this.writes = 0;
  }

  /** @inheritdoc */
  saveState(): DeviceState {
    return { v: 1, lastCode: this.lastCode, writes: this.writes };
  }

  /** @inheritdoc */
  loadState(state: unknown): void {
    const s = state as { v?: unknown; lastCode?: unknown; writes?: unknown } | null;
    if (typeof s !== 'object' || s === null || s.v !== 1) throw new Error(`${this.id}: state must be { v: 1, lastCode, writes }`);
    const { lastCode, writes } = s;
    if (typeof lastCode !== 'number' || !Number.isInteger(lastCode) || lastCode < 0 || lastCode > 0xff) {
      throw new Error(`${this.id}: state.lastCode must be a byte`);
    }
    if (typeof writes !== 'number' || !Number.isSafeInteger(writes) || writes < 0) {
      throw new Error(`${this.id}: state.writes must be a non-negative integer`);
    }
    this.lastCode = lastCode;
    this.writes = writes;
  }
}
