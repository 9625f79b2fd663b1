import { describe, expect, it } from 'vitest';
import { FakeFault, FakeHost, memOp, regOp } from './fake-host.js';
import { x87Execute, x87Wait } from './x87.js';
import { createX87State, loadX87State, saveX87State, x87StatusWord, x87TagWord, type X87State } from './x87-state.js';

const A = 0x2000;
const B = 0x3000;

function setup(): { s: X87State; h: FakeHost } {
  return { s: createX87State(), h: new FakeHost() };
}
function fldd(s: X87State, h: FakeHost, v: number): void {
  h.setF64(A, v);
  x87Execute(s, h, 0xdd, memOp(0, A));
}
function fstpd(s: X87State, h: FakeHost): number {
  x87Execute(s, h, 0xdd, memOp(3, B));
  return h.f64(B);
}
function fstpBits(s: X87State, h: FakeHost): string {
  x87Execute(s, h, 0xdd, memOp(3, B));
  return h.u32(B + 4).toString(16).padStart(8, '0') + h.u32(B).toString(16).padStart(8, '0');
}
function fldcw(s: X87State, h: FakeHost, cw: number): void {
  h.view.setUint16(A + 0x100, cw, true);
  x87Execute(s, h, 0xd9, memOp(5, A + 0x100));
}
function sw(s: X87State): number {
  return x87StatusWord(s);
}
function m80(h: FakeHost, a: number): string {
  return h.u16(a + 8).toString(16).padStart(4, '0') + h.u32(a + 4).toString(16).padStart(8, '0') + h.u32(a).toString(16).padStart(8, '0');
}
function setM80(h: FakeHost, a: number, hex: string): void {
  h.view.setUint16(a + 8, parseInt(hex.slice(0, 4), 16), true);
  h.setU32(a + 4, parseInt(hex.slice(4, 12), 16));
  h.setU32(a, parseInt(hex.slice(12, 20), 16));
}

describe('x87 loads and stores', () => {
  it('round-trips m64, m32 and converts', () => {
    const { s, h } = setup();
    fldd(s, h, 1.5);
    expect(sw(s) >>> 11 & 7).toBe(7);
    expect(fstpd(s, h)).toBe(1.5);
    h.setF32(A, 0.1);
    x87Execute(s, h, 0xd9, memOp(0, A)); // FLD m32
    x87Execute(s, h, 0xd9, memOp(3, B)); // FSTP m32
    expect(h.u32(B)).toBe(0x3dcccccd);
    expect(x87TagWord(s)).toBe(0xffff);
  });

  it('keeps m80 values bit-exact through FLD/FSTP m80', () => {
    const { s, h } = setup();
    for (const hex of ['3fffc000000000000001', 'bffe8000000000000000', '7fffc000000000000123', '00000000000000000001', '43fe8000000000000001']) {
      setM80(h, A, hex);
      x87Execute(s, h, 0xdb, memOp(5, A));
      x87Execute(s, h, 0xdb, memOp(7, B));
      expect(m80(h, B)).toBe(hex);
    }
  });

  it('converts m80 to binary64 with rounding and exact conversion back', () => {
    const { s, h } = setup();
    setM80(h, A, '3fffc000000000000400'); // 1.5 + 2^-53: ties to even -> 1.5
    x87Execute(s, h, 0xdb, memOp(5, A));
    expect(fstpd(s, h)).toBe(1.5);
    fldd(s, h, 5e-324); // binary64 denormal -> normal extended
    x87Execute(s, h, 0xdb, memOp(7, B));
    expect(m80(h, B)).toBe('3bcd8000000000000000');
  });

  it('FILD/FISTP m64 is exact over the full range', () => {
    const { s, h } = setup();
    for (const [hi, lo] of [[0x7fffffff, 0xffffffff], [0x80000000, 0], [0xffffffff, 0xfffffffe], [0x12345678, 0x9abcdef1], [0, 5]] as const) {
      h.setU32(A, lo);
      h.setU32(A + 4, hi);
      x87Execute(s, h, 0xdf, memOp(5, A));
      x87Execute(s, h, 0xdf, memOp(7, B));
      expect([h.u32(B + 4), h.u32(B)]).toEqual([hi, lo]);
    }
  });

  it('FIST honours rounding control and stores the integer indefinite on overflow', () => {
    const { s, h } = setup();
    const expectRc: [number, number[]][] = [[0, [2, -2, 4]], [1, [2, -3, 3]], [2, [3, -2, 4]], [3, [2, -2, 3]]];
    for (const [rc, vals] of expectRc) {
      fldcw(s, h, 0x037f | (rc << 10));
      [2.5, -2.5, 3.5].forEach((v, i) => {
        fldd(s, h, v);
        x87Execute(s, h, 0xdb, memOp(3, B)); // FISTP m32
        expect(h.u32(B) | 0).toBe(vals[i]);
      });
    }
    fldcw(s, h, 0x037f);
    fldd(s, h, 1e10);
    x87Execute(s, h, 0xdb, memOp(3, B));
    expect(h.u32(B)).toBe(0x80000000);
    expect(sw(s) & 1).toBe(1);
    fldd(s, h, 40000);
    x87Execute(s, h, 0xdf, memOp(3, B)); // FISTP m16
    expect(h.u16(B)).toBe(0x8000);
    fldd(s, h, -7.9);
    x87Execute(s, h, 0xdb, memOp(1, B)); // FISTTP m32
    expect(h.u32(B) | 0).toBe(-7);
  });

  it('FBLD / FBSTP', () => {
    const { s, h } = setup();
    const bcd = [0x21, 0x43, 0x65, 0x87, 0x09, 0, 0, 0, 0x99, 0x80];
    bcd.forEach((b, i) => h.writeU8(A + i, b));
    x87Execute(s, h, 0xdf, memOp(4, A));
    expect(s.st[s.top]).toBe(Number(-990000000987654321n));
    x87Execute(s, h, 0xdf, memOp(6, B));
    expect(Array.from(h.mem.subarray(B, B + 10))).toEqual(bcd);
  });

  it('stack overflow and underflow give the indefinite with SF and C1', () => {
    const { s, h } = setup();
    for (let i = 0; i < 8; i++) fldd(s, h, i);
    fldd(s, h, 99);
    expect(sw(s) & 0x241).toBe(0x241); // IE SF C1
    expect(fstpBits(s, h)).toBe('fff8000000000000');
    expect(() => x87Execute(s, h, 0xdb, memOp(4, 0))).toThrow(/fault 6/); // DB /4 is reserved
  });
});

