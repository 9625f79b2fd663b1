/**
 * I440fx: the PCI function of the Intel 82441FX PCI and Memory Controller (PMC),
 * host bridge 8086:1237 revision 02h at 00:00.0, as QEMU's "pc" machine presents it.
 *
 * Follows the Intel 440FX PCIset datasheet (82441FX PMC), section 3.2: PAM0-PAM6 at
 * 59h-5Fh (Programmable Attribute Map: per region RE = bit 0 / bit 4 read enable,
 * WE = bit 1 / bit 5 write enable; PAM0 low nibble reserved, its high nibble is the
 * 64 KiB BIOS area F0000h-FFFFFh; PAM1..PAM6 cover C0000h-EFFFFh in 16 KiB halves,
 * low nibble = lower half) and SMRAM at 72h (D_OPEN, D_CLS, D_LCK, G_SMRAME; C_BASE_SEG
 * hard-wired to 010b = A0000h). Region numbering and the RAM-size byte at 57h follow
 * QEMU's hw/pci-host/i440fx.c.
 *
 * The memory map itself belongs to the board: PAM and SMRAM changes are reported
 * through injected callbacks. Left out: DRAM controller registers (DRB, DRT, ...),
 * error reporting, and SMM itself (SMRAM is plain storage plus a callback).
 */
import { type GuestLog, PciFunction } from './pci-function.js';

/** PAM0 configuration register offset. */
export const I440FX_PAM = 0x59;
/** SMRAM configuration register offset. */
export const I440FX_SMRAM = 0x72;
/** Byte at 57h where QEMU reports RAM size in 8 MiB units for old coreboot. */
export const I440FX_COREBOOT_RAM_SIZE = 0x57;

/** SMRAM bits (82441FX datasheet 3.2.22). */
export const SMRAM_D_OPEN = 0x40;
export const SMRAM_D_CLS = 0x20;
export const SMRAM_D_LCK = 0x10;
export const SMRAM_G_SMRAME = 0x08;
/** C_BASE_SEG = 010b: the compatible SMRAM space at A0000h-BFFFFh. */
export const SMRAM_C_BASE_SEG = 0x02;

/** One PAM-controlled region of the legacy memory area. */
export interface PamRegion {
  /** 0 = F0000h BIOS area, 1..12 = C0000h + 16 KiB * (index - 1). */
  readonly index: number;
  readonly gpa: number;
  readonly sizeBytes: number;
  /** Configuration register holding its attribute nibble. */
  readonly reg: number;
  /** Bit position of its nibble in that register (0 or 4). */
  readonly shift: 0 | 4;
}

/** The 13 PAM regions in QEMU's order. */
export const PAM_REGIONS: readonly PamRegion[] = Object.freeze([
  { index: 0, gpa: 0xf0000, sizeBytes: 0x10000, reg: 0x59, shift: 4 },
  ...Array.from({ length: 12 }, (_, i): PamRegion => ({
    index: i + 1,
    gpa: 0xc0000 + i * 0x4000,
    sizeBytes: 0x4000,
    reg: I440FX_PAM + 1 + (i >> 1),
    shift: (i & 1) === 0 ? 0 : 4,
  })),
]);

/** Reports that PAM region `index` now reads from RAM (or ROM/PCI) and writes to RAM (or PCI). */
export type PamChangeCallback = (index: number, readFromRam: boolean, writeToRam: boolean) => void;

/** Construction options. */
export interface I440fxOptions {
  readonly id?: string;
  /** Total guest RAM (for the byte at 57h). */
  readonly ramSizeBytes?: number;
  /** Initial state of every region is read/write to ROM/PCI (attributes 0); changes are reported. */
  readonly onPamChange?: PamChangeCallback;
  /** Called with the new SMRAM register value when it changes. */
  readonly onSmramChange?: (smram: number) => void;
  readonly log?: GuestLog;
}

