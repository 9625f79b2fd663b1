/**
 * The bulk REP MOVS / REP STOS paths (string-bulk.ts): identical registers, memory and
 * instruction counts with and without them (sizes 1/2/4, DF=0/1, page crossings, every
 * kind of overlap, counts beyond one REP chunk, 16-bit offset wrap), restartable #PF in
 * the middle of a bulk copy, and stores into cached code.
 */
import { describe, expect, it } from 'vitest';
import { CpuExit } from '../backend.js';
import { CR0_PG } from './state.js';
import { CODE, flat32, idtGate, realMode } from './test-support/harness.js';
import type { TestBoard } from './test-support/board.js';

const HLT = 0xf4, STD = 0xfd, CLD = 0xfc, REP = 0xf3, O16 = 0x66;

/** The instruction bytes of REP MOVS / REP STOS of `size` bytes (32-bit code unless `real`). */
function repOp(kind: 'movs' | 'stos', size: 1 | 2 | 4, real: boolean): number[] {
  const op = (kind === 'movs' ? 0xa4 : 0xaa) + (size === 1 ? 0 : 1);
  const pre = size === 2 ? (real ? [] : [O16]) : size === 4 && real ? [O16] : [];
  return [REP, ...pre, op];
}

/** Fills 0x8000-0x1ffff with a pattern. */
function pattern(b: TestBoard): void {
  for (let i = 0x8000; i < 0x20000; i++) b.mem.u8[i] = (i * 131 + 7) & 0xff;
}

interface Case { kind: 'movs' | 'stos'; size: 1 | 2 | 4; down: boolean; src: number; dst: number; count: number }

function runCase(c: Case, bulk: boolean, slice: number): { regs: unknown; mem: Buffer; n: number } {
  const code = [c.down ? STD : CLD, ...repOp(c.kind, c.size, false), HLT];
  const b = flat32(code);
  b.cpu.stringBulk = bulk;
  pattern(b);
  b.cpu.setRegs({ esi: c.src, edi: c.dst, ecx: c.count, eax: 0x89abcdef });
  for (let i = 0; i < 100_000 && !b.cpu.halted; i++) b.cpu.run(slice);
  expect(b.cpu.halted).toBe(true);
  return { regs: b.cpu.getRegs(), mem: Buffer.from(b.mem.u8.subarray(0x8000, 0x20000)), n: b.cpu.instructionsRetired };
}

