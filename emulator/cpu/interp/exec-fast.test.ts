/**
 * The specialised decoded forms (decode-cache.ts `specialise`, exec-fast.ts): which
 * records they take, and identical registers, flags, memory and faults with the cache on
 * and off for every form (read-modify-write across pages and on read-only pages, stores
 * into the instruction that follows).
 */
import { describe, expect, it } from 'vitest';
import * as dc from './decode-cache.js';
import { CpuExit } from '../backend.js';
import { CR0_PG, CR0_WP } from './state.js';
import { CODE, flat32, idtGate } from './test-support/harness.js';
import type { TestBoard } from './test-support/board.js';

const HLT = 0xf4;

/** Decodes `bytes` as 32-bit code and returns the handler number. */
function opOf(bytes: number[]): number {
  const u8 = new Uint8Array(0x1000);
  u8.set(bytes, 0x10);
  const c = new Int32Array(dc.DC_STRIDE);
  dc.decodeInstr(u8, 0x10, true, c, 0);
  return c[dc.DC_OP];
}

describe('specialised decoded forms', () => {
  it('are chosen for 32-bit register and memory shapes only', () => {
    expect(opOf([0x8b, 0x43, 0x08])).toBe(dc.OP_LD32); // mov eax, [ebx+8]
    expect(opOf([0x89, 0x43, 0x08])).toBe(dc.OP_ST32); // mov [ebx+8], eax
    expect(opOf([0x89, 0xd8])).toBe(dc.OP_MOV_RR32); // mov eax, ebx
    expect(opOf([0x01, 0xd8])).toBe(dc.OP_ALU_RR32); // add eax, ebx
    expect(opOf([0x03, 0x03])).toBe(dc.OP_ALU_RM32); // add eax, [ebx]
    expect(opOf([0x29, 0x03])).toBe(dc.OP_ALU_MR32); // sub [ebx], eax
    expect(opOf([0x83, 0xe9, 0x05])).toBe(dc.OP_ALU_RI32); // sub ecx, 5
    expect(opOf([0x3d, 1, 0, 0, 0])).toBe(dc.OP_ALU_RI32); // cmp eax, 1
    expect(opOf([0x81, 0x0b, 1, 0, 0, 0])).toBe(dc.OP_ALU_MI32); // or dword [ebx], 1
    expect(opOf([0x8d, 0x44, 0x8b, 0x04])).toBe(dc.OP_LEA32); // lea eax, [ebx+ecx*4+4]
    expect(opOf([0xc1, 0xe0, 0x03])).toBe(dc.OP_SHL_RI32);
    expect(opOf([0xd1, 0xe8])).toBe(dc.OP_SHR_RI32);
    expect(opOf([0xc1, 0xf8, 0x1f])).toBe(dc.OP_SAR_RI32);
    expect(opOf([0x85, 0xc0])).toBe(dc.OP_TEST_RR32);
    expect(opOf([0x0f, 0xb6, 0x03])).toBe(dc.OP_LDZX8_32);
    expect(opOf([0x0f, 0xb7, 0x03])).toBe(dc.OP_LDZX16_32);
    // Not specialised: 16-bit operands, 16-bit addressing for LEA, count 0, shift by CL, rotates.
    expect(opOf([0x66, 0x8b, 0x43, 0x08])).toBe(dc.OP_MOV_GE);
    expect(opOf([0x67, 0x8d, 0x47, 0x04])).toBe(dc.OP_LEA);
    expect(opOf([0xc1, 0xe0, 0x20])).toBe(dc.OP_SHIFT);
    expect(opOf([0xd3, 0xe0])).toBe(dc.OP_SHIFT);
    expect(opOf([0xc1, 0xc0, 0x03])).toBe(dc.OP_SHIFT);
  });

  /** Every form, with flags summed into EDI after each flag-setting instruction. */
  const body = [
    0x8b, 0x43, 0x08, // mov eax, [ebx+8]
    0x03, 0x44, 0x8b, 0x10, // add eax, [ebx+ecx*4+16]
    0x9c, 0x5a, 0x01, 0xd7, // pushf ; pop edx ; add edi, edx
    0x89, 0xc6, // mov esi, eax
    0x29, 0xce, // sub esi, ecx
    0x19, 0xc6, // sbb esi, eax
    0x39, 0xd6, // cmp esi, edx
    0x11, 0x73, 0x0c, // adc [ebx+12], esi
    0x9c, 0x5a, 0x01, 0xd7,
    0x81, 0x73, 0x04, 0x55, 0xaa, 0x55, 0xaa, // xor dword [ebx+4], 0xaa55aa55
    0x83, 0x6b, 0x04, 0x80, // sub dword [ebx+4], -128
    0x83, 0x7b, 0x04, 0x10, // cmp dword [ebx+4], 16
    0x9c, 0x5a, 0x01, 0xd7,
    0x39, 0x43, 0x04, // cmp [ebx+4], eax
    0x9c, 0x5a, 0x01, 0xd7,
    0x8d, 0x54, 0x88, 0x07, // lea edx, [eax+ecx*4+7]
    0xc1, 0xe2, 0x03, // shl edx, 3
    0x9c, 0x5e, 0x01, 0xf7, // pushf ; pop esi ; add edi, esi
    0xd1, 0xea, // shr edx, 1
    0x9c, 0x5e, 0x01, 0xf7,
    0xc1, 0xfa, 0x05, // sar edx, 5
    0x9c, 0x5e, 0x01, 0xf7,
    0x0f, 0xb6, 0x74, 0x0b, 0x01, // movzx esi, byte [ebx+ecx+1]
    0x0f, 0xb7, 0x44, 0x4b, 0x02, // movzx eax, word [ebx+ecx*2+2]
    0x85, 0xf0, // test eax, esi
    0x9c, 0x5e, 0x01, 0xf7,
    0x01, 0xd0, // add eax, edx
    0x89, 0x44, 0x8b, 0x20, // mov [ebx+ecx*4+32], eax
    0x83, 0xc3, 0x04, // add ebx, 4
    0x81, 0xe3, 0xfc, 0x3f, 0x10, 0x00, // and ebx, 0x103ffc
    0x49, // dec ecx
  ];
  const LOOP = [...body, 0x75, (0x100 - body.length - 2) & 0xff, HLT];

  function machine(cache: boolean): TestBoard {
    const b = flat32(LOOP);
    b.cpu.decodeCacheEnabled = cache;
    for (let i = 0; i < 0x4100; i++) b.mem.u8[0x100000 + i] = (i * 97 + 13) & 0xff;
    b.cpu.setRegs({ ecx: 3000, ebx: 0x100000, edi: 0 });
    return b;
  }

  it('leave the same state as the generic and legacy paths', () => {
    const fast = machine(true), legacy = machine(false);
    expect(fast.cpu.run(1_000_000)).toBe(CpuExit.Halt);
    expect(legacy.cpu.run(1_000_000)).toBe(CpuExit.Halt);
    expect(fast.cpu.instructionsRetired).toBe(legacy.cpu.instructionsRetired);
    expect(fast.cpu.getRegs()).toEqual(legacy.cpu.getRegs());
    expect(Buffer.from(fast.mem.u8.subarray(0x100000, 0x107000)).equals(Buffer.from(legacy.mem.u8.subarray(0x100000, 0x107000)))).toBe(true);
  });

  it('fault a read-modify-write on a read-only page or across into one without writing', () => {
    for (const addr of [0x5000, 0x4ffe]) {
      const run = (cache: boolean): { regs: unknown; mem: number[]; err: number } => {
        // add [ebx], eax ; hlt       #PF handler: pop eax (error code) ; hlt
        const b = flat32([0x01, 0x03, HLT]);
        b.cpu.decodeCacheEnabled = cache;
        b.mem.u8.set([0x58, HLT], 0x2000);
        idtGate(b, 0x20000, 14, 0x2000);
        b.cpu.idtBase = 0x20000; b.cpu.idtLimit = 0x7ff;
        const v = b.mem.view;
        v.setUint32(0x10000, 0x11000 | 3, true);
        for (let i = 0; i < 1024; i++) v.setUint32(0x11000 + i * 4, (i << 12) | (i === 5 ? 1 : 3), true);
        b.cpu.cr3 = 0x10000;
        b.cpu.writeCr0(b.cpu.cr0 | CR0_PG | CR0_WP);
        b.mem.u8.set([1, 2, 3, 4, 5, 6], 0x4ffe);
        b.cpu.setRegs({ ebx: addr, eax: 0x01010101 });
        expect(b.cpu.run(100)).toBe(CpuExit.Halt);
        return { regs: b.cpu.getRegs(), mem: [...b.mem.u8.subarray(0x4ffe, 0x5004)], err: b.cpu.getRegs().eax };
      };
      const fast = run(true), legacy = run(false);
      expect(fast).toEqual(legacy);
      expect(fast.mem).toEqual([1, 2, 3, 4, 5, 6]);
      expect(fast.err).toBe(3); // present, write
    }
  });

  it('see a read-modify-write into an instruction cached earlier', () => {
    // L: mov ecx, 1 ; add [L+1], eax (the imm32 of the mov) ; dec edx ; jnz L ; hlt
    const imm = CODE + 1;
    const b = flat32([0xb9, 1, 0, 0, 0, 0x01, 0x05, imm & 0xff, imm >> 8, 0, 0, 0x4a, 0x75, 0x100 - 14, HLT]);
    b.cpu.setRegs({ eax: 41, edx: 2 });
    expect(b.cpu.run(100)).toBe(CpuExit.Halt);
    expect(b.cpu.getRegs().ecx).toBe(42);
  });
});