describe('x87 arithmetic', () => {
  it('computes each form with the right operand order', () => {
    const { s, h } = setup();
    const ops: [number, number, number][] = [[0, 10, 4 + 10], [1, 10, 40], [4, 10, 4 - 10], [5, 10, 10 - 4], [6, 10, 0.4], [7, 10, 2.5]];
    for (const [reg, m, want] of ops) {
      fldd(s, h, 4);
      h.setF64(A, m);
      x87Execute(s, h, 0xdc, memOp(reg, A)); // Fop m64
      expect(fstpd(s, h)).toBe(want);
    }
    // D8 reg: st0 = st0 op st1; DC reg: st1 = st0 op st1 ... DE pops
    for (const [reg, , want] of ops) {
      fldd(s, h, 10); // ST1
      fldd(s, h, 4); // ST0
      x87Execute(s, h, 0xd8, regOp((reg << 3) | 1));
      expect(fstpd(s, h)).toBe(want);
      fstpd(s, h);
      fldd(s, h, 10);
      fldd(s, h, 4);
      x87Execute(s, h, 0xde, regOp((reg << 3) | 1)); // FopP ST(1), ST(0)
      // DE: reg 4 is FSUBRP (ST1 = ST0 - ST1)
      const sw4 = reg === 4 ? 4 - 10 : reg === 5 ? 10 - 4 : reg === 6 ? 0.4 : reg === 7 ? 2.5 : want;
      expect(fstpd(s, h)).toBe(sw4);
      expect(sw(s) >>> 11 & 7).toBe(0);
    }
    fldd(s, h, 1);
    h.setU32(A + 16, 3);
    x87Execute(s, h, 0xda, memOp(6, A + 16)); // FIDIV m32
    expect(fstpd(s, h)).toBe(1 / 3);
  });

  it('honours precision control 24 bits and rounding control', () => {
    const { s, h } = setup();
    fldcw(s, h, 0x007f); // PC=single
    fldd(s, h, 1);
    h.setF64(A, 3);
    x87Execute(s, h, 0xdc, memOp(6, A));
    expect(fstpd(s, h)).toBe(Math.fround(1 / 3));
    fldcw(s, h, 0x0b7f); // RC=up, PC=ext
    fldd(s, h, 1);
    h.setF64(A, 2 ** -60);
    x87Execute(s, h, 0xdc, memOp(0, A));
    expect(fstpd(s, h)).toBe(1 + 2 ** -52);
    const third = [0, 1, 2, 3].map((rc) => {
      fldcw(s, h, 0x037f | (rc << 10));
      fldd(s, h, 1);
      h.setF64(A, 3);
      x87Execute(s, h, 0xdc, memOp(6, A));
      return fstpd(s, h);
    });
    expect(third[0]).toBe(1 / 3);
    expect(third[1]).toBe(1 / 3);
    expect(third[2]).toBeGreaterThan(1 / 3);
    expect(third[3]).toBe(1 / 3);
    fldcw(s, h, 0x0f7f); // chop
    fldd(s, h, -1);
    h.setF64(A, 3);
    x87Execute(s, h, 0xdc, memOp(6, A));
    expect(fstpd(s, h)).toBe(-1 / 3);
    expect(sw(s) & 0x20).toBe(0x20);
  });

  it('signals invalid, zero-divide, overflow; masked responses', () => {
    const { s, h } = setup();
    fldd(s, h, 1);
    h.setF64(A, 0);
    x87Execute(s, h, 0xdc, memOp(6, A));
    expect(fstpd(s, h)).toBe(Infinity);
    expect(sw(s) & 0x3f).toBe(0x04);
    fldd(s, h, Infinity);
    h.setF64(A, Infinity);
    x87Execute(s, h, 0xdc, memOp(4, A));
    expect(fstpBits(s, h)).toBe('fff8000000000000');
    fldd(s, h, 1e308);
    h.setF64(A, 1e308);
    x87Execute(s, h, 0xdc, memOp(1, A));
    expect(fstpd(s, h)).toBe(Infinity);
    expect(sw(s) & 0x3f).toBe(0x2d); // IE ZE OE PE
  });

  it('propagates NaNs: SNaN quieted with IE, larger significand wins', () => {
    const { s, h } = setup();
    h.setU32(A, 1);
    h.setU32(A + 4, 0x7ff00000); // SNaN payload 1
    x87Execute(s, h, 0xdd, memOp(0, A));
    expect(sw(s) & 1).toBe(1);
    expect(fstpBits(s, h)).toBe('7ff8000000000001');
    h.setU32(A, 0);
    h.setU32(A + 4, 0xfff80005);
    x87Execute(s, h, 0xdd, memOp(0, A));
    h.setU32(A + 8, 0);
    h.setU32(A + 12, 0x7ff80009);
    x87Execute(s, h, 0xdc, memOp(0, A + 8)); // FADD m64 NaN
    expect(fstpBits(s, h)).toBe('7ff8000900000000');
  });

  it('unmasked exceptions: ES, then #MF (NE=1) or FERR (NE=0) on the next waiting instruction', () => {
    const { s, h } = setup();
    fldcw(s, h, 0x037b); // unmask ZE
    fldd(s, h, 1);
    h.setF64(A, 0);
    x87Execute(s, h, 0xdc, memOp(6, A));
    expect(sw(s) & 0x8084).toBe(0x8084);
    expect(s.st[s.top]).toBe(1); // destination unchanged
    expect(() => x87Execute(s, h, 0xd9, regOp(0xe8))).toThrow(FakeFault);
    expect(() => x87Wait(s, h)).toThrow(/fault 16/);
    x87Execute(s, h, 0xdf, regOp(0xe0)); // FNSTSW AX works
    expect(h.regs[0]! & 0xffff).toBe(sw(s));
    x87Execute(s, h, 0xdb, regOp(0xe2)); // FNCLEX
    expect(sw(s) & 0x80ff).toBe(0);
    h.cr0 &= ~0x20;
    x87Execute(s, h, 0xdc, memOp(6, A));
    expect(h.ferr).toBe(1);
  });

  it('raises #NM when CR0.EM or CR0.TS, and FWAIT only with TS+MP', () => {
    const { s, h } = setup();
    h.cr0 |= 8;
    expect(() => x87Execute(s, h, 0xd9, regOp(0xe8))).toThrow(/fault 7/);
    expect(() => x87Wait(s, h)).toThrow(/fault 7/);
    h.cr0 &= ~2;
    x87Wait(s, h);
    h.cr0 = 0x35;
    expect(() => x87Execute(s, h, 0xd9, regOp(0xe8))).toThrow(/fault 7/);
  });
});

