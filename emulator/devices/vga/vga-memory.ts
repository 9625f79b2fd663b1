/**
 * VGA planar memory access through the legacy window 0xA0000-0xBFFFF: the graphics
 * controller's memory map select, chain 4, odd/even, the four plane latches, read modes
 * 0/1 and write modes 0-3 with set/reset, data rotate, logical function and bit mask,
 * gated by the sequencer map mask.
 *
 * Follows the IBM VGA Technical Reference, "Graphics Controller Registers" and
 * "Sequencer Registers" (SR02, SR04), and QEMU's vga_mem_readb/vga_mem_writeb.
 *
 * Layout (QEMU's): plane p of plane address a lives at VRAM byte 4a + p, so the four
 * planes of one address form a little-endian 32-bit word (the latch width), chain-4
 * byte A lands on VRAM byte A (the same bytes a VBE 8-bpp linear mode shows), and in
 * odd/even mode byte A goes to plane address A >> 1. Real hardware keeps chain-4 and
 * odd/even data at the unshifted plane address; only a guest mixing chain-4 writes with
 * unchained reads of the same data could tell the difference.
 *
 * Left out: misc output bit 1 (RAM disable) and GR06 bit 1 (chain odd maps) are not
 * decoded; the odd/even page bit (misc bit 5) is not applied.
 */
import type { VgaRegisters } from './vga-registers.js';
import {
  GR_BIT_MASK, GR_COLOR_COMPARE, GR_COLOR_DONT_CARE, GR_DATA_ROTATE, GR_ENABLE_SET_RESET,
  GR_MISC, GR_MODE, GR_READ_MAP, GR_SET_RESET, SR04_CHAIN4, SR04_ODD_EVEN_DISABLE, SR_MAP_MASK,
  SR_MEMORY_MODE,
} from './vga-constants.js';

/** Expands a 4-bit plane mask to one 0xFF byte per selected plane. */
export const PLANE_MASK32: readonly number[] = Array.from({ length: 16 }, (_, m) =>
  ((m & 1 ? 0xff : 0) | (m & 2 ? 0xff00 : 0) | (m & 4 ? 0xff0000 : 0) | (m & 8 ? 0xff000000 : 0)) >>> 0);

/** The VRAM views and banking the memory path needs. */
export interface VramAccess {
  /** Byte view of the whole VRAM block. */
  readonly u8: Uint8Array;
  /** 32-bit view of the whole VRAM block (one word per plane address). */
  readonly u32: Uint32Array;
  /** VRAM size in bytes. */
  readonly bytes: number;
}

/**
 * Maps a window offset (gpa - 0xA0000) to an address inside the decoded window, or -1
 * when GR06's memory map select leaves that part of the window undecoded.
 */
export function decodeWindow(r: VgaRegisters, offset: number): number {
  switch ((r.gr[GR_MISC]! >> 2) & 3) {
    case 0: return offset & 0x1ffff;
    case 1: return offset < 0x10000 ? offset : -1;
    case 2: return offset >= 0x10000 && offset < 0x18000 ? offset - 0x10000 : -1;
    default: return offset >= 0x18000 && offset < 0x20000 ? offset - 0x18000 : -1;
  }
}

/**
 * Reads one byte at window offset `offset`. `bankOffset` is the Bochs VBE bank base (0 when
 * VBE is off); `planeWrap` is the plane size mask (0xFFFF for legacy modes).
 */
