/**
 * Test support: drives a StdVga through absolute ports and addresses the way a board
 * would, and sets video modes with the same register sequence as SeaBIOS's VGA BIOS
 * (vgasrc/stdvga.c stdvga_set_mode, stdvgamodes.c parameter tables, bochsvga.c
 * bochsvga_set_mode). The register tables are the standard IBM VGA values; the DAC
 * palettes are generated (EGA 64-colour rule, a 256-entry ramp), not copied.
 */
import type { StdVga } from '../vga.js';
import { DISPI_IO_BASE, VGA_IO_BASE, VGA_LEGACY_GPA } from '../vga-constants.js';

/** A minimal board: ports and the legacy window of one StdVga, plus LFB pokes. */
export class VgaTestBus {
  constructor(readonly vga: StdVga) {}

  /** OUT byte to an absolute port. */
  outb(port: number, value: number): void {
    if (port >= VGA_IO_BASE && port < VGA_IO_BASE + 0x30) this.vga.ioPorts.write(port - VGA_IO_BASE, 1, value & 0xff);
    else if (port >= DISPI_IO_BASE && port < DISPI_IO_BASE + 3) this.vga.dispiPorts.write(port - DISPI_IO_BASE, 1, value & 0xff);
  }

  /** IN byte from an absolute port. */
  inb(port: number): number {
    if (port >= VGA_IO_BASE && port < VGA_IO_BASE + 0x30) return this.vga.ioPorts.read(port - VGA_IO_BASE, 1);
    if (port >= DISPI_IO_BASE && port < DISPI_IO_BASE + 3) return this.vga.dispiPorts.read(port - DISPI_IO_BASE, 1);
    return 0xff;
  }

  /** OUT word (VGA ports take it as two bytes, DISPI as one 16-bit register). */
  outw(port: number, value: number): void {
    if (port >= DISPI_IO_BASE && port < DISPI_IO_BASE + 3) this.vga.dispiPorts.write(port - DISPI_IO_BASE, 2, value & 0xffff);
    else this.vga.ioPorts.write(port - VGA_IO_BASE, 2, value & 0xffff);
  }

  /** IN word. */
  inw(port: number): number {
    if (port >= DISPI_IO_BASE && port < DISPI_IO_BASE + 3) return this.vga.dispiPorts.read(port - DISPI_IO_BASE, 2);
    return this.vga.ioPorts.read(port - VGA_IO_BASE, 2);
  }

  /** Byte write to a guest-physical address in 0xA0000-0xBFFFF. */
  writeb(gpa: number, value: number): void {
    this.vga.legacyWindow.write(gpa - VGA_LEGACY_GPA, 1, value & 0xff);
  }

  /** Word write to a guest-physical address in 0xA0000-0xBFFFF. */
  writew(gpa: number, value: number): void {
    this.vga.legacyWindow.write(gpa - VGA_LEGACY_GPA, 2, value & 0xffff);
  }

  /** Byte read from a guest-physical address in 0xA0000-0xBFFFF. */
  readb(gpa: number): number {
    return this.vga.legacyWindow.read(gpa - VGA_LEGACY_GPA, 1);
  }

  /** DISPI register write (outw index, outw data). */
  dispiWrite(index: number, value: number): void {
    this.outw(0x1ce, index);
    this.outw(0x1cf, value);
  }

  /** DISPI register read. */
  dispiRead(index: number): number {
    this.outw(0x1ce, index);
    return this.inw(0x1cf);
  }

  /** Attribute register write preserving the index/PAS (SeaBIOS stdvga_attr_write). */
  attrWrite(index: number, value: number): void {
    this.inb(0x3da);
    const orig = this.inb(0x3c0);
    this.outb(0x3c0, index);
    this.outb(0x3c0, value);
    this.outb(0x3c0, orig);
  }