describe('x87 compares and classification', () => {
  it('FCOM + FNSTSW, FCOMI and FUCOMI set condition codes / EFLAGS', () => {
    const { s, h } = setup();
    fldd(s, h, 2);
    fldd(s, h, 1);
    x87Execute(s, h, 0xd8, regOp(0xd1)); // FCOM ST(1)
    expect(sw(s) & 0x4500).toBe(0x0100);
    x87Execute(s, h, 0xdb, regOp(0xf1)); // FCOMI
    expect(h.eflags & 0x45).toBe(0x01);
    x87Execute(s, h, 0xdf, regOp(0xe9)); // FUCOMIP ST(1): 1 vs 2
    expect(h.eflags & 0x45).toBe(0x01);
    fldd(s, h, NaN);
    x87Execute(s, h, 0xdb, regOp(0xe9)); // FUCOMI NaN vs 2: unordered, no IE for QNaN
    expect(h.eflags & 0x45).toBe(0x45);
    expect(sw(s) & 1).toBe(0);
    x87Execute(s, h, 0xdb, regOp(0xf1)); // FCOMI: IE
    expect(sw(s) & 1).toBe(1);
    x87Execute(s, h, 0xde, regOp(0xd9)); // FCOMPP
    expect(sw(s) & 0x4500).toBe(0x4500);
    expect(x87TagWord(s)).toBe(0xffff);
  });

  it('FTST and FXAM', () => {
    const { s, h } = setup();
    const cases: [number, number][] = [[-0, 0x4200], [1, 0x0400], [-Infinity, 0x0700], [NaN, 0x0100]];
    for (const [v, cc] of cases) {
      fldd(s, h, v);
      x87Execute(s, h, 0xd9, regOp(0xe5));
      expect(sw(s) & 0x4700).toBe(cc);
      fstpd(s, h);
    }
    x87Execute(s, h, 0xd9, regOp(0xe5)); // empty
    expect(sw(s) & 0x4500).toBe(0x4100);
    fldd(s, h, -3);
    x87Execute(s, h, 0xd9, regOp(0xe4)); // FTST
    expect(sw(s) & 0x4500).toBe(0x0100);
  });

  it('FCMOVcc follows EFLAGS', () => {
    const { s, h } = setup();
    fldd(s, h, 7);
    fldd(s, h, 3);
    h.eflags = 0x2 | 0x40; // ZF
    x87Execute(s, h, 0xda, regOp(0xc9)); // FCMOVE ST0, ST1
    expect(s.st[s.top]).toBe(7);
    x87Execute(s, h, 0xd9, regOp(0xe8)); // FLD1
    x87Execute(s, h, 0xdb, regOp(0xca)); // FCMOVNE: no move
    expect(s.st[s.top]).toBe(1);
    x87Execute(s, h, 0xda, regOp(0xc2)); // FCMOVB: CF=0 no move
    expect(s.st[s.top]).toBe(1);
    x87Execute(s, h, 0xda, regOp(0xd2)); // FCMOVBE: ZF
    expect(s.st[s.top]).toBe(7);
  });
});