export function legacyRead(r: VgaRegisters, m: VramAccess, offset: number, bankOffset: number, planeWrap: number): number {
  const w = decodeWindow(r, offset);
  if (w < 0) return 0xff;
  const a = w + bankOffset;
  const memMode = r.seq[SR_MEMORY_MODE]!;
  if ((memMode & SR04_CHAIN4) !== 0) {
    if (a >= m.bytes) return 0xff;
    r.latch = m.u32[a >>> 2]!;
    return m.u8[a]!;
  }
  const mode = r.gr[GR_MODE]!;
  if ((mode & 0x10) !== 0) {
    // Odd/even: A0 picks plane 0/1 (or 2/3 with read map bit 1).
    const pa = (a >>> 1) & planeWrap;
    if (pa * 4 >= m.bytes) return 0xff;
    r.latch = m.u32[pa]!;
    const plane = (r.gr[GR_READ_MAP]! & 2) | (a & 1);
    return m.u8[pa * 4 + plane]!;
  }
  const pa = a & planeWrap;
  if (pa * 4 >= m.bytes) return 0xff;
  const latch = m.u32[pa]!;
  r.latch = latch;
  if ((mode & 0x08) === 0) {
    // Read mode 0: the selected plane.
    return (latch >>> ((r.gr[GR_READ_MAP]! & 3) * 8)) & 0xff;
  }
  // Read mode 1: colour compare, 1 where every cared-for plane matches GR02.
  let x = ((latch ^ PLANE_MASK32[r.gr[GR_COLOR_COMPARE]! & 0xf]!) & PLANE_MASK32[r.gr[GR_COLOR_DONT_CARE]! & 0xf]!) >>> 0;
  x |= x >>> 16;
  x |= x >>> 8;
  return ~x & 0xff;
}

/**
 * Writes one byte at window offset `offset`. Returns the VRAM byte offset touched (for
 * dirty tracking) or -1 when nothing was written.
 */
export function legacyWrite(r: VgaRegisters, m: VramAccess, offset: number, value: number, bankOffset: number, planeWrap: number): number {
  const w = decodeWindow(r, offset);
  if (w < 0) return -1;
  const a = w + bankOffset;
  value &= 0xff;
  const memMode = r.seq[SR_MEMORY_MODE]!;
  const mapMask = r.seq[SR_MAP_MASK]! & 0xf;
  if ((memMode & SR04_CHAIN4) !== 0) {
    if (a >= m.bytes || (mapMask & (1 << (a & 3))) === 0) return -1;
    m.u8[a] = value;
    return a;
  }
  if ((memMode & SR04_ODD_EVEN_DISABLE) === 0) {
    // Odd/even: even bytes go to planes 0 and 2, odd bytes to planes 1 and 3.
    const pa = (a >>> 1) & planeWrap;
    if (pa * 4 >= m.bytes) return -1;
    const planes = mapMask & ((a & 1) !== 0 ? 0b1010 : 0b0101);
    if (planes === 0) return -1;
    const base = pa * 4;
    for (let p = 0; p < 4; p++) if ((planes & (1 << p)) !== 0) m.u8[base + p] = value;
    return base;
  }
  const pa = a & planeWrap;
  if (pa * 4 >= m.bytes) return -1;
  const latch = r.latch;
  const gr = r.gr;
  let v: number;
  let bitMask = gr[GR_BIT_MASK]!;
  const rotate = gr[GR_DATA_ROTATE]! & 7;
  switch (gr[GR_MODE]! & 3) {
    case 0: {
      let b = ((value >>> rotate) | (value << (8 - rotate))) & 0xff;
      b |= b << 8;
      b |= b << 16;
      const setMask = PLANE_MASK32[gr[GR_ENABLE_SET_RESET]! & 0xf]!;
      v = ((b & ~setMask) | (PLANE_MASK32[gr[GR_SET_RESET]! & 0xf]! & setMask)) >>> 0;
      break;
    }
    case 1:
      m.u32[pa] = ((m.u32[pa]! & ~PLANE_MASK32[mapMask]!) | (latch & PLANE_MASK32[mapMask]!)) >>> 0;
      return pa * 4;
    case 2:
      v = PLANE_MASK32[value & 0xf]!;
      break;
    default: {
      const b = ((value >>> rotate) | (value << (8 - rotate))) & 0xff;
      bitMask &= b;
      v = PLANE_MASK32[gr[GR_SET_RESET]! & 0xf]!;
      break;
    }
  }
  switch ((gr[GR_DATA_ROTATE]! >>> 3) & 3) {
    case 1: v &= latch; break;
    case 2: v |= latch; break;
    case 3: v ^= latch; break;
    default: break;
  }
  bitMask |= bitMask << 8;
  bitMask |= bitMask << 16;
  v = ((v & bitMask) | (latch & ~bitMask)) >>> 0;
  const wm = PLANE_MASK32[mapMask]!;
  m.u32[pa] = ((m.u32[pa]! & ~wm) | (v & wm)) >>> 0;
  return pa * 4;
}
