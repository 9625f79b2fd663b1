import { describe, expect, it } from 'vitest';
import { FakeFault, FakeHost, memOp, regOp } from '../fpu/fake-host.js';
import { x87Execute } from '../fpu/x87.js';
import { createX87State, ensureRaw, x87StatusWord, x87TagWord } from '../fpu/x87-state.js';
import { simdExecute, simdOwns, SIMD_OPCODES } from './simd.js';
import { createSimdState, loadSimdState, saveSimdState, type SimdState } from './simd-state.js';
import { createCoprocessorUnits } from './units.js';

const A = 0x2000;

function setup(): { st: SimdState; h: FakeHost } {
  return { st: createSimdState(createX87State()), h: new FakeHost() };
}
function setX(st: SimdState, r: number, ...dw: number[]): void {
  for (let i = 0; i < 4; i++) st.u32[r * 4 + i] = dw[i] ?? 0;
}
function getX(st: SimdState, r: number): number[] {
  return Array.from(st.u32.subarray(r * 4, r * 4 + 4));
}
function setPS(st: SimdState, r: number, ...v: number[]): void {
  for (let i = 0; i < 4; i++) st.f32[r * 4 + i] = v[i] ?? 0;
}
function setPD(st: SimdState, r: number, a: number, b = 0): void {
  st.f64[r * 2] = a;
  st.f64[r * 2 + 1] = b;
}
const R = (d: number, s: number): number => (d << 3) | s;
type Pfx = 0 | 0x66 | 0xf2 | 0xf3;
function x(st: SimdState, h: FakeHost, opc: number, d: number, s: number, pfx: Pfx = 0, imm?: number): void {
  if (imm !== undefined) h.imm.push(imm);
  simdExecute(st, h, opc, regOp(R(d, s), pfx));
}
function mm(st: SimdState, r: number): [number, number] {
  ensureRaw(st.x87, r);
  return [st.x87.rawLo[r]!, st.x87.rawHi[r]!];
}
function setMm(st: SimdState, h: FakeHost, r: number, lo: number, hi: number): void {
  h.setU32(A + 0x800, lo);
  h.setU32(A + 0x804, hi);
  simdExecute(st, h, 0x6f, memOp(r, A + 0x800));
}

describe('opcode table', () => {
  it('claims SSE/SSE2/MMX opcodes per mandatory prefix', () => {
    expect(simdOwns(0x58, 0)).toBe(true);
    expect(simdOwns(0x58, 0xf2)).toBe(true);
    expect(simdOwns(0x6c, 0)).toBe(false);
    expect(simdOwns(0x6c, 0x66)).toBe(true);
    expect(simdOwns(0x7e, 0xf3)).toBe(true);
    expect(simdOwns(0x7e, 0xf2)).toBe(true); // F2 is not defined for 0F 7E: ignored (MOVD)
    expect(simdOwns(0xae, 0x66)).toBe(false); // 66 0F AE /7 is CLFLUSHOPT
    expect(simdOwns(0xd6, 0)).toBe(false);
    expect(simdOwns(0xae, 0)).toBe(true);
    expect(simdOwns(0xa2, 0)).toBe(false); // CPUID
    expect(simdOwns(0xff, 0)).toBe(false);
    expect(SIMD_OPCODES.length).toBe(256);
  });
});

describe('faults', () => {
  it('#UD without OSFXSR or with EM, #NM with TS, #GP on misaligned MOVAPS, #XM/#UD on unmasked', () => {
    const { st, h } = setup();
    h.cr4 = 0;
    expect(() => x(st, h, 0x58, 0, 1)).toThrow(/fault 6/);
    h.cr4 = 0x600;
    h.cr0 |= 4;
    expect(() => x(st, h, 0x58, 0, 1)).toThrow(/fault 6/);
    expect(() => x(st, h, 0xfc, 0, 1)).toThrow(/fault 6/); // MMX with EM
    h.cr0 = 0x3b; // TS
    expect(() => x(st, h, 0x58, 0, 1)).toThrow(/fault 7/);
    expect(() => x(st, h, 0xfc, 0, 1)).toThrow(/fault 7/);
    h.cr0 = 0x33;
    expect(() => simdExecute(st, h, 0x28, memOp(0, A + 8))).toThrow(/fault 13/);
    simdExecute(st, h, 0x10, memOp(0, A + 8)); // MOVUPS fine
    expect(() => simdExecute(st, h, 0x58, memOp(0, A + 4))).toThrow(/fault 13/); // ADDPS m128 aligned
    simdExecute(st, h, 0x58, memOp(0, A + 4, 0xf3)); // ADDSS m32 fine
    // unmasked divide-by-zero
    h.setU32(A + 0x100, 0x1f80 & ~(1 << 9));
    simdExecute(st, h, 0xae, memOp(2, A + 0x100)); // LDMXCSR
    setPS(st, 0, 1, 1, 1, 1);
    setPS(st, 1, 0, 1, 1, 1);
    const before = getX(st, 0);
    expect(() => x(st, h, 0x5e, 0, 1)).toThrow(/fault 19/);
    expect(getX(st, 0)).toEqual(before);
    expect(st.mxcsr & 4).toBe(4);
    h.cr4 = 0x200;
    expect(() => x(st, h, 0x5e, 0, 1)).toThrow(/fault 6/);
    h.setU32(A + 0x100, 0x10000);
    expect(() => simdExecute(st, h, 0xae, memOp(2, A + 0x100))).toThrow(/fault 13/);
  });

  it('MMX raises #MF on a pending x87 error when CR0.NE=1', () => {
    const { st, h } = setup();
    st.x87.sw |= 0x80;
    expect(() => x(st, h, 0xfc, 0, 1)).toThrow(/fault 16/);
    h.cr0 &= ~0x20;
    x(st, h, 0xfc, 0, 1);
    expect(h.ferr).toBe(1);
  });
});