  /** Attribute register read (SeaBIOS stdvga_attr_read). */
  attrRead(index: number): number {
    this.inb(0x3da);
    const orig = this.inb(0x3c0);
    this.outb(0x3c0, index);
    const v = this.inb(0x3c1);
    this.inb(0x3da);
    this.outb(0x3c0, orig);
    return v;
  }

  /** Read-modify-write of a CRTC register at the colour address. */
  crtcMask(index: number, off: number, on: number): void {
    this.outb(0x3d4, index);
    const v = this.inb(0x3d5);
    this.outb(0x3d5, (v & ~off) | on);
  }
}

interface StdMode {
  readonly pelMask: number;
  readonly palette: readonly number[];
  readonly seq: readonly number[];
  readonly misc: number;
  readonly crtc: readonly number[];
  readonly attr: readonly number[];
  readonly gc: readonly number[];
  readonly model: 'text' | 'cga' | 'planar' | 'packed';
}

/** The EGA 64-colour palette rule (rgbRGB bits), as 6-bit DAC values. */
export const EGA_PALETTE: readonly number[] = Array.from({ length: 64 }, (_, i) => [
  ((i >> 2) & 1) * 0x2a + ((i >> 5) & 1) * 0x15,
  ((i >> 1) & 1) * 0x2a + ((i >> 4) & 1) * 0x15,
  (i & 1) * 0x2a + ((i >> 3) & 1) * 0x15,
]).flat();

/** A 256-entry test palette for packed modes: entry i = (i>>2, (i*3)>>2 & 63, 63 - (i>>2)). */
export const RAMP_PALETTE: readonly number[] = Array.from({ length: 256 }, (_, i) => [i >> 2, ((i * 3) >> 2) & 63, 63 - (i >> 2)]).flat();

const SEQ_03 = [0x00, 0x03, 0x00, 0x02];
const SEQ_01 = [0x08, 0x03, 0x00, 0x02];
const ACTL_01 = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08];
const GRDC_01 = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x0f, 0xff];
const GRDC_0D = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0f, 0xff];
const ACTL_10 = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x01, 0x00, 0x0f, 0x00];

/** Standard VGA parameter tables for the modes the tests use. */
export const STD_MODES: Readonly<Record<number, StdMode>> = {
  0x01: {
    pelMask: 0xff, palette: EGA_PALETTE, seq: SEQ_01, misc: 0x67, model: 'text', attr: ACTL_01, gc: GRDC_01,
    crtc: [0x2d, 0x27, 0x28, 0x90, 0x2b, 0xa0, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
      0x9c, 0x8e, 0x8f, 0x14, 0x1f, 0x96, 0xb9, 0xa3, 0xff],
  },
  0x03: {
    pelMask: 0xff, palette: EGA_PALETTE, seq: SEQ_03, misc: 0x67, model: 'text', attr: ACTL_01, gc: GRDC_01,
    crtc: [0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
      0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff],
  },
  0x04: {
    pelMask: 0xff, palette: EGA_PALETTE, seq: [0x09, 0x03, 0x00, 0x02], misc: 0x63, model: 'cga',
    crtc: [0x2d, 0x27, 0x28, 0x90, 0x2b, 0x80, 0xbf, 0x1f, 0x00, 0xc1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x9c, 0x8e, 0x8f, 0x14, 0x00, 0x96, 0xb9, 0xa2, 0xff],
    attr: [0x00, 0x13, 0x15, 0x17, 0x02, 0x04, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x01, 0x00, 0x03, 0x00],
    gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x0f, 0x0f, 0xff],
  },
  0x0d: {
    pelMask: 0xff, palette: EGA_PALETTE, seq: [0x09, 0x0f, 0x00, 0x06], misc: 0x63, model: 'planar', gc: GRDC_0D,
    crtc: [0x2d, 0x27, 0x28, 0x90, 0x2b, 0x80, 0xbf, 0x1f, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x9c, 0x8e, 0x8f, 0x14, 0x00, 0x96, 0xb9, 0xe3, 0xff],
    attr: [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x01, 0x00, 0x0f, 0x00],
  },
  0x12: {
    pelMask: 0xff, palette: EGA_PALETTE, seq: [0x01, 0x0f, 0x00, 0x06], misc: 0xe3, model: 'planar', attr: ACTL_10, gc: GRDC_0D,
    crtc: [0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0xea, 0x8c, 0xdf, 0x28, 0x00, 0xe7, 0x04, 0xe3, 0xff],
  },
  0x13: {
    pelMask: 0xff, palette: RAMP_PALETTE, seq: [0x01, 0x0f, 0x00, 0x0e], misc: 0x63, model: 'packed',
    crtc: [0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x9c, 0x8e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff],
    attr: [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x41, 0x00, 0x0f, 0x00],
    gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff],
  },
  0x6a: {
    pelMask: 0xff, palette: EGA_PALETTE, seq: [0x01, 0x0f, 0x00, 0x06], misc: 0xe3, model: 'planar', attr: ACTL_10, gc: GRDC_0D,
    crtc: [0x7f, 0x63, 0x63, 0x83, 0x6b, 0x1b, 0x72, 0xf0, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x59, 0x8d, 0x57, 0x32, 0x00, 0x57, 0x73, 0xe3, 0xff],
  },
};