describe('x87 constants and transcendental functions', () => {
  it('loads exact constants with RC-dependent rounding', () => {
    const { s, h } = setup();
    x87Execute(s, h, 0xd9, regOp(0xeb)); // FLDPI
    x87Execute(s, h, 0xdb, memOp(7, B));
    expect(m80(h, B)).toBe('4000c90fdaa22168c235');
    fldcw(s, h, 0x077f);
    x87Execute(s, h, 0xd9, regOp(0xeb));
    x87Execute(s, h, 0xdb, memOp(7, B));
    expect(m80(h, B)).toBe('4000c90fdaa22168c234');
    fldcw(s, h, 0x037f);
    const consts: [number, number][] = [[0xe8, 1], [0xe9, Math.log2(10)], [0xea, Math.LOG2E], [0xec, Math.LOG10E * Math.LN2 / Math.LN10 * Math.LN10 / Math.LN2 * 0 + Math.log10(2)], [0xed, Math.LN2], [0xee, 0]];
    for (const [m, v] of consts) {
      x87Execute(s, h, 0xd9, regOp(m));
      expect(fstpd(s, h)).toBeCloseTo(v, 15);
    }
  });

  it('FSQRT, FRNDINT, FSCALE, FXTRACT, FABS, FCHS', () => {
    const { s, h } = setup();
    fldd(s, h, 2);
    x87Execute(s, h, 0xd9, regOp(0xfa));
    expect(fstpd(s, h)).toBe(Math.SQRT2);
    fldd(s, h, -4);
    x87Execute(s, h, 0xd9, regOp(0xfa));
    expect(fstpBits(s, h)).toBe('fff8000000000000');
    fldd(s, h, 2.5);
    x87Execute(s, h, 0xd9, regOp(0xfc));
    expect(fstpd(s, h)).toBe(2);
    fldd(s, h, 3.9); // ST1
    fldd(s, h, 1.5);
    x87Execute(s, h, 0xd9, regOp(0xfd)); // 1.5 * 2^3
    expect(fstpd(s, h)).toBe(12);
    fstpd(s, h);
    fldd(s, h, -48);
    x87Execute(s, h, 0xd9, regOp(0xf4));
    expect(fstpd(s, h)).toBe(-1.5);
    expect(fstpd(s, h)).toBe(5);
    fldd(s, h, -0);
    x87Execute(s, h, 0xd9, regOp(0xe1));
    expect(Object.is(fstpd(s, h), 0)).toBe(true);
    fldd(s, h, 3);
    x87Execute(s, h, 0xd9, regOp(0xe0));
    expect(fstpd(s, h)).toBe(-3);
  });

  it('FPREM / FPREM1 remainders and quotient bits', () => {
    const { s, h } = setup();
    fldd(s, h, 3);
    fldd(s, h, 23); // 23 = 7*3 + 2
    x87Execute(s, h, 0xd9, regOp(0xf8));
    expect(s.st[s.top]).toBe(2);
    // q = 7 = 0b111: C0=Q2, C3=Q1, C1=Q0
    expect(sw(s) & 0x4700).toBe(0x4300);
    fstpd(s, h);
    fldd(s, h, 23);
    x87Execute(s, h, 0xd9, regOp(0xf5)); // FPREM1: q=8, r=-1
    expect(s.st[s.top]).toBe(-1);
    expect(sw(s) & 0x4700).toBe(0x0000);
    fstpd(s, h);
    fstpd(s, h);
    fldd(s, h, 1);
    fldd(s, h, 2 ** 100); // partial remainder
    x87Execute(s, h, 0xd9, regOp(0xf8));
    expect(sw(s) & 0x400).toBe(0x400);
  });

  it('FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1', () => {
    const { s, h } = setup();
    fldd(s, h, 0.5);
    x87Execute(s, h, 0xd9, regOp(0xfe));
    expect(fstpd(s, h)).toBe(Math.sin(0.5));
    fldd(s, h, 0.5);
    x87Execute(s, h, 0xd9, regOp(0xff));
    expect(fstpd(s, h)).toBe(Math.cos(0.5));
    fldd(s, h, 0.5);
    x87Execute(s, h, 0xd9, regOp(0xfb));
    expect(fstpd(s, h)).toBe(Math.cos(0.5));
    expect(fstpd(s, h)).toBe(Math.sin(0.5));
    fldd(s, h, 0.5);
    x87Execute(s, h, 0xd9, regOp(0xf2));
    expect(fstpd(s, h)).toBe(1);
    expect(fstpd(s, h)).toBe(Math.tan(0.5));
    fldd(s, h, 2 ** 64);
    x87Execute(s, h, 0xd9, regOp(0xfe));
    expect(sw(s) & 0x400).toBe(0x400);
    fstpd(s, h);
    fldd(s, h, 1);
    fldd(s, h, -1);
    x87Execute(s, h, 0xd9, regOp(0xf3)); // atan2(1, -1)
    expect(fstpd(s, h)).toBe(Math.atan2(1, -1));
    fldd(s, h, 0.5);
    x87Execute(s, h, 0xd9, regOp(0xf0));
    expect(fstpd(s, h)).toBeCloseTo(Math.SQRT2 - 1, 15);
    fldd(s, h, 3);
    fldd(s, h, 8);
    x87Execute(s, h, 0xd9, regOp(0xf1));
    expect(fstpd(s, h)).toBe(9);
    fldd(s, h, 2);
    fldd(s, h, 1);
    x87Execute(s, h, 0xd9, regOp(0xf9));
    expect(fstpd(s, h)).toBe(2);
    expect(x87TagWord(s)).toBe(0xffff);
  });
});

