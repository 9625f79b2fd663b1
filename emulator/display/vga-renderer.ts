/**
 * Turns the state of a StdVga into an RGBA framebuffer and reports which rectangles
 * changed since the previous call.
 *
 * Modes: text (8/9-dot cells, font from plane 2 with SR03 map A/B, line-graphics
 * duplication of column 8 into column 9 for 0xC0-0xDF when AR10 bit 2 is set, blink
 * (AR10 bit 3), cursor start/end scan lines and position, 40-column dot doubling),
 * 16-colour planar (modes 0Dh-12h, 6Ah, VBE 4 bpp) with pixel panning, CGA 4-colour
 * (modes 04h/05h with the CR17 address interleave), 256-colour (mode 13h and unchained
 * mode X) and VBE linear 8/15/16/24/32 bpp with virtual width and display offsets.
 * Colours go through the attribute palette (AR00-AR0F, AR10 bit 7, AR12, AR14), the DAC
 * pixel mask and the DAC (6-bit components scaled, or 8-bit in VBE 8BIT_DAC mode).
 * Follows the IBM VGA Technical Reference and QEMU's vga.c/vga-helpers.h line addressing.
 * Left out: the overscan border, underline in monochrome text, CR08 preset row scan,
 * cursor skew, split-screen pixel-panning reset (AR10 bit 5), text-mode double scan.
 *
 * Change detection (the LFB is mapped straight into the guest, so writes never pass the
 * device): VBE packed modes keep a shadow copy of the displayed bytes and compare it tile
 * by tile, converting only tiles whose bytes changed, or everything after a register or
 * palette write. Legacy modes compare the 256 KiB planar memory with a shadow and the
 * register generation; when something changed, the whole (small) frame is rendered into
 * a back buffer and compared with the previous frame tile by tile.
 */
import type { StdVga } from '../devices/vga/vga.js';
import {
  AR_COLOR_SELECT, AR_MODE, AR_PANNING, AR_PLANE_ENABLE, CR_CURSOR_END, CR_CURSOR_HI, CR_CURSOR_LO,
  CR_CURSOR_START, SR_CHAR_MAP, VGA_PLANAR_BYTES,
} from '../devices/vga/vga-constants.js';
import { VGA_FRAME_NS } from '../devices/vga/vga-registers.js';
import { blankMode, decodeDisplayMode, modeKey, type VgaDisplayMode } from './vga-mode.js';

/** A changed area of the framebuffer in pixels. */
export interface DirtyRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** What `render()` returns. */
export interface RenderResult {
  /** Framebuffer width in pixels. */
  readonly width: number;
  /** Framebuffer height in pixels. */
  readonly height: number;
  /** The size changed since the previous call (`dirty` then covers everything). */
  readonly resized: boolean;
  /** Changed areas since the previous call, at tile granularity; empty if nothing changed. */
  readonly dirty: readonly DirtyRect[];
  /**
   * The current frame, RGBA, width * height * 4 bytes. Owned by the renderer and valid
   * until the next `render()` (which may return a different array).
   */
  readonly pixels: Uint8ClampedArray;
  /** What the VGA displays. */
  readonly mode: VgaDisplayMode;
}

/** Options of VgaRenderer. */
export interface VgaRendererOptions {
  /** Tile width in pixels for dirty tracking (default 64). */
  readonly tileWidth?: number;
  /** Tile height in pixels for dirty tracking (default 16). */
  readonly tileHeight?: number;
}

const OPAQUE = 0xff000000;
/** Frames per cursor blink half-period, and per character blink half-period. */
const CURSOR_BLINK_FRAMES = 8;
const CHAR_BLINK_FRAMES = 16;

/** Packs r, g, b into a little-endian RGBA word. */
function rgba(r: number, g: number, b: number): number {
  return (OPAQUE | (b << 16) | (g << 8) | r) >>> 0;
}

/** Renders one StdVga. Holds the previous frame; one renderer per display consumer. */
export class VgaRenderer {
  /** Tile width for dirty tracking. */
  readonly tileWidth: number;
  /** Tile height for dirty tracking. */
  readonly tileHeight: number;
  private width = 0;
  private height = 0;
  private frame = new Uint8ClampedArray(0);
  private frame32 = new Uint32Array(0);
  private back = new Uint8ClampedArray(0);
  private back32 = new Uint32Array(0);
  private tilesX = 0;
  private tilesY = 0;
  private tileDirty = new Uint8Array(0);
  private shadow = new Uint8Array(0);
  private shadow32 = new Int32Array(0);
  private readonly planarShadow = new Uint32Array(VGA_PLANAR_BYTES >>> 2);
  private readonly vram32: Int32Array;
  private readonly pal16 = new Uint32Array(16);
  private readonly pal256 = new Uint32Array(256);
  private lastKey = '';
  private lastGeneration = -1;
  private lastBlink = -1;
  private forceAll = true;