/** Options of setStdMode. */
export interface SetModeOptions {
  /** 256 glyphs of `fontHeight` bytes, loaded into plane 2 for text modes. */
  readonly font?: Uint8Array;
  /** Glyph height in bytes (16 for the 8x16 font). */
  readonly fontHeight?: number;
  /** Skip the screen clear (MF_NOCLEARMEM). */
  readonly noClear?: boolean;
}

/** SeaBIOS stdvga_init: colour decode, CPU access, 480 lines; memory mode "more than 64k". */
export function biosInit(bus: VgaTestBus): void {
  bus.outb(0x3c2, 0xc3);
  bus.outb(0x3c4, 0x04);
  bus.outb(0x3c5, 0x02);
}

/** SeaBIOS stdvga_load_font: plane 2 access, glyphs at 32-byte strides, restore. */
export function loadFont(bus: VgaTestBus, font: Uint8Array, height: number): void {
  bus.outw(0x3c4, 0x0100);
  bus.outw(0x3c4, 0x0402);
  bus.outw(0x3c4, 0x0704);
  bus.outw(0x3c4, 0x0300);
  bus.outw(0x3ce, 0x0204);
  bus.outw(0x3ce, 0x0005);
  bus.outw(0x3ce, 0x0406);
  for (let c = 0; c < 256; c++) {
    for (let l = 0; l < height; l++) bus.writeb(0xa0000 + c * 32 + l, font[c * height + l] ?? 0);
  }
  bus.outw(0x3c4, 0x0100);
  bus.outw(0x3c4, 0x0302);
  bus.outw(0x3c4, 0x0304);
  bus.outw(0x3c4, 0x0300);
  const v = (bus.inb(0x3cc) & 1) !== 0 ? 0x0e : 0x0a;
  bus.outw(0x3ce, (v << 8) | 0x06);
  bus.outw(0x3ce, 0x0004);
  bus.outw(0x3ce, 0x1005);
}