/** The 82441FX host bridge function. */
export class I440fx extends PciFunction {
  private readonly onPamChange: PamChangeCallback | undefined;
  private readonly onSmramChange: ((smram: number) => void) | undefined;
  private readonly reported = new Uint8Array(PAM_REGIONS.length);
  private reportedSmram = SMRAM_C_BASE_SEG;
  /** Last accepted SMRAM value (the lock logic needs the value before a write). */
  private smramShadow = SMRAM_C_BASE_SEG;

  constructor(opts: I440fxOptions = {}) {
    super({
      id: opts.id ?? 'i440fx',
      vendorId: 0x8086, deviceId: 0x1237, revision: 0x02, classCode: 0x060000,
      log: opts.log,
    });
    this.onPamChange = opts.onPamChange;
    this.onSmramChange = opts.onSmramChange;
    // PAM0 bits 3:0 are reserved; the other PAM nibbles use bits 1:0 (RE, WE).
    this.setMasks(I440FX_PAM, 1, 0x30);
    for (let r = I440FX_PAM + 1; r <= I440FX_PAM + 6; r++) this.setMasks(r, 1, 0x33);
    // SMRAM: bit 7 reserved, C_BASE_SEG read-only; D_LCK handled in onConfigUpdated.
    this.setMasks(I440FX_SMRAM, 1, SMRAM_D_OPEN | SMRAM_D_CLS | SMRAM_D_LCK | SMRAM_G_SMRAME);
    this.setDefault(I440FX_SMRAM, 1, SMRAM_C_BASE_SEG);
    const ram = opts.ramSizeBytes ?? 0;
    this.setDefault(I440FX_COREBOOT_RAM_SIZE, 1, Math.min(255, Math.floor(ram / (8 * 1024 * 1024))));
    this.setMasks(I440FX_COREBOOT_RAM_SIZE, 1, 0);
  }

  /** Attribute nibble (bit 0 RE, bit 1 WE) of PAM region `index`. */
  pamAttributes(index: number): number {
    const r = PAM_REGIONS[index];
    if (!r) throw new RangeError(`I440fx: no PAM region ${index}`);
    return (this.reg8(r.reg) >> r.shift) & 3;
  }

  /** The SMRAM register. */
  get smram(): number {
    return this.reg8(I440FX_SMRAM);
  }

  protected override onConfigUpdated(first: number, last: number): void {
    if (first <= I440FX_SMRAM && last >= I440FX_SMRAM) {
      let v = this.reg8(I440FX_SMRAM);
      const old = this.smramShadow;
      const wholeSpace = first === 0 && last === 0xff; // reset or loadState: take as is
      if (!wholeSpace && (old & SMRAM_D_LCK)) {
        // Datasheet: once D_LCK is set, D_OPEN reads 0 and cannot be set, and
        // D_LCK and G_SMRAME become read-only until reset.
        v = (v & ~(SMRAM_D_OPEN | SMRAM_D_LCK | SMRAM_G_SMRAME)) | (old & (SMRAM_D_LCK | SMRAM_G_SMRAME));
      } else if (!wholeSpace && (v & SMRAM_D_LCK)) {
        v &= ~SMRAM_D_OPEN;
      }
      v = (v & 0x78) | SMRAM_C_BASE_SEG;
      this.poke8(I440FX_SMRAM, v);
      this.smramShadow = v;
      if (v !== this.reportedSmram) {
        this.reportedSmram = v;
        this.onSmramChange?.(v);
      }
    }
    if (first <= I440FX_PAM + 6 && last >= I440FX_PAM) {
      for (const r of PAM_REGIONS) {
        const attr = (this.reg8(r.reg) >> r.shift) & 3;
        if (attr === this.reported[r.index]) continue;
        this.reported[r.index] = attr;
        this.onPamChange?.(r.index, (attr & 1) !== 0, (attr & 2) !== 0);
      }
    }
  }
}