describe('MMX', () => {
  it('aliases the x87 registers: TOP=0, tags valid, exponent FFFF; EMMS empties', () => {
    const { st, h } = setup();
    h.setF64(A, 1.0);
    x87Execute(st.x87, h, 0xdd, memOp(0, A)); // FLD -> TOP=7
    setMm(st, h, 3, 0x11223344, 0x55667788);
    expect(x87StatusWord(st.x87) & 0x3800).toBe(0);
    expect(st.x87.empty.every((e) => e === 0)).toBe(true);
    expect(st.x87.rawSe[3]).toBe(0xffff);
    expect(mm(st, 3)).toEqual([0x11223344, 0x55667788]);
    // MM7 is the register FLD wrote (physical 7): its significand of 1.0
    expect(mm(st, 7)).toEqual([0, 0x80000000]);
    simdExecute(st, h, 0x77, regOp(0));
    expect(x87TagWord(st.x87)).toBe(0xffff);
  });

  it('MOVD, MOVQ, PADDB/W/D/Q, saturating ops, PMADDWD, PSADBW, shifts, PSHUFW, PEXTRW, PINSRW, PMOVMSKB', () => {
    const { st, h } = setup();
    h.regs[1] = 0xdeadbeef;
    x(st, h, 0x6e, 0, 1); // MOVD mm0, ecx
    expect(mm(st, 0)).toEqual([0xdeadbeef, 0]);
    setMm(st, h, 1, 0x7f80ff01, 0x80017fff);
    setMm(st, h, 2, 0x01800101, 0xffff0001);
    setMm(st, h, 3, 0x7f80ff01, 0x80017fff);
    x(st, h, 0xfc, 3, 2); // PADDB
    expect(mm(st, 3)).toEqual([0x80000002, 0x7f007f00]);
    setMm(st, h, 3, 0x7f80ff01, 0x80017fff);
    x(st, h, 0xec, 3, 2); // PADDSB
    expect(mm(st, 3)).toEqual([0x7f800002, 0x80007f00]);
    setMm(st, h, 3, 0x7f80ff01, 0x80017fff);
    x(st, h, 0xdc, 3, 2); // PADDUSB
    expect(mm(st, 3)).toEqual([0x80ffff02, 0xffff7fff]);
    setMm(st, h, 3, 0x7fff8000, 0x00010002);
    setMm(st, h, 4, 0x00017fff, 0x7fff0003);
    x(st, h, 0xed, 3, 4); // PADDSW
    expect(mm(st, 3)).toEqual([0x7fffffff, 0x7fff0005]);
    setMm(st, h, 3, 0xffffffff, 0xffffffff);
    setMm(st, h, 4, 1, 0);
    x(st, h, 0xd4, 3, 4); // PADDQ
    expect(mm(st, 3)).toEqual([0, 0]);
    x(st, h, 0xfb, 3, 4); // PSUBQ
    expect(mm(st, 3)).toEqual([0xffffffff, 0xffffffff]);
    setMm(st, h, 3, 0x00030002, 0x8000ffff);
    setMm(st, h, 4, 0x00050004, 0x80000002);
    x(st, h, 0xf5, 3, 4); // PMADDWD: 2*4+3*5=23 ; -1*2 + -32768*-32768
    expect(mm(st, 3)).toEqual([23, 0x3ffffffe]);
    setMm(st, h, 3, 0x01020304, 0x0a0b0c0d);
    setMm(st, h, 4, 0x04030201, 0x00000000);
    x(st, h, 0xf6, 3, 4); // PSADBW
    expect(mm(st, 3)).toEqual([8 + 10 + 11 + 12 + 13, 0]);
    setMm(st, h, 3, 0x80000001, 0x80000000);
    h.imm.push(4);
    simdExecute(st, h, 0x73, regOp(R(6, 3))); // PSLLQ mm3, 4
    expect(mm(st, 3)).toEqual([0x10, 0x8]);
    setMm(st, h, 3, 0x80008000, 0x00010002);
    h.imm.push(1);
    simdExecute(st, h, 0x71, regOp(R(4, 3))); // PSRAW mm3, 1
    expect(mm(st, 3)).toEqual([0xc000c000, 0x00000001]);
    setMm(st, h, 4, 33, 0);
    setMm(st, h, 3, 0xffffffff, 0x12345678);
    x(st, h, 0xd3, 3, 4); // PSRLQ by 33
    expect(mm(st, 3)).toEqual([0x091a2b3c, 0]);
    setMm(st, h, 3, 0x22221111, 0x44443333);
    x(st, h, 0x70, 5, 3, 0, 0x1b); // PSHUFW reverse
    expect(mm(st, 5)).toEqual([0x33334444, 0x11112222]);
    x(st, h, 0xc5, 2, 5, 0, 1); // PEXTRW edx, mm5, 1
    expect(h.regs[2]).toBe(0x3333);
    h.regs[0] = 0xabcd;
    x(st, h, 0xc4, 5, 0, 0, 3); // PINSRW mm5, eax, 3
    expect(mm(st, 5)).toEqual([0x33334444, 0xabcd2222]);
    x(st, h, 0xd7, 6, 5); // PMOVMSKB esi, mm5
    expect(h.regs[6]).toBe(0xc0);
  });

  it('packs, unpacks, compares and multiplies', () => {
    const { st, h } = setup();
    setMm(st, h, 0, 0x7fff0080, 0xff7f8000);
    setMm(st, h, 1, 0x00010002, 0x01000000);
    x(st, h, 0x63, 0, 1); // PACKSSWB
    expect(mm(st, 0)).toEqual([0x80807f7f, 0x7f000102]);
    setMm(st, h, 0, 0x7fff0080, 0xff7f8000);
    x(st, h, 0x67, 0, 1); // PACKUSWB
    expect(mm(st, 0)).toEqual([0x0000ff80, 0xff000102]);
    setMm(st, h, 0, 0x44332211, 0x88776655);
    setMm(st, h, 1, 0xccbbaa99, 0x00ffeedd);
    x(st, h, 0x60, 0, 1); // PUNPCKLBW
    expect(mm(st, 0)).toEqual([0xaa229911, 0xcc44bb33]);
    setMm(st, h, 0, 0x44332211, 0x88776655);
    x(st, h, 0x6a, 0, 1); // PUNPCKHDQ
    expect(mm(st, 0)).toEqual([0x88776655, 0x00ffeedd]);
    setMm(st, h, 0, 0x00050003, 0xfffe8000);
    setMm(st, h, 1, 0x00050004, 0x00010000);
    x(st, h, 0x65, 0, 1); // PCMPGTW
    expect(mm(st, 0)).toEqual([0, 0]);
    setMm(st, h, 0, 0x00050003, 0xfffe8000);
    x(st, h, 0x75, 0, 1); // PCMPEQW
    expect(mm(st, 0)).toEqual([0xffff0000, 0]);
    setMm(st, h, 0, 0x8000ffff, 0x00030002);
    setMm(st, h, 1, 0x80000002, 0x00050004);
    x(st, h, 0xe5, 0, 1); // PMULHW
    expect(mm(st, 0)).toEqual([0x4000ffff, 0]);
    setMm(st, h, 0, 0x8000ffff, 0x00030002);
    x(st, h, 0xe4, 0, 1); // PMULHUW
    expect(mm(st, 0)).toEqual([0x40000001, 0]);
    setMm(st, h, 0, 0x8000ffff, 0x00030002);
    x(st, h, 0xd5, 0, 1); // PMULLW
    expect(mm(st, 0)).toEqual([0x0000fffe, 0x000f0008]);
    setMm(st, h, 0, 0xffffffff, 7);
    setMm(st, h, 1, 0xffffffff, 9);
    x(st, h, 0xf4, 0, 1); // PMULUDQ
    expect(mm(st, 0)).toEqual([1, 0xfffffffe]);
  });
});

