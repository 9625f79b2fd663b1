/**
 * The PIIX edge/level control registers (ELCR1 at 0x4d0 for the master, ELCR2 at 0x4d1
 * for the slave): one bit per IRQ, 1 = level-triggered (PCI interrupts are shared and
 * level-triggered).
 *
 * Follows: Intel 82371AB (PIIX4) datasheet, "ELCR1/ELCR2 - Edge/Level Control Registers";
 * QEMU hw/intc/i8259.c elcr_ioport_*. IRQ0, 1, 2, 8 and 13 are edge-only; their bits read 0.
 * Leaves out: nothing.
 */
import type { AccessSize, IoHandler } from '../device.js';
import type { PicChip } from './pic-chip.js';

/** Writable ELCR1 bits (IRQ0-2 are edge-only). */
export const ELCR1_MASK = 0xf8;
/** Writable ELCR2 bits (IRQ8 and IRQ13 are edge-only). */
export const ELCR2_MASK = 0xde;

/** IoHandler for the two ELCR ports (register 2 bytes: offset 0 master, 1 slave). */
export class ElcrHandler implements IoHandler {
  /** @inheritdoc */
  readonly minSize = 1;
  /** @inheritdoc */
  readonly maxSize = 1;

  constructor(private readonly chips: readonly [PicChip, PicChip]) {}

  /** @inheritdoc */
  read(offset: number, _size: AccessSize): number {
    return this.chips[offset & 1]!.elcr;
  }

  /** @inheritdoc */
  write(offset: number, _size: AccessSize, value: number): void {
    const chip = this.chips[offset & 1]!;
    chip.elcr = value & chip.elcrMask;
    // Switching a line between edge and level does not itself change IRR; the next
    // input transition is interpreted in the new mode (QEMU does the same).
  }
}