  constructor(private readonly vga: StdVga, options: VgaRendererOptions = {}) {
    this.tileWidth = options.tileWidth ?? 64;
    this.tileHeight = options.tileHeight ?? 16;
    if (this.tileWidth < 1 || this.tileHeight < 1) throw new RangeError('VgaRenderer: tile size must be positive');
    this.vram32 = new Int32Array(vga.vramU32.buffer, vga.vramU32.byteOffset, vga.vramU32.length);
  }

  /** Forces the next `render()` to report the whole frame as changed. */
  invalidate(): void {
    this.forceAll = true;
  }

  /** The current frame without rendering (RGBA). */
  get pixels(): Uint8ClampedArray {
    return this.frame;
  }

  /** Renders the current VGA state; returns the frame and what changed. */
  render(): RenderResult {
    let mode = decodeDisplayMode(this.vga);
    if (mode.width < 1 || mode.height < 1) mode = blankMode();
    const resized = mode.width !== this.width || mode.height !== this.height;
    if (resized) this.resize(mode.width, mode.height);
    const key = modeKey(mode);
    const generation = this.vga.regs.generation;
    const all = this.forceAll || resized || key !== this.lastKey;
    this.tileDirty.fill(0);
    if (mode.kind === 'vbe') {
      this.renderVbe(mode, all || generation !== this.lastGeneration);
    } else {
      let changed = all || generation !== this.lastGeneration;
      if (this.planarChanged()) changed = true;
      if (mode.kind === 'planar' && mode.addrMask !== 0xffff) changed = true; // VBE 4 bpp: beyond the shadow
      if (mode.kind === 'text') {
        const blink = this.blinkPhase();
        if (blink !== this.lastBlink) changed = true;
        this.lastBlink = blink;
      }
      if (changed) this.renderLegacy(mode, all);
    }
    this.lastKey = key;
    this.lastGeneration = generation;
    this.forceAll = false;
    return { width: this.width, height: this.height, resized, dirty: this.collectRects(), pixels: this.frame, mode };
  }

  private resize(width: number, height: number): void {
    this.width = width;
    this.height = height;
    this.frame = new Uint8ClampedArray(width * height * 4);
    this.frame32 = new Uint32Array(this.frame.buffer);
    this.back = new Uint8ClampedArray(0);
    this.back32 = new Uint32Array(0);
    this.tilesX = Math.ceil(width / this.tileWidth);
    this.tilesY = Math.ceil(height / this.tileHeight);
    this.tileDirty = new Uint8Array(this.tilesX * this.tilesY);
    this.shadow = new Uint8Array(0);
    this.shadow32 = new Int32Array(0);
  }

  /** Compares the legacy 256 KiB with its shadow; refreshes the shadow. */
  private planarChanged(): boolean {
    const src = this.vga.vramU32;
    const sh = this.planarShadow;
    const n = sh.length;
    for (let i = 0; i < n; i++) {
      if (src[i] !== sh[i]) {
        sh.set(src.subarray(0, n));
        return true;
      }
    }
    return false;
  }

  private blinkPhase(): number {
    return Math.floor(this.vga.clock.nowNs() / (VGA_FRAME_NS * CURSOR_BLINK_FRAMES)) & 3;
  }

  private dacColor(index: number): number {
    const d = this.vga.regs.dac;
    const i = (index & this.vga.regs.dacMask) * 3;
    let r = d[i]!;
    let g = d[i + 1]!;
    let b = d[i + 2]!;
    if (!this.vga.regs.dac8bit) {
      r &= 0x3f; g &= 0x3f; b &= 0x3f;
      r = (r << 2) | (r >> 4);
      g = (g << 2) | (g >> 4);
      b = (b << 2) | (b >> 4);
    }
    return rgba(r, g, b);
  }

  private updatePalettes(): void {
    const ar = this.vga.regs.attr;
    const mode = ar[AR_MODE]!;
    const planeEnable = ar[AR_PLANE_ENABLE]! & 0xf;
    const colorSelect = ar[AR_COLOR_SELECT]!;
    for (let v = 0; v < 16; v++) {
      const pal = ar[v & planeEnable]!;
      let idx = (mode & 0x80) !== 0 ? (pal & 0x0f) | ((colorSelect & 3) << 4) : pal & 0x3f;
      idx |= (colorSelect & 0x0c) << 4;
      this.pal16[v] = this.dacColor(idx);
    }
    for (let i = 0; i < 256; i++) this.pal256[i] = this.dacColor(i);
  }

