/** CR4.VME / CR4.PVI (vme.ts): virtual interrupt flag handling in v86 mode and at CPL 3. */
import { describe, expect, it } from 'vitest';
import { flat32 } from './test-support/harness.js';
import type { TestBoard } from './test-support/board.js';
import { CR4_PVI, CR4_VME, IF, IOPL, VIF, VIP, VM } from './state.js';
import { cpuid, DEFAULT_FEATURES } from './features.js';

/** A CPU in v86 mode (IOPL 0, CS:IP = 0000:1000, SS:SP = 0000:8000) running `code`. */
function v86(code: number[], cr4: number, eflags = 0): TestBoard {
  const b = flat32(code);
  b.cpu.writeCr4(cr4);
  b.cpu.setRegs({ eflags: 2 | VM | eflags });
  b.cpu.setRegs({ cs: 0, ds: 0, es: 0, ss: 0, esp: 0x8000, eip: 0x1000 });
  b.cpu.setCpl(3);
  return b;
}

describe('VME and PVI', () => {
  it('CPUID.1:EDX.VME is reported and CR4.VME/PVI are accepted', () => {
    const out = new Int32Array(4);
    cpuid(DEFAULT_FEATURES, 1, out);
    expect(out[3] & 2).toBe(2);
  });

  it('v86 with VME: CLI/STI change VIF only; PUSHF shows VIF as IF and IOPL 3; POPF loads VIF', () => {
    // cli ; sti ; pushf ; push 0 ; popf
    const b = v86([0xfa, 0xfb, 0x9c, 0x6a, 0x00, 0x9d], CR4_VME, IF);
    b.cpu.run(1);
    expect(b.cpu.flags & (IF | VIF)).toBe(IF);
    b.cpu.run(1);
    expect(b.cpu.flags & (IF | VIF)).toBe(IF | VIF);
    b.cpu.run(1);
    expect(b.mem.view.getUint16(0x7ffe, true) & (IF | IOPL)).toBe(IF | IOPL);
    b.cpu.run(2);
    expect(b.cpu.flags & (IF | VIF)).toBe(IF); // VIF from the popped IF (0); IF untouched
    expect(b.cpu.eip).toBe(0x1006);
  });

  it('v86 without VME: CLI with IOPL 0 faults; with VME STI faults while VIP is set', () => {
    const noVme = v86([0xfa], 0);
    noVme.cpu.run(1);
    expect(noVme.cpu.eip).not.toBe(0x1001); // #GP delivered (not executed)
    const vip = v86([0xfb], CR4_VME, VIP);
    vip.cpu.run(1);
    expect(vip.cpu.flags & VIF).toBe(0);
    expect(vip.cpu.eip).not.toBe(0x1001);
  });

  it('PVI: CLI/STI at CPL 3 with IOPL 0 change VIF', () => {
    const b = flat32([0xfa, 0xfb]);
    b.cpu.writeCr4(CR4_PVI);
    b.cpu.setRegs({ eflags: 2 | IF });
    b.cpu.setCpl(3);
    b.cpu.run(1);
    expect(b.cpu.flags & (IF | VIF)).toBe(IF);
    b.cpu.run(1);
    expect(b.cpu.flags & (IF | VIF)).toBe(IF | VIF);
  });
});
