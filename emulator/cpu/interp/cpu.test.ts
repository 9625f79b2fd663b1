/** Run loop, interrupts, NMI, HLT, kick, triple fault and reset state (cpu.ts). */
import { describe, expect, it } from 'vitest';
import { CpuExit } from '../backend.js';
import { TestBoard } from './test-support/board.js';
import { realMode, realModeHandler } from './test-support/harness.js';

describe('InterpCpu run loop', () => {
  it('resets to the reset vector', () => {
    const b = new TestBoard();
    const r = b.cpu.getRegs();
    expect(r.cs).toBe(0xf000);
    expect(r.eip).toBe(0xfff0);
    expect(r.cr0).toBe(0x60000010);
    expect(r.edx).toBe(0x663);
    expect(b.cpu.segBase[1] >>> 0).toBe(0xffff0000);
  });

  it('takes an external interrupt only after the instruction following STI', () => {
    // sti ; nop ; nop ; hlt      handler: mov bp,sp ; mov ax,[bp] ; hlt
    const b = realMode([0xfb, 0x90, 0x90, 0xf4]);
    realModeHandler(b, 0x20, 0x2000, [0x89, 0xe5, 0x8b, 0x46, 0x00, 0xf4]);
    b.irq.queue.push(0x20);
    b.cpu.run(100);
    expect(b.cpu.getRegs().eax & 0xffff).toBe(0x1002);
  });

  it('HLT waits for an interrupt and resumes after it', () => {
    // sti ; hlt ; mov bx,1 ; cli ; hlt        handler: iret
    const b = realMode([0xfb, 0xf4, 0xbb, 0x01, 0x00, 0xfa, 0xf4]);
    realModeHandler(b, 0x21, 0x2000, [0xcf]);
    expect(b.cpu.run(100)).toBe(CpuExit.Halt);
    expect(b.cpu.getRegs().ebx).toBe(0);
    expect(b.cpu.run(100)).toBe(CpuExit.Halt); // still nothing pending
    b.irq.queue.push(0x21);
    expect(b.cpu.run(100)).toBe(CpuExit.Halt);
    expect(b.cpu.getRegs().ebx).toBe(1);
  });

  it('delivers NMI with IF=0 and blocks further NMIs until IRET', () => {
    // cli ; jmp $      NMI handler: inc bx ; hlt (no IRET)
    const b = realMode([0xfa, 0xeb, 0xfe]);
    realModeHandler(b, 2, 0x2000, [0x43, 0xf4]);
    b.cpu.nmi();
    b.cpu.run(10);
    expect(b.cpu.getRegs().ebx).toBe(1);
    b.cpu.nmi();
    b.cpu.run(10);
    expect(b.cpu.getRegs().ebx).toBe(1);
  });

  it('kick() from a device callback makes run() return promptly', () => {
    const ref: { board?: TestBoard } = {};
    const ports = new Map([[0x80, { write: () => ref.board?.cpu.kick() }]]);
    // out 80h,al ; jmp $
    const board = realMode([0xe6, 0x80, 0xeb, 0xfe], { ports });
    ref.board = board;
    expect(board.cpu.run(1_000_000)).toBe(CpuExit.Yield);
    expect(board.cpu.instructionsRetired).toBeLessThan(10);
  });

  it('counts instructions against the budget', () => {
    const b = realMode([0xeb, 0xfe]);
    expect(b.cpu.run(1000)).toBe(CpuExit.Yield);
    expect(b.cpu.instructionsRetired).toBe(1000);
  });

  it('triple fault returns CpuExit.Reset', () => {
    // lidt [2000h] (limit 0) ; int3
    const b = realMode([0x0f, 0x01, 0x1e, 0x00, 0x20, 0xcc]);
    expect(b.cpu.run(100)).toBe(CpuExit.Reset);
  });

  it('a host-side exception becomes CpuExit.Error, not a throw', () => {
    const ports = new Map([[0x99, { read: (): number => { throw new Error('device bug'); } }]]);
    const b = realMode([0xe4, 0x99, 0xf4], { ports });
    expect(b.cpu.run(100)).toBe(CpuExit.Error);
    expect(b.cpu.lastError).toContain('device bug');
  });

  it('two CPUs in one process do not interfere', () => {
    const a = realMode([0x40, 0xeb, 0xfd]); // inc ax ; jmp -3
    const c = realMode([0x4b, 0xeb, 0xfd]); // dec bx ; jmp -3
    a.cpu.run(100);
    c.cpu.run(10);
    expect(a.cpu.getRegs().eax).toBe(50);
    expect(c.cpu.getRegs().ebx & 0xffff).toBe(0xfffb);
  });

  it('a guest that faults forever still returns from run() within the budget', () => {
    // IVT entry for #UD points at a UD2: every delivery succeeds, every handler faults again.
    const b = realMode([0x0f, 0x0b]);
    realModeHandler(b, 6, 0x2000, [0x0f, 0x0b]);
    b.cpu.r32[4] = 0xfffe; // the stack wraps in 64 KiB and never overflows into a #DF
    expect(b.cpu.run(5000)).toBe(CpuExit.Yield);
  });
});