describe('x87 environment and state', () => {
  it('FNSTENV (32-bit protected) layout and masking', () => {
    const { s, h } = setup();
    fldd(s, h, 1);
    x87Execute(s, h, 0xd9, memOp(6, B));
    expect(h.u32(B)).toBe(0xffff037f);
    expect(h.u32(B + 4)).toBe(0xffff3800);
    expect(h.u32(B + 8)).toBe(0xffff3fff);
    expect(h.u32(B + 12)).toBe(0x1000);
    expect(h.u32(B + 16)).toBe((0x505 << 16) | 0x08); // FOP of FLD m64 (DD 05), FCS
    expect(h.u32(B + 20)).toBe(A);
    expect(h.u32(B + 24)).toBe(0xffff0010);
  });

  it('FNSTENV 16-bit real-mode layout', () => {
    const { s, h } = setup();
    h.cr0 = 0x30;
    h.operandSize32 = false;
    h.instructionPointer = 0x12345;
    fldd(s, h, 1);
    x87Execute(s, h, 0xd9, memOp(6, B));
    expect(h.u16(B)).toBe(0x037f);
    expect(h.u16(B + 6)).toBe(0x2345);
    expect(h.u16(B + 8)).toBe(0x1000 | 0x505);
    expect(h.u16(B + 10)).toBe(A);
    expect(h.u16(B + 12)).toBe(0);
    // FLDENV of the same image restores
    const t = createX87State();
    x87Execute(t, h, 0xd9, memOp(4, B));
    expect(t.cw).toBe(0x037f);
    expect(x87StatusWord(t)).toBe(0x3800);
    expect(t.fip).toBe(0x12345);
  });

  it('FNSAVE / FRSTOR round trip and FNSAVE re-initialises', () => {
    const { s, h } = setup();
    fldd(s, h, 1.25);
    x87Execute(s, h, 0xd9, regOp(0xeb));
    fldcw(s, h, 0x027f);
    x87Execute(s, h, 0xdd, memOp(6, B));
    expect(m80(h, B + 28)).toBe('4000c90fdaa22168c235');
    expect(m80(h, B + 38)).toBe('3fffa000000000000000');
    expect(s.cw).toBe(0x037f);
    expect(x87TagWord(s)).toBe(0xffff);
    x87Execute(s, h, 0xdd, memOp(4, B));
    expect(s.cw).toBe(0x027f);
    expect(fstpd(s, h)).toBe(Math.PI);
    expect(fstpd(s, h)).toBe(1.25);
  });

  it('FLDCW / FNSTCW / FNSTSW m16, FFREE, FXCH, FINCSTP / FDECSTP', () => {
    const { s, h } = setup();
    fldcw(s, h, 0x0c7f);
    x87Execute(s, h, 0xd9, memOp(7, B));
    expect(h.u16(B)).toBe(0x0c7f);
    fldd(s, h, 1);
    fldd(s, h, 2);
    x87Execute(s, h, 0xd9, regOp(0xc9)); // FXCH ST1
    expect(s.st[s.top]).toBe(1);
    x87Execute(s, h, 0xd9, regOp(0xf7)); // FINCSTP
    x87Execute(s, h, 0xdd, memOp(7, B));
    expect((h.u16(B) >>> 11) & 7).toBe(7);
    x87Execute(s, h, 0xd9, regOp(0xf6));
    x87Execute(s, h, 0xdd, regOp(0xc0)); // FFREE ST0
    expect(x87TagWord(s) & (3 << (2 * s.top))).toBe(3 << (2 * s.top));
  });

  it('snapshot save/load round-trips and validates', () => {
    const { s, h } = setup();
    fldd(s, h, -2.75);
    x87Execute(s, h, 0xd9, regOp(0xeb));
    const snap = saveX87State(s);
    const t = createX87State();
    loadX87State(t, JSON.parse(JSON.stringify(snap)));
    expect(saveX87State(t)).toEqual(snap);
    expect(() => loadX87State(t, { ...snap, v: 2 })).toThrow();
    expect(() => loadX87State(t, { ...snap, regs: [] })).toThrow();
  });
});

