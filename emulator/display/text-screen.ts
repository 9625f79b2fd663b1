/**
 * Reads the VGA text-mode screen as plain text (code page 437 mapped to Unicode), for the
 * headless `vireo run --screen-text` and for tests that wait for guest output.
 *
 * Uses the same geometry as the renderer (vga-mode.ts): CRTC start address, offset,
 * columns and rows; characters are the even bytes in plane 0. Attributes, blinking and
 * the font are ignored: a guest that redefines glyphs shows its code points.
 */
import type { StdVga } from '../devices/vga/vga.js';
import { CR_CURSOR_HI, CR_CURSOR_LO, CR_CURSOR_START } from '../devices/vga/vga-constants.js';
import { CP437 } from './cp437.js';
import { decodeDisplayMode } from './vga-mode.js';

/** A text-mode screen. */
export interface TextScreen {
  /** Columns per row. */
  readonly cols: number;
  /** Number of rows. */
  readonly rows: number;
  /** One string per row, exactly `cols` characters long. */
  readonly lines: readonly string[];
  /** Cursor cell when it is enabled and on screen, else null. */
  readonly cursor: { readonly row: number; readonly col: number } | null;
}

/** The text screen of `vga`, or null when it is not showing a text mode. */
export function readTextScreen(vga: StdVga): TextScreen | null {
  const m = decodeDisplayMode(vga);
  if (m.kind !== 'text') return null;
  const u8 = vga.vramU8;
  const lines: string[] = [];
  for (let row = 0; row < m.rows; row++) {
    let s = '';
    for (let col = 0; col < m.cols; col++) {
      s += CP437[u8[((m.startAddr + row * m.lineOffset + col) & m.addrMask) * 4]!]!;
    }
    lines.push(s);
  }
  const cr = vga.regs.crtc;
  let cursor: TextScreen['cursor'] = null;
  if ((cr[CR_CURSOR_START]! & 0x20) === 0 && m.lineOffset > 0) {
    const rel = ((((cr[CR_CURSOR_HI]! << 8) | cr[CR_CURSOR_LO]!) - m.startAddr) & m.addrMask);
    const row = Math.floor(rel / m.lineOffset);
    const col = rel % m.lineOffset;
    if (row < m.rows && col < m.cols) cursor = { row, col };
  }
  return { cols: m.cols, rows: m.rows, lines, cursor };
}

/**
 * The text screen as one string: rows joined by "\n" with trailing spaces removed.
 * Returns null when the VGA is not in a text mode (graphics, VBE or blank).
 */
export function screenText(vga: StdVga): string | null {
  const t = readTextScreen(vga);
  return t === null ? null : t.lines.map((l) => l.trimEnd()).join('\n');
}