  // ---- legacy modes: full render into the back buffer, then tile compare ----

  private renderLegacy(mode: VgaDisplayMode, all: boolean): void {
    if (this.back.length !== this.frame.length) {
      this.back = new Uint8ClampedArray(this.frame.length);
      this.back32 = new Uint32Array(this.back.buffer);
    }
    const out = this.back32;
    this.updatePalettes();
    switch (mode.kind) {
      case 'text': this.drawText(mode, out); break;
      case 'planar':
      case 'cga':
      case 'vga256': this.drawGraphics(mode, out); break;
      default: out.fill(OPAQUE); break;
    }
    this.compareTiles(out, all);
    const f = this.frame;
    const f32 = this.frame32;
    this.frame = this.back;
    this.frame32 = this.back32;
    this.back = f;
    this.back32 = f32;
  }

  private compareTiles(next: Uint32Array, all: boolean): void {
    const prev = this.frame32;
    const w = this.width;
    const tw = this.tileWidth;
    const th = this.tileHeight;
    for (let ty = 0; ty < this.tilesY; ty++) {
      const y0 = ty * th;
      const y1 = Math.min(this.height, y0 + th);
      for (let tx = 0; tx < this.tilesX; tx++) {
        const t = ty * this.tilesX + tx;
        if (all) { this.tileDirty[t] = 1; continue; }
        const x0 = tx * tw;
        const x1 = Math.min(w, x0 + tw);
        scan: for (let y = y0; y < y1; y++) {
          const row = y * w;
          for (let x = x0; x < x1; x++) {
            if (next[row + x] !== prev[row + x]) { this.tileDirty[t] = 1; break scan; }
          }
        }
      }
    }
  }

  private drawText(m: VgaDisplayMode, out: Uint32Array): void {
    const r = this.vga.regs;
    const u8 = this.vga.vramU8;
    const cr = r.crtc;
    const arMode = r.attr[AR_MODE]!;
    const blinkEnabled = (arMode & 0x08) !== 0;
    const lineGraphics = (arMode & 0x04) !== 0;
    const frameNo = Math.floor(this.vga.clock.nowNs() / VGA_FRAME_NS);
    const cursorOn = Math.floor(frameNo / CURSOR_BLINK_FRAMES) % 2 === 0;
    const blinkOn = Math.floor(frameNo / CHAR_BLINK_FRAMES) % 2 === 0;
    const cs = cr[CR_CURSOR_START]!;
    const cursorStart = cs & 0x1f;
    const cursorEnd = Math.min(cr[CR_CURSOR_END]! & 0x1f, m.charHeight - 1);
    const cursorShown = (cs & 0x20) === 0 && cursorOn && cursorStart <= cursorEnd;
    const cursorAddr = ((cr[CR_CURSOR_HI]! << 8) | cr[CR_CURSOR_LO]!) & m.addrMask;
    const cmap = r.seq[SR_CHAR_MAP]!;
    const fontB = ((((cmap >> 4) & 1) | ((cmap << 1) & 6)) * 8192);
    const fontA = ((((cmap >> 5) & 1) | ((cmap >> 1) & 6)) * 8192);
    const dd = m.pixelDouble ? 2 : 1;
    const cw = m.charWidth;
    const w = this.width;
    for (let row = 0; row < m.rows; row++) {
      for (let col = 0; col < m.cols; col++) {
        const a = (m.startAddr + row * m.lineOffset + col) & m.addrMask;
        const ch = u8[a * 4]!;
        const at = u8[a * 4 + 1]!;
        let fg = at & 0x0f;
        let bg = at >> 4;
        if (blinkEnabled) {
          bg &= 7;
          if ((at & 0x80) !== 0 && !blinkOn) fg = bg;
        }
        const fgC = this.pal16[fg]!;
        const bgC = this.pal16[bg]!;
        const glyph = ((at & 0x08) !== 0 ? fontA : fontB) + ch * 32;
        const dup = cw === 9 && lineGraphics && ch >= 0xc0 && ch <= 0xdf;
        const isCursor = cursorShown && a === cursorAddr;
        const x0 = col * cw * dd;
        for (let line = 0; line < m.charHeight; line++) {
          let bits = u8[((glyph + line) & m.addrMask) * 4 + 2]!;
          let ninth = dup ? bits & 1 : 0;
          if (isCursor && line >= cursorStart && line <= cursorEnd) { bits = 0xff; ninth = 1; }
          let o = (row * m.charHeight + line) * w + x0;
          for (let i = 0; i < 8; i++) {
            const c = (bits & (0x80 >> i)) !== 0 ? fgC : bgC;
            out[o++] = c;
            if (dd === 2) out[o++] = c;
          }
          if (cw === 9) {
            const c = ninth !== 0 ? fgC : bgC;
            out[o++] = c;
            if (dd === 2) out[o++] = c;
          }
        }
      }
    }
  }

