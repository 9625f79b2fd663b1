/**
 * Decodes what a StdVga currently displays: blank, text, 16-colour planar, CGA 4-colour,
 * 256-colour (chain 4 or unchained "mode X"), or a Bochs VBE linear mode, with the
 * geometry the renderer and the text extractor need.
 *
 * Follows the IBM VGA Technical Reference for how the CRTC, sequencer, graphics and
 * attribute registers select the display (GR06 bit 0 text/graphics, GR05 bits 5-6 shift
 * register mode, SR01 dot clock / 8-9 dot cells, CR09 scan lines, CR12/CR07 vertical
 * display end, CR13 offset, CR0C/CR0D start, CR18/CR07/CR09 line compare) and QEMU's
 * vga.c for the output size of each mode (mode 13h is shown 640x400, as the CRT would).
 * Left out: horizontal/vertical timing beyond display end, border (overscan) area.
 */
import type { StdVga } from '../devices/vga/vga.js';
import {
  CR_H_DISPLAY_END, CR_LINE_COMPARE, CR_MAX_SCAN, CR_MODE, CR_OFFSET, CR_OVERFLOW,
  CR_START_HI, CR_START_LO, CR_V_DISPLAY_END, GR_MISC, GR_MODE, SR_CLOCK_MODE, VGA_PLANAR_BYTES,
} from '../devices/vga/vga-constants.js';

/** Kinds of picture the VGA can show. */
export type VgaDisplayKind = 'blank' | 'text' | 'planar' | 'cga' | 'vga256' | 'vbe';

/** The decoded display mode. Fields not relevant to `kind` are 0. */
export interface VgaDisplayMode {
  readonly kind: VgaDisplayKind;
  /** Output width in pixels. */
  readonly width: number;
  /** Output height in pixels. */
  readonly height: number;
  /** Legacy modes: CRTC start address (plane address units). */
  readonly startAddr: number;
  /** Legacy modes: plane addresses per character row / scan line group (CR13 * 2). */
  readonly lineOffset: number;
  /** Legacy graphics: extra repeats of each scan line (CR09 max scan / double scan). */
  readonly multiScan: number;
  /** Legacy graphics: output line after which the address restarts at 0. */
  readonly lineCompare: number;
  /** Plane address wrap mask (0xFFFF for legacy VGA). */
  readonly addrMask: number;
  /** Each source pixel is two output pixels wide (dot clock / 2, or 256-colour modes). */
  readonly pixelDouble: boolean;
  /** CR17 mode control (CGA/Hercules address interleave). */
  readonly crtcMode: number;
  /** Text: columns. */
  readonly cols: number;
  /** Text: rows. */
  readonly rows: number;
  /** Text: cell width in dots (8 or 9). */
  readonly charWidth: number;
  /** Text: cell height in scan lines. */
  readonly charHeight: number;
  /** VBE: bits per pixel (4, 8, 15, 16, 24, 32). */
  readonly bpp: number;
  /** VBE: VRAM byte offset of the first displayed pixel. */
  readonly startByte: number;
  /** VBE: bytes per logical line. */
  readonly lineBytes: number;
}

/** Size used for blank or nonsensical register states. */
const FALLBACK = { width: 640, height: 480 };
/** Largest legacy output dimension accepted; beyond it the registers are nonsense. */
const MAX_LEGACY = 4096;

const ZERO: Omit<VgaDisplayMode, 'kind' | 'width' | 'height'> = {
  startAddr: 0, lineOffset: 0, multiScan: 0, lineCompare: 0, addrMask: 0, pixelDouble: false, crtcMode: 0,
  cols: 0, rows: 0, charWidth: 0, charHeight: 0, bpp: 0, startByte: 0, lineBytes: 0,
};

/** A blank display of the given size. */
export function blankMode(width = FALLBACK.width, height = FALLBACK.height): VgaDisplayMode {
  return { ...ZERO, kind: 'blank', width, height };
}

