/** Segment checks on data accesses (segment-checks.ts): limits, types, null selector, #AC; cached and legacy paths alike. */
import { describe, expect, it } from 'vitest';
import { CpuExit } from '../backend.js';
import { CODE, flat32, idtGate, realMode, realModeHandler } from './test-support/harness.js';
import type { TestBoard } from './test-support/board.js';
import { DS, ES, SS, TR, CR0_AM, AC } from './state.js';

const HLT = 0xf4;
const IDT = 0x3000;

/** flat32 board whose exceptions `vectors` go to handlers `mov esi, vector ; hlt` at 0x2000 + 16 * i. */
function pmBoard(code: number[], cached: boolean): TestBoard {
  const b = flat32(code);
  b.cpu.decodeCacheEnabled = cached;
  b.cpu.idtBase = IDT; b.cpu.idtLimit = 0x7ff;
  for (const v of [12, 13, 17]) {
    const at = 0x2000 + v * 16;
    b.mem.u8.set([0xbe, v, 0, 0, 0, HLT], at);
    idtGate(b, IDT, v, at);
  }
  return b;
}

/** Runs until HLT; returns the vector that ended it (ESI) or -1 when the code itself halted. */
function vectorOf(b: TestBoard): number {
  b.cpu.r32[6] = -1;
  expect(b.cpu.run(10_000)).toBe(CpuExit.Halt);
  return b.cpu.r32[6];
}

/** Descriptor words (lo, hi) of a byte-granular data segment at base 0x20000. */
function dataDesc(limit: number, access: number, flags = 0): [number, number] {
  return [limit & 0xffff, 0x02 | (access << 8) | (limit & 0xf0000) | (flags << 20)];
}