describe('REP MOVS / STOS bulk paths', () => {
  const cases: Case[] = [];
  for (const kind of ['movs', 'stos'] as const) {
    for (const size of [1, 2, 4] as const) {
      for (const down of [false, true]) {
        const src = 0x13ffd;
        for (const delta of [0x2003, -0x1801, 1, -1, size, -size, 2, -3, 0]) {
          cases.push({ kind, size, down, src, dst: src + delta, count: 5000 });
        }
        cases.push({ kind, size, down, src: 0x18000, dst: 0x1a001, count: 3 });
      }
    }
  }

  it('leave the same registers, memory and instruction count as the element-by-element loop', () => {
    for (const c of cases) {
      for (const slice of [1_000_000, 1]) {
        const fast = runCase(c, true, slice);
        const slow = runCase(c, false, slice);
        const what = `${JSON.stringify(c)} slice ${slice}`;
        expect(fast.regs, what).toEqual(slow.regs);
        expect(fast.n, what).toBe(slow.n);
        expect(fast.mem.equals(slow.mem), what).toBe(true);
      }
    }
  });

  it('wrap 16-bit SI/DI around 64 KiB as the element-by-element loop does (real mode)', () => {
    for (const kind of ['movs', 'stos'] as const) {
      for (const size of [1, 2, 4] as const) {
        for (const down of [false, true]) {
          const run = (bulk: boolean): { regs: unknown; mem: Buffer } => {
            // ds = 0x1000, es = 0x2000 ; rep movs/stos ; hlt
            const b = realMode([0xb8, 0x00, 0x10, 0x8e, 0xd8, 0xb8, 0x00, 0x20, 0x8e, 0xc0,
              down ? STD : CLD, ...repOp(kind, size, true), HLT]);
            b.cpu.stringBulk = bulk;
            for (let i = 0; i < 0x20000; i++) b.mem.u8[0x10000 + i] = (i * 29 + 3) & 0xff;
            // Offsets are multiples of 4: an element straddling offset 0xFFFF would exceed the
            // 64 KiB real-mode limit (#GP, segment-checks.ts) instead of wrapping.
            b.cpu.setRegs({ esi: down ? 0x0008 : 0xfff8, edi: down ? 0x0004 : 0xfffc, ecx: 0x30 });
            expect(b.cpu.run(100_000)).toBe(CpuExit.Halt);
            return { regs: b.cpu.getRegs(), mem: Buffer.from(b.mem.u8.subarray(0x10000, 0x30000)) };
          };
          const fast = run(true), slow = run(false);
          expect(fast.regs, `${kind} ${size} ${down}`).toEqual(slow.regs);
          expect(fast.mem.equals(slow.mem), `${kind} ${size} ${down}`).toBe(true);
        }
      }
    }
  });

  it('stop at a #PF on the next page with ECX/ESI/EDI counting the elements moved, and restart', () => {
    // std ; rep movsd ; hlt, copying down from 0x30ffc to 0x21ffc across into page 0x20000.
    const b = flat32([STD, REP, 0xa5, HLT]);
    // #PF handler: save ECX, ESI, EDI, CR2 at 0x6000; map page 0x20000; drop error code; iret.
    b.mem.u8.set([
      0x89, 0x0d, 0x00, 0x60, 0x00, 0x00, // mov [0x6000], ecx
      0x89, 0x35, 0x04, 0x60, 0x00, 0x00, // mov [0x6004], esi
      0x89, 0x3d, 0x08, 0x60, 0x00, 0x00, // mov [0x6008], edi
      0x0f, 0x20, 0xd0, 0xa3, 0x0c, 0x60, 0x00, 0x00, // mov eax, cr2 ; mov [0x600c], eax
      0xc7, 0x05, 0x80, 0x10, 0x01, 0x00, 0x07, 0x00, 0x02, 0x00, // mov dword [PTE 0x20], 0x20007
      0x83, 0xc4, 0x04, 0xcf, // add esp, 4 ; iret
    ], 0x2000);
    idtGate(b, 0x40000, 14, 0x2000);
    b.cpu.idtBase = 0x40000; b.cpu.idtLimit = 0x7ff;
    const v = b.mem.view;
    v.setUint32(0x10000, 0x11000 | 7, true);
    for (let i = 0; i < 1024; i++) v.setUint32(0x11000 + i * 4, i === 0x20 ? 0 : (i << 12) | 7, true);
    b.cpu.cr3 = 0x10000;
    b.cpu.writeCr0(b.cpu.cr0 | CR0_PG);
    for (let i = 0; i < 0x2000; i++) b.mem.u8[0x2f000 + i] = (i * 7 + 1) & 0xff;
    const count = 0x600; // 0x400 dwords fit on page 0x21000, then the fault
    b.cpu.setRegs({ esi: 0x30ffc, edi: 0x21ffc, ecx: count });
    expect(b.cpu.run(10_000)).toBe(CpuExit.Halt);
    expect(v.getUint32(0x6000, true)).toBe(count - 0x400);
    expect(v.getUint32(0x6004, true)).toBe(0x30ffc - 0x400 * 4);
    expect(v.getUint32(0x6008, true)).toBe(0x20ffc);
    expect(v.getUint32(0x600c, true)).toBe(0x20ffc);
    const r = b.cpu.getRegs();
    expect(r.ecx).toBe(0);
    expect(r.edi).toBe(0x21ffc - count * 4);
    const lo = 0x21ffc - (count - 1) * 4;
    expect([...b.mem.u8.subarray(lo, 0x22000)]).toEqual([...b.mem.u8.subarray(0x30ffc - (count - 1) * 4, 0x31000)]);
  });

  it('drops cached instructions a REP STOS overwrites', () => {
    // L: mov eax, 1 ; add ebx, eax ; (patch the imm of `mov eax` with rep stosb) ; dec edx ; jnz L ; hlt
    const code = [
      0xb8, 1, 0, 0, 0, // mov eax, 1
      0x01, 0xc3, // add ebx, eax
      0x56, 0x57, 0x51, 0x50, // push esi, edi, ecx, eax
      0xbf, (CODE + 1) & 0xff, (CODE + 1) >> 8, 0, 0, // mov edi, CODE+1
      0xb9, 1, 0, 0, 0, // mov ecx, 1
      0xb0, 5, // mov al, 5
      REP, 0xaa, // rep stosb
      0x58, 0x59, 0x5f, 0x5e, // pop eax, ecx, edi, esi
      0x4a, // dec edx
      0x75, 0, // jnz L (patched below)
      HLT,
    ];
    code[code.length - 2] = (0x100 - (code.length - 1)) & 0xff;
    const b = flat32(code);
    b.cpu.setRegs({ edx: 3, ebx: 0 });
    expect(b.cpu.run(1000)).toBe(CpuExit.Halt);
    expect(b.cpu.getRegs().ebx).toBe(1 + 5 + 5);
  });
});