describe('x87 exception corner cases', () => {
  it('FST m32: overflow and underflow flags, directed rounding, C1', () => {
    const { s, h } = setup();
    fldd(s, h, 1e39);
    x87Execute(s, h, 0xd9, memOp(3, B));
    expect(h.u32(B)).toBe(0x7f800000);
    expect(sw(s) & 0x3f).toBe(0x28); // OE PE
    fldcw(s, h, 0x0f7f); // chop
    fldd(s, h, -1e39);
    x87Execute(s, h, 0xd9, memOp(3, B));
    expect(h.u32(B)).toBe(0xff7fffff);
    fldcw(s, h, 0x037f);
    x87Execute(s, h, 0xdb, regOp(0xe2));
    fldd(s, h, 1e-40);
    x87Execute(s, h, 0xd9, memOp(3, B));
    expect(h.u32(B)).toBe(Math.round(1e-40 / 2 ** -149));
    expect(sw(s) & 0x3f).toBe(0x30); // UE PE
    fldd(s, h, 1 + 2 ** -30); // rounds down to 1.0f: C1 = 0
    x87Execute(s, h, 0xd9, memOp(3, B));
    expect(sw(s) & 0x200).toBe(0);
    fldd(s, h, 1 + 3 * 2 ** -25); // rounds up: C1 = 1
    x87Execute(s, h, 0xd9, memOp(3, B));
    expect(sw(s) & 0x200).toBe(0x200);
  });

  it('unmasked invalid on FSTP of an SNaN leaves memory and stack alone', () => {
    const { s, h } = setup();
    fldcw(s, h, 0x037e); // unmask IE
    setM80(h, A, '7fffa000000000000000'); // SNaN (FLD m80 does not signal)
    x87Execute(s, h, 0xdb, memOp(5, A));
    expect(sw(s) & 1).toBe(0);
    h.setU32(B, 0x12345678);
    x87Execute(s, h, 0xd9, memOp(3, B)); // FSTP m32 SNaN -> #IA unmasked
    expect(h.u32(B)).toBe(0x12345678);
    expect(sw(s) & 0x81).toBe(0x81);
    expect((sw(s) >>> 11) & 7).toBe(7);
  });

  it('FLDCW unmasking a pending flag sets ES; FNINIT / FNSTCW do not fault', () => {
    const { s, h } = setup();
    fldd(s, h, 1);
    h.setF64(A + 8, 0);
    x87Execute(s, h, 0xdc, memOp(6, A + 8)); // ZE masked
    expect(sw(s) & 0x80).toBe(0);
    fldcw(s, h, 0x037b);
    expect(sw(s) & 0x8080).toBe(0x8080);
    x87Execute(s, h, 0xd9, memOp(7, B)); // FNSTCW: no fault
    expect(() => x87Execute(s, h, 0xd9, regOp(0xe8))).toThrow(/fault 16/);
    x87Execute(s, h, 0xdb, regOp(0xe3)); // FNINIT
    expect(sw(s)).toBe(0);
  });

  it('FNSAVE / FRSTOR in the 16-bit protected-mode layout', () => {
    const { s, h } = setup();
    h.operandSize32 = false;
    fldd(s, h, 3.25);
    x87Execute(s, h, 0xdd, memOp(6, B));
    expect(h.u16(B)).toBe(0x037f);
    expect(h.u16(B + 2)).toBe(0x3800);
    expect(h.u16(B + 4)).toBe(0x3fff);
    expect(h.u16(B + 6)).toBe(0x1000);
    expect(h.u16(B + 8)).toBe(0x08);
    expect(h.u16(B + 10)).toBe(A);
    expect(h.u16(B + 12)).toBe(0x10);
    expect(m80(h, B + 14)).toBe('4000d000000000000000');
    x87Execute(s, h, 0xdd, memOp(4, B));
    expect(fstpd(s, h)).toBe(3.25);
  });

  it('FISTP m64 rounds exact 64-bit significands (beyond binary64)', () => {
    const { s, h } = setup();
    setM80(h, A, '403c8000000000000002'); // 2^61 + 2^(61-62) = 2^61 + 0.5 -> ties to even
    x87Execute(s, h, 0xdb, memOp(5, A));
    x87Execute(s, h, 0xdf, memOp(7, B));
    expect([h.u32(B + 4), h.u32(B)]).toEqual([0x20000000, 0]);
    setM80(h, A, 'c03c8000000000000006'); // -(2^61 + 1.5) -> -(2^61 + 2)
    x87Execute(s, h, 0xdb, memOp(5, A));
    x87Execute(s, h, 0xdf, memOp(7, B));
    expect([h.u32(B + 4), h.u32(B)]).toEqual([0xdfffffff, 0xfffffffe]);
    expect(sw(s) & 0x20).toBe(0x20);
  });

  it('FXAM classifies exact 80-bit images (denormal, unnormal, pseudo-NaN)', () => {
    const { s, h } = setup();
    const cases: [string, number][] = [['00000000000000000001', 0x4400], ['3fff4000000000000000', 0x0000], ['7fff4000000000000000', 0x0000],
      ['ffff8000000000000000', 0x0700], ['7fffc000000000000000', 0x0100]];
    for (const [hex, cc] of cases) {
      setM80(h, A, hex);
      x87Execute(s, h, 0xdb, memOp(5, A));
      x87Execute(s, h, 0xd9, regOp(0xe5));
      expect(sw(s) & 0x4500 | (sw(s) & 0x200)).toBe(cc);
      x87Execute(s, h, 0xdd, regOp(0xd8)); // FSTP ST0
    }
  });
});

