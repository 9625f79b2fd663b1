/**
 * Bochs VBE "DISPI" extension of the standard VGA: index port 0x1CE, data port 0x1CF,
 * 16-bit registers ID, XRES, YRES, BPP, ENABLE, BANK, VIRT_WIDTH, VIRT_HEIGHT, X_OFFSET,
 * Y_OFFSET, VIDEO_MEMORY_64K.
 *
 * Follows Bochs `docs/vbe_display_api.txt` (ids 0xB0C0-0xB0C5, ENABLE bits ENABLED,
 * GETCAPS, 8BIT_DAC, LFB_ENABLED, NOCLEARMEM; 64 KiB banks in the 0xA0000 window) and
 * QEMU's vga.c for the details guests rely on: registers are validated ("fixed up") only
 * while enabled, VIRT_HEIGHT is derived from the VRAM size, the display start is moved
 * back when X/Y_OFFSET would run past VRAM, enabling clears VRAM unless NOCLEARMEM, and
 * enabling forces the VGA registers into a compatible graphics state (64 KiB window at
 * 0xA0000, chain 4 for 8+ bpp) so banked access and the legacy view agree.
 *
 * Left out: the old Bochs ports 0xFF80/0xFF81, big-endian framebuffers.
 */
import type { VgaRegisters } from './vga-registers.js';
import {
  AR_MODE, CR_H_DISPLAY_END, CR_LINE_COMPARE, CR_MAX_SCAN, CR_MODE, CR_OFFSET, CR_OVERFLOW,
  CR_V_DISPLAY_END, DISPI_8BIT_DAC, DISPI_ENABLED, DISPI_GETCAPS, DISPI_ID0, DISPI_ID5,
  DISPI_INDEX_BANK, DISPI_INDEX_BPP, DISPI_INDEX_ENABLE, DISPI_INDEX_ID, DISPI_INDEX_VIDEO_MEMORY_64K,
  DISPI_INDEX_VIRT_HEIGHT, DISPI_INDEX_VIRT_WIDTH, DISPI_INDEX_X_OFFSET, DISPI_INDEX_XRES,
  DISPI_INDEX_Y_OFFSET, DISPI_INDEX_YRES, DISPI_MAX_BPP, DISPI_MAX_XRES, DISPI_MAX_YRES,
  DISPI_NOCLEARMEM, DISPI_REG_COUNT, GR_MISC, GR_MODE, SR04_CHAIN4, SR_CLOCK_MODE, SR_MAP_MASK,
  SR_MEMORY_MODE,
} from './vga-constants.js';

/** Depths the DISPI accepts; anything else becomes 8 when the mode is validated. */
const VALID_BPP: readonly number[] = [4, 8, 15, 16, 24, 32];

/** The DISPI register file and the derived framebuffer geometry. */
export class BochsVbe {
  /** Selected register (0x1CE). */
  index = 0;
  /** Registers 0x0-0xA as last written or fixed up. */
  readonly regs = new Uint16Array(DISPI_REG_COUNT);
  /** Byte offset added to 0xA0000 window accesses (BANK << 16). */
  bankOffset = 0;
  /** Bytes per logical line of the current mode. */
  lineOffset = 0;
  /** VRAM byte offset of the first displayed pixel. */
  startByte = 0;

  /**
   * @param vga the VGA registers the mode switch adjusts
   * @param vram the VRAM bytes (cleared on enable)
   */
  constructor(private readonly vga: VgaRegisters, private readonly vram: Uint8Array) {}

  /** Power-on state: disabled, id 0xB0C5. */
  reset(): void {
    this.index = 0;
    this.regs.fill(0);
    this.regs[DISPI_INDEX_ID] = DISPI_ID5;
    this.bankOffset = 0;
    this.lineOffset = 0;
    this.startByte = 0;
  }