  private drawGraphics(m: VgaDisplayMode, out: Uint32Array): void {
    const r = this.vga.regs;
    const cr17 = m.crtcMode;
    const w = this.width;
    const srcPixels = m.pixelDouble ? w >>> 1 : w;
    const pan = m.kind === 'planar' ? r.attr[AR_PANNING]! & 7 : m.kind === 'vga256' ? (r.attr[AR_PANNING]! >> 1) & 3 : 0;
    let addr1 = m.startAddr;
    let y1 = 0;
    let multiRun = m.multiScan;
    for (let y = 0; y < this.height; y++) {
      let addr = addr1;
      if ((cr17 & 1) === 0) {
        const shift = 12 + ((cr17 >> 6) & 1);
        addr = (addr & ~(1 << shift)) | ((y1 & 1) << shift);
      }
      if ((cr17 & 2) === 0) addr = (addr & ~0x2000) | ((y1 & 2) << 12);
      const o = y * w;
      if (m.kind === 'planar') this.linePlanar(out, o, addr, srcPixels, pan, m);
      else if (m.kind === 'cga') this.lineCga(out, o, addr, srcPixels, m);
      else this.line256(out, o, addr, srcPixels, pan, m);
      if (multiRun === 0) {
        const mask = (cr17 & 3) ^ 3;
        if ((y1 & mask) === mask) addr1 += m.lineOffset;
        y1++;
        multiRun = m.multiScan;
      } else {
        multiRun--;
      }
      if (y === m.lineCompare) addr1 = 0;
    }
  }

  private linePlanar(out: Uint32Array, o: number, addr: number, n: number, pan: number, m: VgaDisplayMode): void {
    const u32 = this.vga.vramU32;
    const dd = m.pixelDouble;
    for (let x = 0; x < n; x++) {
      const s = x + pan;
      const word = u32[(addr + (s >>> 3)) & m.addrMask]!;
      const bit = 7 - (s & 7);
      const v = ((word >>> bit) & 1) | ((word >>> (bit + 7)) & 2) | ((word >>> (bit + 14)) & 4) | ((word >>> (bit + 21)) & 8);
      const c = this.pal16[v]!;
      out[o++] = c;
      if (dd) out[o++] = c;
    }
  }

  private lineCga(out: Uint32Array, o: number, addr: number, n: number, m: VgaDisplayMode): void {
    const u32 = this.vga.vramU32;
    const dd = m.pixelDouble;
    for (let s = 0; s < n; s++) {
      const word = u32[(addr + (s >>> 3)) & m.addrMask]!;
      const plane = (s >>> 2) & 1;
      const sh = (3 - (s & 3)) * 2;
      const v = ((word >>> (plane * 8 + sh)) & 3) | (((word >>> ((plane + 2) * 8 + sh)) & 3) << 2);
      const c = this.pal16[v]!;
      out[o++] = c;
      if (dd) out[o++] = c;
    }
  }

  private line256(out: Uint32Array, o: number, addr: number, n: number, pan: number, m: VgaDisplayMode): void {
    const u8 = this.vga.vramU8;
    const dd = m.pixelDouble;
    for (let x = 0; x < n; x++) {
      const s = x + pan;
      const c = this.pal256[u8[((addr + (s >>> 2)) & m.addrMask) * 4 + (s & 3)]!]!;
      out[o++] = c;
      if (dd) out[o++] = c;
    }
  }

  // ---- VBE packed modes: shadow compare per tile, convert changed tiles ----

