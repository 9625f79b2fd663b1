/**
 * Unit-test harness: a TestBoard with hand-assembled code placed in RAM, started in real
 * mode (CS:IP = 0000:1000) or in flat 32-bit protected mode (segment caches set directly;
 * a minimal GDT at 0x500 holds 08 = flat code, 10 = flat data). Interrupt vectors can be pointed at code snippets.
 */
import { TestBoard, type TestBoardOptions } from './board.js';
import { CS, DS, ES, FS, GS, SS } from '../state.js';

/** Code address used by the helpers. */
export const CODE = 0x1000;

/** A board running `code` in real mode at 0000:1000 with SS:SP = 0000:8000. */
export function realMode(code: number[], opts: TestBoardOptions = {}): TestBoard {
  const b = new TestBoard({ ramBytes: 4 << 20, ...opts });
  b.mem.u8.set(code, CODE);
  b.cpu.setRegs({ cs: 0, eip: CODE, ss: 0, esp: 0x8000, ds: 0, es: 0 });
  return b;
}

/** Points real-mode IVT entry `vector` at 0000:`addr` and places `code` there. */
export function realModeHandler(b: TestBoard, vector: number, addr: number, code: number[]): void {
  b.mem.view.setUint16(vector * 4, addr, true);
  b.mem.view.setUint16(vector * 4 + 2, 0, true);
  b.mem.u8.set(code, addr);
}

/** A board running `code` at linear 0x1000 in flat 32-bit ring-0 protected mode (ESP = 0x80000). */
export function flat32(code: number[], opts: TestBoardOptions = {}): TestBoard {
  const b = new TestBoard({ ramBytes: 4 << 20, ...opts });
  b.mem.u8.set(code, CODE);
  const cpu = b.cpu;
  cpu.writeCr0(cpu.cr0 | 1);
  const lo = 0x0000ffff, codeHi = 0x00cf9b00, dataHi = 0x00cf9300;
  // GDT at 0x500: null, 08 flat code, 10 flat data (needed by gates and far transfers).
  const v = b.mem.view;
  v.setUint32(0x508, lo, true); v.setUint32(0x50c, codeHi, true);
  v.setUint32(0x510, lo, true); v.setUint32(0x514, dataHi, true);
  cpu.gdtBase = 0x500; cpu.gdtLimit = 0x17;
  cpu.loadCache(CS, 0x08, lo, codeHi);
  for (const s of [DS, ES, FS, GS, SS]) cpu.loadCache(s, 0x10, lo, dataHi);
  cpu.setCpl(0);
  cpu.eip = CODE;
  cpu.r32[4] = 0x80000;
  return b;
}

/** Writes a 32-bit IDT interrupt gate for `vector` at `idtBase` pointing to selector 8 : `offset`. */
export function idtGate(b: TestBoard, idtBase: number, vector: number, offset: number, type = 0x8e): void {
  const v = b.mem.view;
  v.setUint16(idtBase + vector * 8, offset & 0xffff, true);
  v.setUint16(idtBase + vector * 8 + 2, 0x08, true);
  v.setUint16(idtBase + vector * 8 + 4, type << 8, true);
  v.setUint16(idtBase + vector * 8 + 6, offset >>> 16, true);
}