/** Decodes the current display mode of `vga`. */
export function decodeDisplayMode(vga: StdVga): VgaDisplayMode {
  const r = vga.regs;
  const vbe = vga.vbe;
  if (vbe.enabled) {
    const width = vbe.xres;
    const height = vbe.yres;
    if (!r.displayEnabled) return blankMode(width, height);
    if (vbe.bpp === 4) {
      return {
        ...ZERO, kind: 'planar', width, height, startAddr: vbe.startByte >>> 2, lineOffset: vbe.lineOffset >>> 2,
        lineCompare: Infinity, addrMask: (vga.vramBytes >>> 2) - 1, crtcMode: 3,
      };
    }
    return { ...ZERO, kind: 'vbe', width, height, bpp: vbe.bpp, startByte: vbe.startByte, lineBytes: vbe.lineOffset };
  }
  const cr = r.crtc;
  const vde = (cr[CR_V_DISPLAY_END]! | ((cr[CR_OVERFLOW]! & 0x02) << 7) | ((cr[CR_OVERFLOW]! & 0x40) << 3)) + 1;
  const clock = r.seq[SR_CLOCK_MODE]!;
  const startAddr = (cr[CR_START_HI]! << 8) | cr[CR_START_LO]!;
  const lineOffset = cr[CR_OFFSET]! * 2;
  const addrMask = (VGA_PLANAR_BYTES >>> 2) - 1;
  if ((r.gr[GR_MISC]! & 1) === 0) {
    const charHeight = (cr[CR_MAX_SCAN]! & 0x1f) + 1;
    const charWidth = (clock & 1) !== 0 ? 8 : 9;
    const cols = cr[CR_H_DISPLAY_END]! + 1;
    const rows = Math.floor(vde / charHeight);
    const pixelDouble = (clock & 8) !== 0;
    const width = cols * charWidth * (pixelDouble ? 2 : 1);
    const height = rows * charHeight;
    if (rows < 1 || width > MAX_LEGACY || height > MAX_LEGACY) return blankMode();
    if (!r.displayEnabled) return blankMode(width, height);
    return {
      ...ZERO, kind: 'text', width, height, startAddr, lineOffset, addrMask, pixelDouble,
      cols, rows, charWidth, charHeight, crtcMode: cr[CR_MODE]!,
    };
  }
  const shift = (r.gr[GR_MODE]! >> 5) & 3;
  const doubleScan = cr[CR_MAX_SCAN]! >> 7;
  const multiScan = shift === 1 ? doubleScan : (((cr[CR_MAX_SCAN]! & 0x1f) + 1) << doubleScan) - 1;
  let width = (cr[CR_H_DISPLAY_END]! + 1) * 8;
  const halfClock = (clock & 8) !== 0;
  if (shift <= 1 && halfClock) width *= 2;
  const height = vde;
  if (width > MAX_LEGACY || height > MAX_LEGACY) return blankMode();
  if (!r.displayEnabled) return blankMode(width, height);
  const lineCompare = cr[CR_LINE_COMPARE]! | ((cr[CR_OVERFLOW]! & 0x10) << 4) | ((cr[CR_MAX_SCAN]! & 0x40) << 3);
  const kind: VgaDisplayKind = shift === 0 ? 'planar' : shift === 1 ? 'cga' : 'vga256';
  // A 256-colour pixel takes two dot clocks (the attribute controller pairs nibbles).
  const pixelDouble = kind === 'vga256' ? true : halfClock;
  return {
    ...ZERO, kind, width, height, startAddr, lineOffset, multiScan, lineCompare, addrMask,
    pixelDouble, crtcMode: cr[CR_MODE]!,
  };
}

/** A string that changes whenever the mode's geometry changes. */
export function modeKey(m: VgaDisplayMode): string {
  return `${m.kind}:${m.width}x${m.height}:${m.startAddr}:${m.lineOffset}:${m.multiScan}:${m.lineCompare}:` +
    `${m.pixelDouble ? 1 : 0}:${m.crtcMode}:${m.cols}x${m.rows}:${m.charWidth}x${m.charHeight}:${m.bpp}:${m.startByte}:${m.lineBytes}`;
}