  /** True when an extended mode is on. */
  get enabled(): boolean {
    return (this.regs[DISPI_INDEX_ENABLE]! & DISPI_ENABLED) !== 0;
  }

  /** Bits per pixel of the current mode (15 reported as 15). */
  get bpp(): number {
    return this.regs[DISPI_INDEX_BPP]!;
  }

  /** Horizontal resolution. */
  get xres(): number {
    return this.regs[DISPI_INDEX_XRES]!;
  }

  /** Vertical resolution. */
  get yres(): number {
    return this.regs[DISPI_INDEX_YRES]!;
  }

  /** Size of a 64 KiB bank mask for this VRAM size. */
  private get bankMask(): number {
    return (this.vram.length >>> 16) - 1;
  }

  /** Reads the data register selected by `index`. */
  readData(): number {
    const i = this.index;
    if (i === DISPI_INDEX_VIDEO_MEMORY_64K) return this.vram.length >>> 16;
    if (i >= DISPI_REG_COUNT) return 0;
    if ((this.regs[DISPI_INDEX_ENABLE]! & DISPI_GETCAPS) !== 0) {
      if (i === DISPI_INDEX_XRES) return DISPI_MAX_XRES;
      if (i === DISPI_INDEX_YRES) return DISPI_MAX_YRES;
      if (i === DISPI_INDEX_BPP) return DISPI_MAX_BPP;
    }
    return this.regs[i]!;
  }

  /** Writes the data register selected by `index`. */
  writeData(value: number): void {
    value &= 0xffff;
    const r = this.regs;
    this.vga.generation++;
    switch (this.index) {
      case DISPI_INDEX_ID:
        if (value >= DISPI_ID0 && value <= DISPI_ID5) r[DISPI_INDEX_ID] = value;
        return;
      case DISPI_INDEX_XRES:
      case DISPI_INDEX_YRES:
      case DISPI_INDEX_BPP:
      case DISPI_INDEX_VIRT_WIDTH:
      case DISPI_INDEX_X_OFFSET:
      case DISPI_INDEX_Y_OFFSET:
        r[this.index] = value;
        this.fixup();
        this.updateVgaRegs();
        return;
      case DISPI_INDEX_BANK:
        r[DISPI_INDEX_BANK] = value & this.bankMask;
        this.bankOffset = r[DISPI_INDEX_BANK]! << 16;
        return;
      case DISPI_INDEX_ENABLE: {
        if ((value & DISPI_ENABLED) !== 0 && !this.enabled) {
          r[DISPI_INDEX_VIRT_WIDTH] = 0;
          r[DISPI_INDEX_X_OFFSET] = 0;
          r[DISPI_INDEX_Y_OFFSET] = 0;
          r[DISPI_INDEX_ENABLE] = r[DISPI_INDEX_ENABLE]! | DISPI_ENABLED;
          this.fixup();
          this.updateVgaRegs();
          if ((value & DISPI_NOCLEARMEM) === 0) {
            this.vram.fill(0, 0, Math.min(this.vram.length, r[DISPI_INDEX_YRES]! * this.lineOffset));
          }
        } else {
          this.bankOffset = 0;
        }
        this.vga.dac8bit = (value & DISPI_8BIT_DAC) !== 0;
        r[DISPI_INDEX_ENABLE] = value;
        return;
      }
      default:
        return; // VIRT_HEIGHT and VIDEO_MEMORY_64K are read-only
    }
  }

  /** Bits per pixel in memory (15 bpp uses 16). */
  private storageBits(): number {
    const b = this.regs[DISPI_INDEX_BPP]!;
    return b === 15 ? 16 : b;
  }