describe('SSE/SSE2 moves and integer ops', () => {
  it('MOVSS/MOVSD merge vs zero-extend, MOVLPS/MOVHPS/MOVHLPS/MOVLHPS, MOVQ, MOVD', () => {
    const { st, h } = setup();
    setX(st, 0, 1, 2, 3, 4);
    setX(st, 1, 5, 6, 7, 8);
    x(st, h, 0x10, 0, 1, 0xf3);
    expect(getX(st, 0)).toEqual([5, 2, 3, 4]);
    x(st, h, 0x10, 0, 1, 0xf2);
    expect(getX(st, 0)).toEqual([5, 6, 3, 4]);
    h.setU32(A, 9);
    h.setU32(A + 4, 10);
    simdExecute(st, h, 0x10, memOp(0, A, 0xf3));
    expect(getX(st, 0)).toEqual([9, 0, 0, 0]);
    setX(st, 0, 1, 2, 3, 4);
    simdExecute(st, h, 0x16, memOp(0, A)); // MOVHPS
    expect(getX(st, 0)).toEqual([1, 2, 9, 10]);
    x(st, h, 0x12, 0, 1); // MOVHLPS
    expect(getX(st, 0)).toEqual([7, 8, 9, 10]);
    x(st, h, 0x16, 0, 1); // MOVLHPS
    expect(getX(st, 0)).toEqual([7, 8, 5, 6]);
    simdExecute(st, h, 0x17, memOp(0, A + 16)); // MOVHPS m64, xmm
    expect([h.u32(A + 16), h.u32(A + 20)]).toEqual([5, 6]);
    x(st, h, 0x7e, 2, 0, 0xf3); // MOVQ xmm2, xmm0
    expect(getX(st, 2)).toEqual([7, 8, 0, 0]);
    setX(st, 3, 1, 1, 1, 1);
    x(st, h, 0xd6, 0, 3, 0x66); // MOVQ xmm3 <- xmm0 (66 0F D6 /r: rm is the destination)
    expect(getX(st, 3)).toEqual([7, 8, 0, 0]);
    x(st, h, 0x7e, 0, 5, 0x66); // MOVD ebp, xmm0
    expect(h.regs[5]).toBe(7);
  });

  it('MOVDQA/MOVDQU/MOVAPS round trips, MOVNTDQ, MOVNTI, MASKMOVDQU', () => {
    const { st, h } = setup();
    for (let i = 0; i < 4; i++) h.setU32(A + i * 4, 0x01010101 * (i + 1));
    simdExecute(st, h, 0x6f, memOp(1, A, 0x66));
    expect(getX(st, 1)).toEqual([0x01010101, 0x02020202, 0x03030303, 0x04040404]);
    simdExecute(st, h, 0x7f, memOp(1, A + 0x21, 0xf3));
    expect(h.u32(A + 0x21 + 12)).toBe(0x04040404);
    expect(() => simdExecute(st, h, 0x7f, memOp(1, A + 0x21, 0x66))).toThrow(/fault 13/);
    simdExecute(st, h, 0xe7, memOp(1, A + 0x40, 0x66));
    expect(h.u32(A + 0x44)).toBe(0x02020202);
    h.regs[3] = 0x11112222;
    simdExecute(st, h, 0xc3, memOp(3, A + 0x60));
    expect(h.u32(A + 0x60)).toBe(0x11112222);
    setX(st, 2, 0x80008000, 0, 0, 0x80000000);
    h.regs[7] = A + 0x80;
    x(st, h, 0xf7, 1, 2, 0x66);
    expect(Array.from(h.mem.subarray(A + 0x80, A + 0x90))).toEqual([0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
  });

  it('PSHUFD/HW/LW, PSLLDQ/PSRLDQ, PUNPCKLQDQ, PMOVMSKB, PCMPEQD, PMINUB/PMAXSW, PAVGB', () => {
    const { st, h } = setup();
    setX(st, 1, 0x00010000, 0x00030002, 0x00050004, 0x00070006);
    x(st, h, 0x70, 0, 1, 0x66, 0x1b);
    expect(getX(st, 0)).toEqual([0x00070006, 0x00050004, 0x00030002, 0x00010000]);
    x(st, h, 0x70, 0, 1, 0xf3, 0x1b);
    expect(getX(st, 0)).toEqual([0x00010000, 0x00030002, 0x00060007, 0x00040005]);
    x(st, h, 0x70, 0, 1, 0xf2, 0x00);
    expect(getX(st, 0)).toEqual([0, 0, 0x00050004, 0x00070006]);
    setX(st, 2, 0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c);
    h.imm.push(3);
    simdExecute(st, h, 0x73, regOp(R(7, 2), 0x66)); // PSLLDQ 3
    expect(getX(st, 2)).toEqual([0x00000000, 0x04030201, 0x08070605, 0x0c0b0a09]);
    h.imm.push(5);
    simdExecute(st, h, 0x73, regOp(R(3, 2), 0x66)); // PSRLDQ 5
    expect(getX(st, 2)).toEqual([0x05040302, 0x09080706, 0x000c0b0a, 0]);
    setX(st, 3, 1, 2, 3, 4);
    setX(st, 4, 5, 6, 7, 8);
    x(st, h, 0x6c, 3, 4, 0x66);
    expect(getX(st, 3)).toEqual([1, 2, 5, 6]);
    setX(st, 3, 0x80000080, 0, 0x00800000, 0x80000000);
    x(st, h, 0xd7, 0, 3, 0x66);
    expect(h.regs[0]).toBe(0x8000 | 0x0400 | 0x0008 | 0x0001);
    setX(st, 3, 1, 2, 3, 4);
    setX(st, 4, 1, 0, 3, 0);
    x(st, h, 0x76, 3, 4, 0x66);
    expect(getX(st, 3)).toEqual([0xffffffff, 0, 0xffffffff, 0]);
    setX(st, 3, 0x80ff0102, 0, 0, 0x7fff8000);
    setX(st, 4, 0x7f000201, 0, 0, 0x80007fff);
    x(st, h, 0xda, 3, 4, 0x66);
    expect(getX(st, 3)).toEqual([0x7f000101, 0, 0, 0x7f007f00]);
    setX(st, 3, 0x80ff0102, 0, 0, 0x7fff8000);
    x(st, h, 0xee, 3, 4, 0x66);
    expect(getX(st, 3)).toEqual([0x7f000201, 0, 0, 0x7fff7fff]);
    setX(st, 3, 0xff000001, 0, 0, 0);
    setX(st, 4, 0xff010002, 0, 0, 0);
    x(st, h, 0xe0, 3, 4, 0x66);
    expect(getX(st, 3)[0]).toBe(0xff010002);
  });
});

describe('SSE/SSE2 floating point', () => {
  it('ADDPS/SUBSS/MULPD/DIVSD exact bit patterns, scalar forms keep upper lanes', () => {
    const { st, h } = setup();
    setPS(st, 0, 1, 2, 3, 4);
    setPS(st, 1, 0.5, 0.25, -3, 1e-8);
    x(st, h, 0x58, 0, 1);
    expect(getX(st, 0)).toEqual([0x3fc00000, 0x40100000, 0x00000000, 0x40800000]);
    expect(st.mxcsr & 0x3f).toBe(0x20); // 4 + 1e-8 inexact
    setPS(st, 0, 1, 2, 3, 4);
    x(st, h, 0x5c, 0, 1, 0xf3);
    expect(Array.from(st.f32.subarray(0, 4))).toEqual([0.5, 2, 3, 4]);
    setPD(st, 2, 0.1, 3);
    setPD(st, 3, 3, -2);
    x(st, h, 0x59, 2, 3, 0x66);
    expect(Array.from(st.f64.subarray(4, 6))).toEqual([0.1 * 3, -6]);
    setPD(st, 2, 1, 7);
    x(st, h, 0x5e, 2, 3, 0xf2);
    expect(Array.from(st.f64.subarray(4, 6))).toEqual([1 / 3, 7]);
  });

  it('NaN rules: first-operand QNaN wins, SNaN quieted with IE, default NaN for invalid', () => {
    const { st, h } = setup();
    setX(st, 0, 0x7fa00001, 0x7fc00002, 0x3f800000, 0xff800000);
    setX(st, 1, 0x7fc00003, 0x7f800004, 0x7fc00005, 0x7f800000);
    x(st, h, 0x58, 0, 1);
    expect(getX(st, 0)).toEqual([0x7fe00001, 0x7fc00002, 0x7fc00005, 0xffc00000]);
    expect(st.mxcsr & 1).toBe(1);
    setX(st, 0, 0, 0, 0, 0x7ff40000);
    setX(st, 1, 0, 0x7ff80000, 0, 0x7ff00001);
    x(st, h, 0x59, 0, 1, 0x66);
    expect(getX(st, 0)).toEqual([0, 0x7ff80000, 0, 0x7ffc0000]);
  });

  it('MINPS/MAXPS return the second operand on NaN or equal zeros', () => {
    const { st, h } = setup();
    setX(st, 0, 0x7fc00000, 0x00000000, 0x3f800000, 0x40000000);
    setX(st, 1, 0x3f800000, 0x80000000, 0x7fc00001, 0x3f800000);
    x(st, h, 0x5d, 0, 1);
    expect(getX(st, 0)).toEqual([0x3f800000, 0x80000000, 0x7fc00001, 0x3f800000]);
    setX(st, 0, 0x00000000, 0x40000000, 0, 0);
    setX(st, 1, 0x80000000, 0x3f800000, 0, 0);
    x(st, h, 0x5f, 0, 1);
    expect(getX(st, 0).slice(0, 2)).toEqual([0x80000000, 0x40000000]);
  });

  it('SQRT, RCPPS, RSQRTPS, MXCSR rounding and FZ/DAZ', () => {
    const { st, h } = setup();
    setPS(st, 1, 2, 4, -1, 0);
    x(st, h, 0x51, 0, 1);
    expect(getX(st, 0)).toEqual([0x3fb504f3, 0x40000000, 0xffc00000, 0]);
    x(st, h, 0x53, 2, 1);
    expect(Array.from(st.f32.subarray(8, 12))).toEqual([0.5, 0.25, -1, Infinity]);
    x(st, h, 0x52, 2, 1);
    expect(st.f32[9]).toBe(0.5);
    // 1/3 with RC up / down
    const third = [0, 1, 2, 3].map((rcv) => {
      st.mxcsr = 0x1f80 | (rcv << 13);
      setPS(st, 0, 1);
      setPS(st, 1, 3);
      x(st, h, 0x5e, 0, 1, 0xf3);
      return st.u32[0];
    });
    expect(third).toEqual([0x3eaaaaab, 0x3eaaaaaa, 0x3eaaaaab, 0x3eaaaaaa]);
    // FZ: tiny result flushes to zero with UE|PE
    st.mxcsr = 0x1f80 | 0x8000;
    setPS(st, 0, 1e-30);
    setPS(st, 1, 1e-10);
    x(st, h, 0x59, 0, 1, 0xf3);
    expect(st.u32[0]).toBe(0);
    expect(st.mxcsr & 0x30).toBe(0x30);
    // DAZ: denormal input treated as zero
    st.mxcsr = 0x1f80 | 0x40;
    setX(st, 0, 1, 0, 0, 0);
    setPS(st, 1, 0);
    x(st, h, 0x58, 0, 1, 0xf3);
    expect(st.u32[0]).toBe(0);
    st.mxcsr = 0x1f80;
    setX(st, 0, 1, 0, 0, 0);
    x(st, h, 0x58, 0, 1, 0xf3);
    expect(st.u32[0]).toBe(1);
    expect(st.mxcsr & 2).toBe(2); // DE
  });

  it('CMPPS predicates and COMISS/UCOMISS EFLAGS', () => {
    const { st, h } = setup();
    const preds = [0, 1, 2, 3, 4, 5, 6, 7].map((p) => {
      setX(st, 0, 0x3f800000, 0x3f800000, 0x40000000, 0x7fc00000);
      setX(st, 1, 0x3f800000, 0x40000000, 0x3f800000, 0x3f800000);
      x(st, h, 0xc2, 0, 1, 0, p);
      return getX(st, 0).map((v) => (v ? 1 : 0)).join('');
    });
    expect(preds).toEqual(['1000', '0100', '1100', '0001', '0111', '1011', '0011', '1110']);
    setPD(st, 0, 1, 5);
    setPD(st, 1, 1, 6);
    x(st, h, 0xc2, 0, 1, 0xf2, 0);
    expect(getX(st, 0)).toEqual([0xffffffff, 0xffffffff, 0, 0x40140000]);
    const flags = (a: number, b: number, op: number, pfx: Pfx): number => {
      setPD(st, 0, a);
      setPD(st, 1, b);
      h.eflags = 0x8d5;
      x(st, h, op, 0, 1, pfx);
      return h.eflags & 0x8d5;
    };
    expect(flags(2, 1, 0x2f, 0x66)).toBe(0);
    expect(flags(1, 2, 0x2f, 0x66)).toBe(1);
    expect(flags(2, 2, 0x2e, 0x66)).toBe(0x40);
    st.mxcsr = 0x1f80;
    expect(flags(NaN, 2, 0x2e, 0x66)).toBe(0x45);
    expect(st.mxcsr & 1).toBe(0);
    expect(flags(NaN, 2, 0x2f, 0x66)).toBe(0x45);
    expect(st.mxcsr & 1).toBe(1);
  });

  it('conversions: truncation, MXCSR rounding, integer indefinite, float<->double', () => {
    const { st, h } = setup();
    setPS(st, 1, -2.5, 3.5, 1e10, NaN);
    x(st, h, 0x2c, 0, 1, 0xf3); // CVTTSS2SI eax
    expect(h.regs[0] | 0).toBe(-2);
    x(st, h, 0x2d, 0, 1, 0xf3); // CVTSS2SI (nearest even)
    expect(h.regs[0] | 0).toBe(-2);
    x(st, h, 0x5b, 2, 1, 0x66); // CVTPS2DQ
    expect(getX(st, 2)).toEqual([0xfffffffe, 4, 0x80000000, 0x80000000]);
    x(st, h, 0x5b, 2, 1, 0xf3); // CVTTPS2DQ
    expect(getX(st, 2)).toEqual([0xfffffffe, 3, 0x80000000, 0x80000000]);
    setX(st, 3, 0xffffffff, 0x7fffffff, 16777217, 0x80000000);
    x(st, h, 0x5b, 4, 3); // CVTDQ2PS
    expect(getX(st, 4)).toEqual([0xbf800000, 0x4f000000, 0x4b800000, 0xcf000000]);
    x(st, h, 0xe6, 5, 3, 0xf3); // CVTDQ2PD
    expect(Array.from(st.f64.subarray(10, 12))).toEqual([-1, 2147483647]);
    setPD(st, 6, 2.5, -1e20);
    x(st, h, 0xe6, 7, 6, 0xf2); // CVTPD2DQ
    expect(getX(st, 7)).toEqual([2, 0x80000000, 0, 0]);
    x(st, h, 0xe6, 7, 6, 0x66); // CVTTPD2DQ
    expect(getX(st, 7)).toEqual([2, 0x80000000, 0, 0]);
    setPD(st, 6, 0.1, -1e300);
    x(st, h, 0x5a, 7, 6, 0x66); // CVTPD2PS
    expect(getX(st, 7)).toEqual([0x3dcccccd, 0xff800000, 0, 0]);
    expect(st.mxcsr & 0x28).toBe(0x28);
    setX(st, 6, 0x7f800001, 0x3f800000, 0, 0);
    x(st, h, 0x5a, 7, 6); // CVTPS2PD
    expect(getX(st, 7)).toEqual([0x20000000, 0x7ff80000, 0, 0x3ff00000]);
    h.regs[1] = 0xfffffffd;
    setX(st, 0, 0, 0, 9, 9);
    x(st, h, 0x2a, 0, 1, 0xf2); // CVTSI2SD xmm0, ecx
    expect(getX(st, 0)).toEqual([0, 0xc0080000, 9, 9]);
    h.regs[1] = 16777217;
    x(st, h, 0x2a, 0, 1, 0xf3); // CVTSI2SS
    expect(st.u32[0]).toBe(0x4b800000);
    setPS(st, 1, 1.5, -1.5);
    x(st, h, 0x2d, 2, 1); // CVTPS2PI mm2
    expect(st.x87.rawLo[2]).toBe(2);
    expect(st.x87.rawHi[2]).toBe(0xfffffffe);
    x(st, h, 0x2a, 3, 2); // CVTPI2PS xmm3, mm2
    expect(Array.from(st.f32.subarray(12, 14))).toEqual([2, -2]);
  });

  it('SHUFPS/SHUFPD/UNPCK*, logic, MOVMSKPS/PD', () => {
    const { st, h } = setup();
    setX(st, 0, 0, 1, 2, 3);
    setX(st, 1, 4, 5, 6, 7);
    x(st, h, 0xc6, 0, 1, 0, 0x1b);
    expect(getX(st, 0)).toEqual([3, 2, 5, 4]);
    setX(st, 0, 0, 1, 2, 3);
    x(st, h, 0xc6, 0, 1, 0x66, 0x1);
    expect(getX(st, 0)).toEqual([2, 3, 4, 5]);
    setX(st, 0, 0, 1, 2, 3);
    x(st, h, 0x14, 0, 1);
    expect(getX(st, 0)).toEqual([0, 4, 1, 5]);
    setX(st, 0, 0, 1, 2, 3);
    x(st, h, 0x15, 0, 1, 0x66);
    expect(getX(st, 0)).toEqual([2, 3, 6, 7]);
    setX(st, 0, 0xf0f0f0f0, 0xffffffff, 0, 0x12345678);
    setX(st, 1, 0xff00ff00, 0x0000ffff, 0xffffffff, 0x12345678);
    x(st, h, 0x55, 0, 1); // ANDNPS
    expect(getX(st, 0)).toEqual([0x0f000f00, 0, 0xffffffff, 0]);
    x(st, h, 0x57, 0, 1, 0x66); // XORPD
    expect(getX(st, 0)).toEqual([0xf000f000, 0x0000ffff, 0, 0x12345678]);
    setX(st, 2, 0x80000000, 0, 0x80000001, 0x7fffffff);
    x(st, h, 0x50, 0, 2);
    expect(h.regs[0]).toBe(5);
    x(st, h, 0x50, 0, 2, 0x66);
    expect(h.regs[0]).toBe(0);
  });
});

describe('MXCSR, FXSAVE / FXRSTOR, snapshots', () => {
  it('STMXCSR / LDMXCSR', () => {
    const { st, h } = setup();
    simdExecute(st, h, 0xae, memOp(3, A));
    expect(h.u32(A)).toBe(0x1f80);
    h.setU32(A, 0x7fc0);
    simdExecute(st, h, 0xae, memOp(2, A));
    expect(st.mxcsr).toBe(0x7fc0);
  });

  it('FXSAVE layout and FXRSTOR round trip with x87 and XMM state', () => {
    const { st, h } = setup();
    h.setF64(A, 2.5);
    x87Execute(st.x87, h, 0xdd, memOp(0, A)); // FLD m64 -> ST0 in R7
    x87Execute(st.x87, h, 0xd9, regOp(0xeb)); // FLDPI -> R6
    setX(st, 5, 1, 2, 3, 4);
    st.mxcsr = 0x1fa0;
    const F = 0x4000;
    simdExecute(st, h, 0xae, memOp(0, F));
    expect(h.u16(F)).toBe(0x037f);
    expect(h.u16(F + 2)).toBe(0x3000);
    expect(h.mem[F + 4]).toBe(0xc0);
    expect(h.u16(F + 6)).toBe(0x1eb);
    expect(h.u32(F + 8)).toBe(0x1000);
    expect(h.u16(F + 12)).toBe(0x08);
    expect(h.u32(F + 16)).toBe(A);
    expect(h.u32(F + 24)).toBe(0x1fa0);
    expect(h.u32(F + 28)).toBe(0xffff);
    expect([h.u32(F + 32), h.u32(F + 36), h.u16(F + 40)]).toEqual([0x2168c235, 0xc90fdaa2, 0x4000]);
    expect([h.u32(F + 48), h.u32(F + 52), h.u16(F + 56)]).toEqual([0, 0xa0000000, 0x4000]);
    expect(h.u32(F + 160 + 5 * 16 + 12)).toBe(4);
    expect(() => simdExecute(st, h, 0xae, memOp(0, F + 8))).toThrow(/fault 13/);
    const t = createSimdState(createX87State());
    simdExecute(t, h, 0xae, memOp(1, F));
    expect(saveSimdState(t)).toEqual(saveSimdState(st));
    expect(x87StatusWord(t.x87)).toBe(0x3000);
    expect(x87TagWord(t.x87)).toBe(x87TagWord(st.x87));
    expect(t.x87.st[7]).toBe(2.5);
    h.setU32(F + 24, 0x10000);
    expect(() => simdExecute(t, h, 0xae, memOp(1, F))).toThrow(FakeFault);
  });

  it('fences, CLFLUSH and PREFETCH are accepted', () => {
    const { st, h } = setup();
    simdExecute(st, h, 0xae, regOp(0xf8 & 0x3f | 0x38)); // SFENCE
    simdExecute(st, h, 0xae, regOp(0x28)); // LFENCE
    simdExecute(st, h, 0xae, regOp(0x30)); // MFENCE
    simdExecute(st, h, 0xae, memOp(7, A)); // CLFLUSH
    simdExecute(st, h, 0x18, memOp(1, A)); // PREFETCHT0
    expect(() => simdExecute(st, h, 0xae, regOp(0x00))).toThrow(/fault 6/);
  });

  it('snapshot round trip and validation', () => {
    const { st } = setup();
    setX(st, 3, 1, 2, 3, 0xffffffff);
    st.mxcsr = 0x1f81;
    const snap = saveSimdState(st);
    const t = createSimdState(createX87State());
    loadSimdState(t, JSON.parse(JSON.stringify(snap)));
    expect(saveSimdState(t)).toEqual(snap);
    expect(() => loadSimdState(t, { ...snap, mxcsr: 0x10000 })).toThrow();
    expect(() => loadSimdState(t, { ...snap, xmm: [[1]] })).toThrow();
  });
});

describe('prefix handling and the unit bundle', () => {
  it('ignores an F2/F3 the opcode does not define (falls back to 66h or no prefix)', () => {
    const { st, h } = setup();
    setMm(st, h, 0, 1, 2);
    setMm(st, h, 1, 3, 4);
    simdExecute(st, h, 0xfc, { modrm: 0xc1, linear: -1, opsize: false, mandatoryPrefix: 0xf3 }); // F3 0F FC = PADDB mm
    expect(mm(st, 0)).toEqual([4, 6]);
    setX(st, 0, 1, 2, 3, 4);
    setX(st, 1, 1, 1, 1, 1);
    simdExecute(st, h, 0xfe, { modrm: 0xc1, linear: -1, opsize: true, mandatoryPrefix: 0xf2 }); // 66 F2 0F FE = PADDD xmm
    expect(getX(st, 0)).toEqual([2, 3, 4, 5]);
    expect(simdOwns(0x6c, 0xf3, false)).toBe(false);
    expect(simdOwns(0x6c, 0xf3, true)).toBe(true);
    expect(() => simdExecute(st, h, 0x6c, regOp(0xc1, 0xf3))).toThrow(/fault 6/);
  });

  it('createCoprocessorUnits wires x87, FWAIT, SIMD, reset and snapshots', () => {
    const h = new FakeHost();
    const u = createCoprocessorUnits(h);
    h.setF64(A, 6);
    u.x87(0xdd, memOp(0, A));
    expect(u.simd(0xa2, regOp(0))).toBe(false);
    expect(u.simd(0x57, regOp(0x00))).toBe(true); // XORPS xmm0, xmm0
    u.simdState.mxcsr = 0x1fa0;
    const snap = u.saveState();
    const v = createCoprocessorUnits(h);
    v.loadState(JSON.parse(JSON.stringify(snap)));
    expect(v.saveState()).toEqual(snap);
    expect(v.x87State.st[7]).toBe(6);
    expect(() => v.loadState({ ...snap, sse: { v: 1, mxcsr: -1, xmm: [] } })).toThrow();
    expect(v.saveState()).toEqual(snap);
    u.reset();
    expect(u.simdState.mxcsr).toBe(0x1f80);
    expect(x87TagWord(u.x87State)).toBe(0xffff);
    u.x87Wait();
  });
});

describe('SIMD corner cases', () => {
  it('overflow under each rounding mode, unmasked PE leaves the destination, LDMXCSR needs OSFXSR', () => {
    const { st, h } = setup();
    const res = [0, 1, 2, 3].map((rcv) => {
      st.mxcsr = 0x1f80 | (rcv << 13);
      setPD(st, 1, 1e300, -1e300);
      x(st, h, 0x5a, 0, 1, 0x66); // CVTPD2PS
      return getX(st, 0).slice(0, 2);
    });
    expect(res).toEqual([[0x7f800000, 0xff800000], [0x7f7fffff, 0xff800000], [0x7f800000, 0xff7fffff], [0x7f7fffff, 0xff7fffff]]);
    st.mxcsr = 0x1f80 & ~(1 << 12); // unmask PE
    setPS(st, 0, 1, 1, 1, 1);
    setPS(st, 1, 3, 1, 1, 1);
    const before = getX(st, 0);
    expect(() => x(st, h, 0x5e, 0, 1)).toThrow(/fault 19/);
    expect(getX(st, 0)).toEqual(before);
    expect(st.mxcsr & 0x20).toBe(0x20);
    h.cr4 = 0;
    expect(() => simdExecute(st, h, 0xae, memOp(2, A))).toThrow(/fault 6/);
    expect(() => simdExecute(st, h, 0xae, memOp(3, A))).toThrow(/fault 6/);
    simdExecute(st, h, 0xae, regOp(0x38)); // SFENCE still fine
  });

  it('encoding errors: register forms that need memory and vice versa', () => {
    const { st, h } = setup();
    expect(() => x(st, h, 0x2b, 0, 1)).toThrow(/fault 6/); // MOVNTPS xmm, xmm
    expect(() => x(st, h, 0xe7, 0, 1, 0x66)).toThrow(/fault 6/); // MOVNTDQ xmm, xmm
    expect(() => x(st, h, 0x13, 0, 1)).toThrow(/fault 6/); // MOVLPS xmm, xmm (store form)
    expect(() => simdExecute(st, h, 0x50, memOp(0, A))).toThrow(/fault 6/); // MOVMSKPS r32, m
    expect(() => simdExecute(st, h, 0xc3, regOp(0))).toThrow(/fault 6/); // MOVNTI reg
    h.imm.push(1);
    expect(() => simdExecute(st, h, 0x73, regOp(R(3, 1)))).toThrow(/fault 6/); // PSRLDQ on MMX
    expect(() => simdExecute(st, h, 0xc2, regOp(R(0, 1)))).toThrow(); // CMPPS needs its imm8
  });

  it('CMPPS with an AVX-only predicate (imm8 > 7) is #UD', () => {
    const { st, h } = setup();
    expect(() => x(st, h, 0xc2, 0, 1, 0, 8)).toThrow(/fault 6/);
  });
});

describe('SIMD underflow', () => {
  it('exact denormal results: no UE when masked, flushed with UE|PE under FZ, #XM when UE unmasked', () => {
    const { st, h } = setup();
    setX(st, 0, 1, 0, 0, 0);
    setX(st, 1, 2, 0, 0, 0);
    x(st, h, 0x58, 0, 1, 0xf3); // ADDSS denormals: exact
    expect(st.u32[0]).toBe(3);
    expect(st.mxcsr & 0x30).toBe(0);
    st.mxcsr = 0x1f80 | 0x8000;
    setX(st, 0, 1, 0, 0, 0);
    x(st, h, 0x58, 0, 1, 0xf3);
    expect(st.u32[0]).toBe(0);
    expect(st.mxcsr & 0x30).toBe(0x30);
    st.mxcsr = 0x1f80 & ~(1 << 11); // unmask UE
    setX(st, 0, 1, 0, 0, 0);
    expect(() => x(st, h, 0x58, 0, 1, 0xf3)).toThrow(/fault 19/);
    expect(st.mxcsr & 0x10).toBe(0x10);
    st.mxcsr = 0x1f80;
    setPD(st, 0, 1e-300);
    setPD(st, 1, 1e300);
    x(st, h, 0x5e, 0, 1, 0xf2); // DIVSD to zero: UE + PE
    expect(st.f64[0]).toBe(0);
    expect(st.mxcsr & 0x30).toBe(0x30);
  });
});