describe('x87 exact 80-bit images', () => {
  it('FST m64 rounds an m80 value under RC; FCOM sees 64-bit significand differences', () => {
    const { s, h } = setup();
    const out = [0, 1, 2, 3].map((rc) => {
      fldcw(s, h, 0x037f | (rc << 10));
      setM80(h, A, 'bfff8000000000000401'); // -(1 + 2^-53 + 2^-63)
      x87Execute(s, h, 0xdb, memOp(5, A));
      return fstpBits(s, h);
    });
    expect(out).toEqual(['bff0000000000001', 'bff0000000000001', 'bff0000000000000', 'bff0000000000000']);
    fldcw(s, h, 0x037f);
    setM80(h, A, '3fff8000000000000001');
    setM80(h, A + 16, '3fff8000000000000002');
    x87Execute(s, h, 0xdb, memOp(5, A + 16));
    x87Execute(s, h, 0xdb, memOp(5, A));
    x87Execute(s, h, 0xd8, regOp(0xd1)); // FCOM ST1: ST0 < ST1
    expect(sw(s) & 0x4500).toBe(0x0100);
    setM80(h, A, '00018000000000000001'); // far below binary64's range, but not zero
    x87Execute(s, h, 0xdb, memOp(5, A));
    x87Execute(s, h, 0xd9, regOp(0xe4)); // FTST
    expect(sw(s) & 0x4500).toBe(0);
  });
});