describe('segment checks on data accesses', () => {
  for (const cached of [true, false]) {
    const how = cached ? 'decode cache' : 'legacy path';

    it(`expand-up limit: the whole operand must fit (${how})`, () => {
      const [lo, hi] = dataDesc(0xfff, 0x92);
      // mov eax,[0xffc] ; mov al,[0xfff] ; hlt
      let b = pmBoard([0x8b, 0x05, 0xfc, 0x0f, 0, 0, 0xa0, 0xff, 0x0f, 0, 0, HLT], cached);
      b.cpu.loadCache(DS, 0x18, lo, hi);
      expect(vectorOf(b)).toBe(-1);
      // mov eax,[0xffd] ; hlt   -> #GP(0)
      b = pmBoard([0x8b, 0x05, 0xfd, 0x0f, 0, 0, HLT], cached);
      b.cpu.loadCache(DS, 0x18, lo, hi);
      expect(vectorOf(b)).toBe(13);
      expect(b.mem.view.getUint32(0x80000 - 16, true)).toBe(0); // error code
      expect(b.mem.view.getUint32(0x80000 - 12, true)).toBe(CODE); // EIP of the faulting MOV
      // mov [0xffe],eax (store) -> #GP(0); add [0x1000],eax (read-modify-write) -> #GP(0)
      b = pmBoard([0x89, 0x05, 0xfe, 0x0f, 0, 0, HLT], cached);
      b.cpu.loadCache(DS, 0x18, lo, hi);
      expect(vectorOf(b)).toBe(13);
      b = pmBoard([0x01, 0x05, 0x00, 0x10, 0, 0, HLT], cached);
      b.cpu.loadCache(DS, 0x18, lo, hi);
      expect(vectorOf(b)).toBe(13);
    });

    it(`expand-down limit, read-only and null segments (${how})`, () => {
      const [dlo, dhi] = dataDesc(0xfff, 0x96);
      // mov eax,[0x1000] ; hlt
      let b = pmBoard([0x8b, 0x05, 0x00, 0x10, 0, 0, HLT], cached);
      b.cpu.loadCache(DS, 0x18, dlo, dhi);
      expect(vectorOf(b)).toBe(-1);
      // mov al,[0xfff] ; hlt -> below the expand-down range
      b = pmBoard([0xa0, 0xff, 0x0f, 0, 0, HLT], cached);
      b.cpu.loadCache(DS, 0x18, dlo, dhi);
      expect(vectorOf(b)).toBe(13);
      // mov eax,[0xfffe] ; hlt -> past 0xFFFF with B = 0
      b = pmBoard([0x8b, 0x05, 0xfe, 0xff, 0, 0, HLT], cached);
      b.cpu.loadCache(DS, 0x18, dlo, dhi);
      expect(vectorOf(b)).toBe(13);
      // read-only: mov [0],eax -> #GP(0)
      const [rlo, rhi] = dataDesc(0xfff, 0x90);
      b = pmBoard([0x89, 0x05, 0, 0, 0, 0, HLT], cached);
      b.cpu.loadCache(DS, 0x18, rlo, rhi);
      expect(vectorOf(b)).toBe(13);
      // null ES: mov ax,0 ; mov es,ax ; mov eax,[es:0] -> #GP(0)
      b = pmBoard([0x66, 0xb8, 0, 0, 0x8e, 0xc0, 0x26, 0x8b, 0x05, 0, 0, 0, 0, HLT], cached);
      expect(vectorOf(b)).toBe(13);
    });

    it(`SS-relative accesses beyond the limit raise #SS(0) (${how})`, () => {
      // mov eax,[ebp] with EBP = 0x1ffe and SS limit 0x1fff ; hlt
      const b = pmBoard([0x8b, 0x45, 0x00, HLT], cached);
      const [lo, hi] = dataDesc(0x1fff, 0x92, 0x4);
      b.cpu.r32[5] = 0x1ffe;
      b.cpu.loadCache(SS, 0x18, lo, hi);
      b.cpu.r32[4] = 0x1000;
      expect(vectorOf(b)).toBe(12);
    });

    it(`alignment check: CR0.AM + EFLAGS.AC at CPL 3 only (${how})`, () => {
      // mov eax,[0x1001] ; hlt
      const b = pmBoard([0x8b, 0x05, 0x01, 0x10, 0, 0, HLT], cached);
      b.cpu.writeCr0(b.cpu.cr0 | CR0_AM);
      b.cpu.setRegs({ eflags: 2 | AC });
      expect(vectorOf(b)).toBe(-1); // CPL 0: no #AC
      // At CPL 3 (a TSS gives the ring-0 stack for the handler): aligned passes, unaligned is #AC(0).
      const user = (code: number[]): TestBoard => {
        const u = pmBoard(code, cached);
        u.cpu.writeCr0(u.cpu.cr0 | CR0_AM);
        u.cpu.setRegs({ eflags: 2 | AC });
        u.mem.view.setUint32(0x4004, 0x80000, true);
        u.mem.view.setUint32(0x4008, 0x10, true);
        u.cpu.segBase[TR] = 0x4000; u.cpu.segLimit[TR] = 0x67; u.cpu.segAttr[TR] = 0x8b;
        u.cpu.setCpl(3);
        return u;
      };
      expect(vectorOf(user([0x8b, 0x05, 0x04, 0x10, 0, 0, HLT]))).toBe(13); // the load passes; HLT at CPL 3 is #GP
      const u = user([0x8b, 0x05, 0x01, 0x10, 0, 0, HLT]);
      expect(vectorOf(u)).toBe(17);
      expect(u.mem.view.getUint32(0x80000 - 24, true)).toBe(0); // error code
    });
  }

  it('real mode: a word at offset 0xFFFF raises #GP (INT 13); an unreal 4 GiB limit does not', () => {
    // mov ax,[0xffff] ; hlt
    const b = realMode([0xa1, 0xff, 0xff, HLT]);
    realModeHandler(b, 13, 0x2000, [0xbb, 0x0d, 0x00, HLT]); // mov bx,13 ; hlt
    expect(b.cpu.run(100)).toBe(CpuExit.Halt);
    expect(b.cpu.getRegs().ebx & 0xffff).toBe(13);
    const u = realMode([0xa1, 0xff, 0xff, HLT]);
    realModeHandler(u, 13, 0x2000, [0xbb, 0x0d, 0x00, HLT]);
    u.cpu.segLimit[DS] = -1;
    u.cpu.refreshSegChecks();
    expect(u.cpu.run(100)).toBe(CpuExit.Halt);
    expect(u.cpu.getRegs().ebx & 0xffff).toBe(0);
  });

  it('a flat segment needs no checks; REP STOSB bulk stops at the limit with ECX/EDI exact', () => {
    const b = pmBoard([0xf3, 0xaa, HLT], true); // rep stosb
    expect(b.cpu.segChkMask & 0x3d).toBe(0); // ES, SS, DS, FS, GS flat
    const [lo, hi] = dataDesc(0xfff, 0x92);
    b.cpu.loadCache(ES, 0x18, lo, hi);
    expect(b.cpu.segChkMask & 1).toBe(1);
    b.cpu.r32[7] = 0xf00; b.cpu.r32[1] = 0x200; b.cpu.r8[0] = 0x5a;
    expect(vectorOf(b)).toBe(13);
    expect(b.cpu.r32[7]).toBe(0x1000);
    expect(b.cpu.r32[1]).toBe(0x100);
    expect(b.mem.u8[0x20fff]).toBe(0x5a);
    expect(b.mem.u8[0x21000]).toBe(0);
  });
});
