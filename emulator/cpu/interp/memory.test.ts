/** Paging, TLB, A20, the MMIO slow path and self-modifying code (memory.ts). */
import { describe, expect, it } from 'vitest';
import { CpuExit } from '../backend.js';
import { CR0_PG, CR4_PAE, CR4_PGE, CR4_PSE } from './state.js';
import { TLB_GLOBAL } from './memory.js';
import { flat32, idtGate, realMode } from './test-support/harness.js';
import type { TestBoard } from './test-support/board.js';

function identityPaging(b: TestBoard, pd = 0x10000, pt = 0x11000): void {
  const v = b.mem.view;
  v.setUint32(pd, pt | 7, true);
  for (let i = 0; i < 1024; i++) v.setUint32(pt + i * 4, (i << 12) | 7, true);
  b.cpu.cr3 = pd;
  b.cpu.writeCr0(b.cpu.cr0 | CR0_PG);
}

describe('memory', () => {
  it('A20 gate wraps at 1 MiB when disabled', () => {
    // mov ax,0xffff ; mov ds,ax ; mov byte [0x10],0x77 ; hlt
    const code = [0xb8, 0xff, 0xff, 0x8e, 0xd8, 0xc6, 0x06, 0x10, 0x00, 0x77, 0xf4];
    const off = realMode(code);
    off.cpu.setA20(false);
    off.cpu.run(10);
    expect(off.mem.u8[0]).toBe(0x77);
    const on = realMode(code);
    on.cpu.run(10);
    expect(on.mem.u8[0x100000]).toBe(0x77);
    expect(on.mem.u8[0]).not.toBe(0x77);
  });

  it('PSE-36: PDE bits 13-16 of a 4 MiB page are physical address bits 32-35', () => {
    for (const pse36 of [true, false]) {
      const log: string[] = [];
      // mov [0x401008],eax ; hlt
      const b = flat32([0xa3, 0x08, 0x10, 0x40, 0x00, 0xf4], {
        features: { pse36 },
        mmioWrite: (gpa, size) => { log.push(`w ${gpa.toString(16)} ${size}`); },
      });
      const v = b.mem.view;
      v.setUint32(0x10000, 0x83, true); // 0-4 MiB identity (code, stack)
      v.setUint32(0x10004, 0x83 | (0x5 << 13), true); // 4-8 MiB -> 0x5_0000_0000
      b.cpu.r32[0] = 0x1234;
      b.cpu.writeCr4(CR4_PSE);
      b.cpu.cr3 = 0x10000;
      b.cpu.writeCr0(b.cpu.cr0 | CR0_PG);
      b.cpu.run(10);
      if (pse36) expect(log).toEqual(['w 500001008 4']);
      else { expect(log).toEqual([]); expect(v.getUint32(0x1008, true)).toBe(0x1234); }
    }
  });

  it('unbacked physical pages go through mmioRead/mmioWrite with the right address and size', () => {
    const log: string[] = [];
    // mov eax,[0xfee00030] ; mov [0xfee000b0],eax ; hlt
    const b = flat32([0xa1, 0x30, 0x00, 0xe0, 0xfe, 0xa3, 0xb0, 0x00, 0xe0, 0xfe, 0xf4], {
      mmioRead: (gpa, size) => { log.push(`r ${gpa.toString(16)} ${size}`); return 0x50014; },
      mmioWrite: (gpa, size, v) => { log.push(`w ${gpa.toString(16)} ${size} ${v.toString(16)}`); },
    });
    b.cpu.run(10);
    expect(log).toEqual(['r fee00030 4', 'w fee000b0 4 50014']);
  });

  it('REP MOVSB restarts after #PF with CR2, error code and partial progress', () => {
    // mov esi,0x3ff0 ; mov edi,0x4ff8 ; mov ecx,0x20 ; rep movsb ; hlt
    const b = flat32([0xbe, 0xf0, 0x3f, 0x00, 0x00, 0xbf, 0xf8, 0x4f, 0x00, 0x00, 0xb9, 0x20, 0x00, 0x00, 0x00,
      0xf3, 0xa4, 0xf4]);
    // #PF handler: record CR2, error code, ECX; map the page; drop the error code; iret
    b.mem.u8.set([0x0f, 0x20, 0xd0, 0xa3, 0x00, 0x60, 0x00, 0x00, 0x8b, 0x1c, 0x24, 0x89, 0x1d, 0x04, 0x60, 0x00, 0x00,
      0x89, 0x0d, 0x08, 0x60, 0x00, 0x00, 0xc7, 0x05, 0x14, 0x10, 0x01, 0x00, 0x07, 0x50, 0x00, 0x00,
      0x83, 0xc4, 0x04, 0xcf], 0x2000);
    idtGate(b, 0x20000, 14, 0x2000);
    b.cpu.idtBase = 0x20000; b.cpu.idtLimit = 0x7ff;
    for (let i = 0; i < 0x20; i++) b.mem.u8[0x3ff0 + i] = i + 1;
    identityPaging(b);
    b.mem.view.setUint32(0x11000 + 5 * 4, 0, true); // page 0x5000 not present
    expect(b.cpu.run(1000)).toBe(CpuExit.Halt);
    const v = b.mem.view;
    expect(v.getUint32(0x6000, true)).toBe(0x5000);
    expect(v.getUint32(0x6004, true)).toBe(2);
    expect(v.getUint32(0x6008, true)).toBe(0x18);
    const r = b.cpu.getRegs();
    expect(r.ecx).toBe(0);
    expect(r.edi).toBe(0x5018);
    expect([...b.mem.u8.subarray(0x4ff8, 0x5018)]).toEqual([...b.mem.u8.subarray(0x3ff0, 0x4010)]);
  });

  it('PAE: an NX bit without EFER.NXE is a reserved-bit #PF (error code P|RSVD)', () => {
    // mov eax,[0x5000] ; hlt        #PF handler: pop ebx ; hlt
    const b = flat32([0xa1, 0x00, 0x50, 0x00, 0x00, 0xf4]);
    b.mem.u8.set([0x5b, 0xf4], 0x2000);
    idtGate(b, 0x20000, 14, 0x2000);
    b.cpu.idtBase = 0x20000; b.cpu.idtLimit = 0x7ff;
    const v = b.mem.view;
    v.setUint32(0x10000, 0x11000 | 1, true);
    v.setUint32(0x11000, 0x12000 | 7, true);
    for (let i = 0; i < 512; i++) v.setUint32(0x12000 + i * 8, (i << 12) | 7, true);
    v.setUint32(0x12000 + 5 * 8 + 4, 0x80000000, true);
    b.cpu.writeCr4(CR4_PAE);
    b.cpu.cr3 = 0x10000;
    b.cpu.writeCr0(b.cpu.cr0 | CR0_PG);
    b.cpu.run(100);
    expect(b.cpu.getRegs().ebx).toBe(9);
    expect(b.cpu.getRegs().cr2).toBe(0x5000);
  });

  it('a PhysMap remap (generation bump) is seen by the next access', () => {
    const ref: { board?: TestBoard } = {};
    const ports = new Map([[0x80, { write: () => ref.board?.physMap.map(3, 1, 0x200, true) }]]);
    // mov al,[0x3000] ; out 80h,al ; mov bl,[0x3000] ; hlt
    const board = realMode([0xa0, 0x00, 0x30, 0xe6, 0x80, 0x8a, 0x1e, 0x00, 0x30, 0xf4], { ports });
    ref.board = board;
    board.mem.u8[0x3000] = 0x11;
    board.mem.u8[0x200000] = 0x22;
    board.cpu.run(10);
    const r = board.cpu.getRegs();
    expect(r.eax & 0xff).toBe(0x11);
    expect(r.ebx & 0xff).toBe(0x22);
  });

  it('self-modifying code executes the new bytes', () => {
    // mov byte [0x1008],0x43 ; nop ; nop ; nop ; (0x1008) nop -> inc bx ; hlt
    const b = realMode([0xc6, 0x06, 0x08, 0x10, 0x43, 0x90, 0x90, 0x90, 0x90, 0xf4]);
    b.cpu.run(10);
    expect(b.cpu.getRegs().ebx).toBe(1);
  });

  it('TLB: global pages survive CR3 reloads even after the entry list overflowed; CR4.PGE off drops them', () => {
    const b = flat32([0xf4]);
    const v = b.mem.view;
    for (let i = 0; i < 1024; i++) v.setUint32(0x10000 + i * 4, 0x83 | (i === 5 ? 0x100 : 0), true); // 4 MiB pages -> phys 0
    const cpu = b.cpu;
    cpu.writeCr4(CR4_PSE | CR4_PGE);
    cpu.cr3 = 0x10000;
    cpu.writeCr0(cpu.cr0 | CR0_PG);
    for (let p = 0; p < 70000; p++) cpu.translate(p * 4096, false, false); // more pages than the list holds
    const globalPage = (5 << 22) >>> 12, plainPage = (6 << 22) >>> 12;
    cpu.translate(5 << 22, false, false);
    expect(cpu.tlbFlags[globalPage] & TLB_GLOBAL).toBe(TLB_GLOBAL);
    expect(cpu.tlbFlags[plainPage]).not.toBe(0);
    cpu.flushTlb(true);
    expect(cpu.tlbFlags[globalPage]).not.toBe(0);
    expect(cpu.tlbFlags[plainPage]).toBe(0);
    cpu.translate(6 << 22, false, false);
    cpu.flushTlb(true);
    expect(cpu.tlbFlags[globalPage]).not.toBe(0);
    expect(cpu.tlbFlags[plainPage]).toBe(0);
    cpu.invlpg(5 << 22);
    expect(cpu.tlbFlags[globalPage]).toBe(0);
    cpu.translate(5 << 22, false, false);
    cpu.writeCr4(CR4_PSE);
    expect(cpu.tlbFlags[globalPage]).toBe(0);
  });

  it('INVLPG of an address inside a 4 MiB page drops every cached piece of that page', () => {
    const b = flat32([0xf4]);
    const v = b.mem.view;
    v.setUint32(0x10000, 0x11000 | 7, true);
    for (let i = 0; i < 1024; i++) v.setUint32(0x11000 + i * 4, (i << 12) | 7, true);
    v.setUint32(0x10004, 0x400000 | 0x87, true); // 4-8 MiB: one large page
    const cpu = b.cpu;
    cpu.writeCr4(CR4_PSE);
    cpu.cr3 = 0x10000;
    cpu.writeCr0(cpu.cr0 | CR0_PG);
    cpu.translate(0x400000, false, false);
    cpu.translate(0x5ff000, false, false);
    cpu.translate(0x1000, false, false);
    cpu.invlpg(0x400000);
    expect(cpu.tlbFlags[0x5ff]).toBe(0);
    expect(cpu.tlbFlags[0x400]).toBe(0);
    expect(cpu.tlbFlags[0x1]).not.toBe(0);
    cpu.invlpg(0x1000);
    expect(cpu.tlbFlags[0x1]).toBe(0);
  });
});