  private renderVbe(m: VgaDisplayMode, all: boolean): void {
    const bpp = m.bpp === 15 ? 16 : m.bpp;
    const bytesPP = bpp >>> 3;
    const rowBytes = this.width * bytesPP;
    if (this.shadow.length !== rowBytes * this.height) {
      this.shadow = new Uint8Array(rowBytes * this.height);
      this.shadow32 = new Int32Array(this.shadow.buffer);
      all = true;
    }
    if (all) this.updatePalettes();
    const vram = this.vga.vramU8;
    const tw = this.tileWidth;
    const th = this.tileHeight;
    for (let ty = 0; ty < this.tilesY; ty++) {
      const y0 = ty * th;
      const y1 = Math.min(this.height, y0 + th);
      for (let tx = 0; tx < this.tilesX; tx++) {
        const x0 = tx * tw;
        const x1 = Math.min(this.width, x0 + tw);
        const len = (x1 - x0) * bytesPP;
        let dirty = all;
        for (let y = y0; y < y1; y++) {
          const src = m.startByte + y * m.lineBytes + x0 * bytesPP;
          const dst = y * rowBytes + x0 * bytesPP;
          if (this.syncShadow(vram, src, dst, len)) dirty = true;
        }
        if (!dirty) continue;
        this.tileDirty[ty * this.tilesX + tx] = 1;
        for (let y = y0; y < y1; y++) this.convertRow(m.bpp, y, x0, x1, y * rowBytes + x0 * bytesPP);
      }
    }
  }

  /** Copies VRAM bytes into the shadow; returns whether they differed. */
  private syncShadow(vram: Uint8Array, src: number, dst: number, len: number): boolean {
    const sh = this.shadow;
    if (src < 0 || src + len > vram.length) {
      // Past the end of VRAM (only with nonsensical offsets): shows as black.
      let changed = false;
      for (let i = 0; i < len; i++) {
        const v = src + i < vram.length && src + i >= 0 ? vram[src + i]! : 0;
        if (sh[dst + i] !== v) { sh[dst + i] = v; changed = true; }
      }
      return changed;
    }
    if (((src | dst | len) & 3) === 0) {
      const a = this.vram32;
      const b = this.shadow32;
      const s4 = src >>> 2;
      const d4 = dst >>> 2;
      const n = len >>> 2;
      for (let i = 0; i < n; i++) {
        if (a[s4 + i] !== b[d4 + i]) {
          b.set(a.subarray(s4 + i, s4 + n), d4 + i);
          return true;
        }
      }
      return false;
    }
    for (let i = 0; i < len; i++) {
      if (vram[src + i] !== sh[dst + i]) {
        sh.set(vram.subarray(src + i, src + len), dst + i);
        return true;
      }
    }
    return false;
  }

  /** Converts shadow bytes of row `y`, pixels [x0, x1), into the frame. */
  private convertRow(bpp: number, y: number, x0: number, x1: number, s: number): void {
    const sh = this.shadow;
    const out = this.frame32;
    let o = y * this.width + x0;
    switch (bpp) {
      case 8:
        for (let x = x0; x < x1; x++) out[o++] = this.pal256[sh[s++]!]!;
        return;
      case 15:
        for (let x = x0; x < x1; x++, s += 2) {
          const v = sh[s]! | (sh[s + 1]! << 8);
          const r = (v >> 10) & 31;
          const g = (v >> 5) & 31;
          const b = v & 31;
          out[o++] = rgba((r << 3) | (r >> 2), (g << 3) | (g >> 2), (b << 3) | (b >> 2));
        }
        return;
      case 16:
        for (let x = x0; x < x1; x++, s += 2) {
          const v = sh[s]! | (sh[s + 1]! << 8);
          const r = (v >> 11) & 31;
          const g = (v >> 5) & 63;
          const b = v & 31;
          out[o++] = rgba((r << 3) | (r >> 2), (g << 2) | (g >> 4), (b << 3) | (b >> 2));
        }
        return;
      case 24:
        for (let x = x0; x < x1; x++, s += 3) out[o++] = rgba(sh[s + 2]!, sh[s + 1]!, sh[s]!);
        return;
      default:
        for (let x = x0; x < x1; x++, s += 4) out[o++] = rgba(sh[s + 2]!, sh[s + 1]!, sh[s]!);
        return;
    }
  }

  /** Turns dirty tiles into rectangles, merging horizontal runs within a tile row. */
  private collectRects(): DirtyRect[] {
    const rects: DirtyRect[] = [];
    const tw = this.tileWidth;
    const th = this.tileHeight;
    for (let ty = 0; ty < this.tilesY; ty++) {
      let tx = 0;
      while (tx < this.tilesX) {
        if (this.tileDirty[ty * this.tilesX + tx] === 0) { tx++; continue; }
        const start = tx;
        while (tx < this.tilesX && this.tileDirty[ty * this.tilesX + tx] !== 0) tx++;
        const x = start * tw;
        const y = ty * th;
        rects.push({ x, y, width: Math.min(this.width, tx * tw) - x, height: Math.min(this.height, y + th) - y });
      }
    }
    return rects;
  }
}