/** SeaBIOS stdvga_set_mode for one of STD_MODES. */
export function setStdMode(bus: VgaTestBus, mode: number, options: SetModeOptions = {}): void {
  const m = STD_MODES[mode];
  if (m === undefined) throw new Error(`setStdMode: no table for mode ${mode.toString(16)}`);
  bus.outb(0x3c6, m.pelMask);
  bus.outb(0x3c8, 0);
  for (let i = 0; i < 256 * 3; i++) bus.outb(0x3c9, m.palette[i] ?? 0);
  for (let i = 0; i <= 0x13; i++) bus.attrWrite(i, m.attr[i]!);
  bus.attrWrite(0x14, 0);
  bus.outw(0x3c4, 0x0300);
  for (let i = 1; i <= 4; i++) bus.outw(0x3c4, (m.seq[i - 1]! << 8) | i);
  for (let i = 0; i <= 8; i++) bus.outw(0x3ce, (m.gc[i]! << 8) | i);
  const crtc = (m.misc & 1) !== 0 ? 0x3d4 : 0x3b4;
  bus.outw(crtc, 0x0011);
  for (let i = 0; i <= 0x18; i++) bus.outw(crtc, (m.crtc[i]! << 8) | i);
  bus.outb(0x3c2, m.misc);
  bus.inb(0x3da);
  bus.outb(0x3c0, 0x20);
  if (options.noClear !== true) {
    // memset16_far of 32 KiB (text, CGA) or 64 KiB (graphics).
    if (m.model === 'text') for (let i = 0; i < 0x4000; i++) bus.writew(0xb8000 + i * 2, 0x0720);
    else if (m.model === 'cga') for (let i = 0; i < 0x4000; i++) bus.writew(0xb8000 + i * 2, 0);
    else for (let i = 0; i < 0x8000; i++) bus.writew(0xa0000 + i * 2, 0);
  }
  if (m.model === 'text') {
    const h = options.fontHeight ?? 16;
    loadFont(bus, options.font ?? new Uint8Array(256 * h), h);
  }
}

/** SeaBIOS bochsvga_set_mode for a packed (8/15/16/24/32 bpp) or planar (4 bpp) VBE mode. */
export function setVbeMode(bus: VgaTestBus, width: number, height: number, depth: number, options: { lfb?: boolean; noClear?: boolean } = {}): void {
  bus.dispiWrite(4, 0);
  const planar = depth === 4;
  if (planar) setStdMode(bus, 0x6a, { noClear: true });
  else {
    bus.outb(0x3c8, 0);
    for (let i = 0; i < 256 * 3; i++) bus.outb(0x3c9, RAMP_PALETTE[i]!);
  }
  bus.dispiWrite(3, depth);
  bus.dispiWrite(1, width);
  bus.dispiWrite(2, height);
  bus.dispiWrite(5, 0);
  bus.dispiWrite(4, 0x01 | (options.noClear === true ? 0x80 : 0) | (options.lfb !== false ? 0x40 : 0));
  // VGA compatibility setup.
  bus.outb(0x3d4, 0x11); bus.outb(0x3d5, 0x00);
  bus.outb(0x3d4, 0x01); bus.outb(0x3d5, (width / 8 - 1) & 0xff);
  const bytesPerLine = planar ? width / 8 : (width * (depth === 15 ? 16 : depth)) / 8;
  bus.outb(0x3d4, 0x13); bus.outb(0x3d5, (bytesPerLine / 8) & 0xff);
  bus.outb(0x3d4, 0x12); bus.outb(0x3d5, (height - 1) & 0xff);
  let v = 0;
  if (((height - 1) & 0x100) !== 0) v |= 0x02;
  if (((height - 1) & 0x200) !== 0) v |= 0x40;
  bus.crtcMask(0x07, 0x42, v);
  bus.outb(0x3d4, 0x09); bus.outb(0x3d5, 0x00);
  bus.crtcMask(0x17, 0x00, 0x03);
  bus.attrWrite(0x10, bus.attrRead(0x10) | 0x01);
  bus.outw(0x3ce, 0x0506);
  bus.outw(0x3c4, 0x0f02);
  if (!planar) {
    bus.crtcMask(0x14, 0x00, 0x40);
    bus.attrWrite(0x10, bus.attrRead(0x10) | 0x40);
    bus.outb(0x3c4, 0x04); bus.outb(0x3c5, bus.inb(0x3c5) | 0x08);
    bus.outb(0x3ce, 0x05); bus.outb(0x3cf, (bus.inb(0x3cf) & ~0x20) | 0x40);
  }
  bus.inb(0x3da);
  bus.outb(0x3c0, 0x20);
}