describe('x87 pointers and aliases', () => {
  it('FIP/FOP/FDP follow the last non-control instruction', () => {
    const { s, h } = setup();
    h.instructionPointer = 0x4444;
    fldd(s, h, 1); // DD 05
    h.instructionPointer = 0x5555;
    x87Execute(s, h, 0xd9, regOp(0xe1)); // FABS: FIP moves, FDP stays
    expect([s.fip, s.fop, s.fdp]).toEqual([0x5555, 0x1e1, A]);
    h.instructionPointer = 0x6666;
    fldcw(s, h, 0x037f); // control: nothing moves
    x87Execute(s, h, 0xdf, regOp(0xe0)); // FNSTSW AX
    x87Execute(s, h, 0xdb, regOp(0xe2)); // FNCLEX
    expect([s.fip, s.fop, s.fdp]).toEqual([0x5555, 0x1e1, A]);
  });

  it('unmasked stack overflow leaves TOP and the registers alone', () => {
    const { s, h } = setup();
    fldcw(s, h, 0x037e);
    for (let i = 0; i < 8; i++) fldd(s, h, i);
    fldd(s, h, 99);
    expect((sw(s) >>> 11) & 7).toBe(0);
    expect(sw(s) & 0x2c1).toBe(0x2c1); // C1, ES, SF, IE
    expect(s.st[0]).toBe(7);
  });

  it('undocumented aliases: FSTP1 (D9 D8+i), FXCH4 (DD C8+i), FCOMP5 (DE D0+i) pops', () => {
    const { s, h } = setup();
    fldd(s, h, 1);
    fldd(s, h, 2);
    x87Execute(s, h, 0xdd, regOp(0xc9)); // FXCH4 ST1
    expect(s.st[s.top]).toBe(1);
    x87Execute(s, h, 0xde, regOp(0xd1)); // FCOMP5 ST1: 1 < 2, pop
    expect(sw(s) & 0x4500).toBe(0x0100);
    expect((sw(s) >>> 11) & 7).toBe(7);
    fldd(s, h, 5);
    x87Execute(s, h, 0xd9, regOp(0xd9)); // FSTP1 ST1
    expect(fstpd(s, h)).toBe(5);
  });
});

describe('x87 conversions from exact 80-bit images', () => {
  it('FIST and FST m32 use the bits binary64 cannot hold', () => {
    const { s, h } = setup();
    const fist = (hex: string, rc: number): number => {
      fldcw(s, h, 0x037f | (rc << 10));
      setM80(h, A, hex);
      x87Execute(s, h, 0xdb, memOp(5, A));
      x87Execute(s, h, 0xdb, memOp(3, B));
      return h.u32(B) | 0;
    };
    // 5 + 2^-60
    expect([0, 1, 2, 3].map((rc) => fist('4001a000000000000001', rc))).toEqual([5, 5, 6, 5]);
    // -(5 + 2^-60)
    expect([0, 1, 2, 3].map((rc) => fist('c001a000000000000001', rc))).toEqual([-5, -6, -5, -5]);
    // 2.5 + 2^-62 (a tie in binary64) rounds to 3
    expect(fist('4000a000000000000001', 0)).toBe(3);
    fldcw(s, h, 0x037f);
    x87Execute(s, h, 0xdb, regOp(0xe2));
    setM80(h, A, '3fff8000008000000001'); // 1 + 2^-24 + 2^-63: just above the f32 tie -> rounds up
    x87Execute(s, h, 0xdb, memOp(5, A));
    x87Execute(s, h, 0xd9, memOp(3, B));
    expect(h.u32(B)).toBe(0x3f800001);
    setM80(h, A, 'bfff80000080000000ff'); // -(1 + 2^-24 + tiny): away from zero too
    x87Execute(s, h, 0xdb, memOp(5, A));
    x87Execute(s, h, 0xd9, memOp(3, B));
    expect(h.u32(B)).toBe(0xbf800001);
    setM80(h, A, '3fff8000007fffffffff'); // just below the tie -> rounds down
    x87Execute(s, h, 0xdb, memOp(5, A));
    x87Execute(s, h, 0xd9, memOp(3, B));
    expect(h.u32(B)).toBe(0x3f800000);
    setM80(h, A, '7ffe8000000000000000'); // 2^16384: beyond binary64, overflows m32 too
    x87Execute(s, h, 0xdb, memOp(5, A));
    x87Execute(s, h, 0xd9, memOp(3, B));
    expect(h.u32(B)).toBe(0x7f800000);
    expect(sw(s) & 0x28).toBe(0x28);
  });
});
