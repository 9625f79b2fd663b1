/** Lazy flags, the ALU and the shift/rotate group (state.ts). */
import { describe, expect, it } from 'vitest';
import { AF, CF, CpuState, OF, PF, SF, ZF } from './state.js';

const ALL = CF | PF | AF | ZF | SF | OF;
function flagsAfter(fn: (s: CpuState) => void, initial = 2): number {
  const s = new CpuState();
  s.flags = initial;
  fn(s);
  return s.getFlags() & ALL;
}

describe('lazy flags', () => {
  it('ADD 8-bit carry, zero, aux', () => {
    expect(flagsAfter((s) => s.alu(0, 0xff, 1, 0x80))).toBe(CF | ZF | AF | PF);
  });
  it('ADD 32-bit signed overflow', () => {
    expect(flagsAfter((s) => s.alu(0, 0x7fffffff, 1, 0x80000000 | 0))).toBe(OF | SF | AF | PF);
  });
  it('SUB borrow and CMP', () => {
    expect(flagsAfter((s) => s.alu(5, 0, 1, 0x8000))).toBe(CF | SF | AF | PF);
    expect(flagsAfter((s) => s.alu(7, 5, 5, 0x80000000 | 0))).toBe(ZF | PF);
  });
  it('ADC/SBB consume CF', () => {
    const s = new CpuState();
    s.setArith(CF, CF);
    expect(s.alu(2, 0xfffe, 1, 0x8000)).toBe(0);
    expect(s.getCF()).toBe(1);
    s.setArith(CF, CF);
    expect(s.alu(3, 0, 0, 0x80)).toBe(0xff);
    expect(s.getCF()).toBe(1);
  });
  it('INC/DEC keep CF', () => {
    expect(flagsAfter((s) => { s.setArith(CF, CF); s.inc(0x7f, 0x80); })).toBe(CF | OF | SF | AF);
    expect(flagsAfter((s) => { s.setArith(CF, 0); s.dec(1, 0x80); })).toBe(ZF | PF);
  });
  it('logic ops clear CF/OF/AF', () => {
    expect(flagsAfter((s) => { s.setArith(ALL, ALL); s.alu(4, 0xf0, 0x0f, 0x80); })).toBe(ZF | PF);
  });
  it('NEG sets CF unless zero', () => {
    expect(flagsAfter((s) => s.neg(0, 0x80))).toBe(ZF | PF);
    expect(flagsAfter((s) => s.neg(1, 0x80)) & CF).toBe(CF);
  });
  it('conditions', () => {
    const s = new CpuState();
    s.alu(7, 1, 2, 0x80000000 | 0); // 1 < 2
    expect(s.cond(0x2)).toBe(true); // B
    expect(s.cond(0xc)).toBe(true); // L
    expect(s.cond(0x7)).toBe(false); // A
    s.alu(7, -1, 1, 0x80000000 | 0); // -1 < 1 signed, above unsigned
    expect(s.cond(0xc)).toBe(true);
    expect(s.cond(0x7)).toBe(true);
  });
});

describe('shifts and rotates', () => {
  it('SHL sets CF from the last bit out and OF for count 1', () => {
    const s = new CpuState();
    expect(s.shift(4, 0x81, 1, 8)).toBe(0x02);
    expect(s.getCF()).toBe(1);
    expect(s.getOF()).toBe(OF);
  });
  it('SHR / SAR', () => {
    const s = new CpuState();
    expect(s.shift(5, 0x80000001 | 0, 1, 32)).toBe(0x40000000);
    expect(s.getCF()).toBe(1);
    expect(s.getOF()).toBe(OF);
    expect(s.shift(7, 0x80, 3, 8)).toBe(0xf0);
    expect(s.getOF()).toBe(0);
  });
  it('ROL/ROR/RCL/RCR', () => {
    const s = new CpuState();
    expect(s.shift(0, 0x80000001 | 0, 1, 32) >>> 0).toBe(3);
    expect(s.getCF()).toBe(1);
    expect(s.shift(1, 0x01, 1, 8)).toBe(0x80);
    expect(s.getCF()).toBe(1);
    s.setArith(CF, CF);
    expect(s.shift(2, 0x00, 1, 8)).toBe(0x01);
    expect(s.getCF()).toBe(0);
    s.setArith(CF, CF);
    expect(s.shift(3, 0x00, 9, 8)).toBe(0x00); // count 9 = full rotation through CF
    expect(s.getCF()).toBe(1);
  });
  it('count 0 leaves flags alone', () => {
    expect(flagsAfter((s) => { s.setArith(ALL, CF | ZF); s.shift(4, 5, 0, 8); })).toBe(CF | ZF);
  });
});