  /** Validates the registers of an enabled mode and derives line offset and start. */
  fixup(): void {
    if (!this.enabled) return;
    const r = this.regs;
    if (!VALID_BPP.includes(r[DISPI_INDEX_BPP]!)) r[DISPI_INDEX_BPP] = 8;
    const bits = this.storageBits();
    let x = r[DISPI_INDEX_XRES]! & ~7;
    if (x === 0) x = 8;
    if (x > DISPI_MAX_XRES) x = DISPI_MAX_XRES;
    r[DISPI_INDEX_XRES] = x;
    let vw = r[DISPI_INDEX_VIRT_WIDTH]! & ~7;
    if (vw > DISPI_MAX_XRES) vw = DISPI_MAX_XRES;
    if (vw < x) vw = x;
    r[DISPI_INDEX_VIRT_WIDTH] = vw;
    const lineLength = (vw * bits) >>> 3;
    const maxY = Math.floor(this.vram.length / lineLength);
    let y = r[DISPI_INDEX_YRES]!;
    if (y === 0) y = 1;
    if (y > DISPI_MAX_YRES) y = DISPI_MAX_YRES;
    if (y > maxY) y = maxY;
    r[DISPI_INDEX_YRES] = y;
    if (r[DISPI_INDEX_X_OFFSET]! > DISPI_MAX_XRES) r[DISPI_INDEX_X_OFFSET] = DISPI_MAX_XRES;
    if (r[DISPI_INDEX_Y_OFFSET]! > DISPI_MAX_YRES) r[DISPI_INDEX_Y_OFFSET] = DISPI_MAX_YRES;
    let offset = ((r[DISPI_INDEX_X_OFFSET]! * bits) >>> 3) + r[DISPI_INDEX_Y_OFFSET]! * lineLength;
    if (offset + y * lineLength > this.vram.length) {
      r[DISPI_INDEX_Y_OFFSET] = 0;
      offset = (r[DISPI_INDEX_X_OFFSET]! * bits) >>> 3;
      if (offset + y * lineLength > this.vram.length) {
        r[DISPI_INDEX_X_OFFSET] = 0;
        offset = 0;
      }
    }
    r[DISPI_INDEX_VIRT_HEIGHT] = Math.min(maxY, 0xffff);
    this.lineOffset = lineLength;
    this.startByte = offset;
  }

  /** Puts the VGA registers in a state compatible with the enabled extended mode. */
  private updateVgaRegs(): void {
    if (!this.enabled) return;
    const v = this.vga;
    v.gr[GR_MISC] = (v.gr[GR_MISC]! & ~0x0c) | 0x04 | 0x01; // graphics, 64 KiB at 0xA0000
    v.crtc[CR_MODE] = v.crtc[CR_MODE]! | 3; // no CGA address interleave
    v.crtc[CR_OFFSET] = (this.lineOffset >>> 3) & 0xff;
    v.crtc[CR_H_DISPLAY_END] = ((this.xres >>> 3) - 1) & 0xff;
    const h = this.yres - 1;
    v.crtc[CR_V_DISPLAY_END] = h & 0xff;
    v.crtc[CR_OVERFLOW] = (v.crtc[CR_OVERFLOW]! & ~0x42) | ((h >>> 7) & 0x02) | ((h >>> 3) & 0x40) | 0x10;
    v.crtc[CR_LINE_COMPARE] = 0xff;
    v.crtc[CR_MAX_SCAN] = (v.crtc[CR_MAX_SCAN]! | 0x40) & ~0x9f;
    let shift: number;
    if (this.bpp === 4) {
      shift = 0;
      v.seq[SR_CLOCK_MODE] = v.seq[SR_CLOCK_MODE]! & ~8;
    } else {
      shift = 2;
      v.seq[SR_MEMORY_MODE] = v.seq[SR_MEMORY_MODE]! | SR04_CHAIN4;
      v.seq[SR_MAP_MASK] = v.seq[SR_MAP_MASK]! | 0x0f;
    }
    v.gr[GR_MODE] = (v.gr[GR_MODE]! & ~0x60) | (shift << 5);
    v.attr[AR_MODE] = v.attr[AR_MODE]! | 0x01;
  }
}
