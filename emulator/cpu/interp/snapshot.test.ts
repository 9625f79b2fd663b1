/** CPU snapshots: JSON round trip, resume equivalence, validation of untrusted input. */
import { describe, expect, it } from 'vitest';
import { flat32 } from './test-support/harness.js';

// fld1 ; fadd st0,st0 ; inc eax ; add ebx,eax ; jmp short -4 (back to inc eax)
const CODE = [0xd9, 0xe8, 0xdc, 0xc0, 0x40, 0x01, 0xc3, 0xeb, 0xfb];

describe('InterpCpu snapshots', () => {
  it('save -> JSON -> load into a fresh CPU resumes identically', () => {
    const a = flat32(CODE);
    a.cpu.run(101);
    const snap = JSON.parse(JSON.stringify(a.cpu.saveState())) as unknown;
    const b = flat32([]);
    b.mem.u8.set(a.mem.u8);
    b.cpu.loadState(snap);
    expect(b.cpu.saveState()).toEqual(a.cpu.saveState());
    a.cpu.run(1000);
    b.cpu.run(1000);
    expect(b.cpu.getRegs()).toEqual(a.cpu.getRegs());
    expect(JSON.stringify(b.cpu.saveState())).toBe(JSON.stringify(a.cpu.saveState()));
  });

  it('rejects malformed input without touching the CPU', () => {
    const a = flat32(CODE);
    a.cpu.run(10);
    const before = JSON.stringify(a.cpu.saveState());
    const bad = { ...a.cpu.saveState(), gpr: [1, 2, 3] };
    expect(() => a.cpu.loadState(bad)).toThrow(/gpr/);
    expect(() => a.cpu.loadState({ v: 99 })).toThrow(/version/);
    expect(() => a.cpu.loadState(null)).toThrow();
    expect(JSON.stringify(a.cpu.saveState())).toBe(before);
  });
});
