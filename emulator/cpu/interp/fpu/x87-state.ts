/**
 * x87 FPU state: eight physical data registers, TOP, tag word, status and control words,
 * last-instruction pointers (FIP/FCS/FOP, FDP/FDS), and its versioned snapshot form.
 *
 * Register representation (a documented deviation): each register holds an IEEE binary64
 * (`st`), so arithmetic runs in double precision. A register may additionally carry its exact
 * 80-bit image (`raw` = 1, `rawSe`/`rawHi`/`rawLo`), which is kept for values that came in
 * exactly (FLD m80, FILD m64, FBLD, MMX writes, NaNs with their payload, FXRSTOR/FRSTOR) and
 * not yet recomputed, so loads and stores of m80 / m64 integers / MMX values round-trip
 * bit-exactly. Invariant: a NaN register always has `raw` = 1.
 *
 * Two extra slots (8, 9) hold decoded memory operands so that NaN payload handling is uniform.
 *
 * Intel SDM Vol. 1 §8.1 (x87 execution environment), §8.1.3-8.1.9, §8.3.1 (FINIT values).
 * Leaves out: the 80-bit internal precision (see above).
 */
import { createScratch, f64ToF80, f80ToF64, type F80Parts, type FpScratch } from './fp-math.js';

/** Status-word bits. */
export const SW_IE = 1 << 0;
/** Denormal operand. */
export const SW_DE = 1 << 1;
/** Zero divide. */
export const SW_ZE = 1 << 2;
/** Overflow. */
export const SW_OE = 1 << 3;
/** Underflow. */
export const SW_UE = 1 << 4;
/** Precision (inexact). */
export const SW_PE = 1 << 5;
/** Stack fault. */
export const SW_SF = 1 << 6;
/** Error summary. */
export const SW_ES = 1 << 7;
/** Condition code C0. */
export const SW_C0 = 1 << 8;
/** Condition code C1. */
export const SW_C1 = 1 << 9;
/** Condition code C2. */
export const SW_C2 = 1 << 10;
/** Condition code C3. */
export const SW_C3 = 1 << 14;
/** FPU busy (mirrors ES). */
export const SW_B = 1 << 15;
/** All condition-code bits. */
export const SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3;

/** Number of register slots: 8 architectural + 2 operand temporaries. */
const SLOTS = 10;
/** Slot index of the first memory-operand temporary. */
export const SLOT_MEM = 8;

/** Live x87 state. Create with `createX87State`. */
export interface X87State {
  /** Physical registers R0-R7 (+ temporaries 8, 9) as binary64. */
  readonly st: Float64Array;
  /** 1 when the raw 80-bit image of the slot is valid. */
  readonly raw: Uint8Array;
  /** Sign and biased exponent of the raw image. */
  readonly rawSe: Uint16Array;
  /** Significand bits 63-32 of the raw image. */
  readonly rawHi: Uint32Array;
  /** Significand bits 31-0 of the raw image. */
  readonly rawLo: Uint32Array;
  /** 1 when physical register i is empty (tag 11). */
  readonly empty: Uint8Array;
  /** Stack top (0-7). */
  top: number;
  /** Status word without the TOP field (bits 11-13 always 0 here). */
  sw: number;
  /** Control word. */
  cw: number;
  /** Last non-control instruction: linear pointer, CS selector and opcode (11 bits). */
  fip: number;
  fcs: number;
  fop: number;
  /** Last memory operand: linear address and selector. */
  fdp: number;
  fds: number;
  /** Scratch for bit conversions. */
  readonly scratch: FpScratch;
  /** Scratch for extended conversions. */
  readonly f80: F80Parts;
}

/** Creates an x87 state in its power-on (FNINIT) configuration. */
export function createX87State(): X87State {
  const s: X87State = {
    st: new Float64Array(SLOTS),
    raw: new Uint8Array(SLOTS),
    rawSe: new Uint16Array(SLOTS),
    rawHi: new Uint32Array(SLOTS),
    rawLo: new Uint32Array(SLOTS),
    empty: new Uint8Array(8),
    top: 0,
    sw: 0,
    cw: 0x037f,
    fip: 0,
    fcs: 0,
    fop: 0,
    fdp: 0,
    fds: 0,
    scratch: createScratch(),
    f80: { se: 0, hi: 0, lo: 0 },
  };
  x87Init(s);
  return s;
}

/** FNINIT: CW=037Fh, SW=0, all tags empty, pointers cleared (SDM Vol. 1 Table 8-4). */
export function x87Init(s: X87State): void {
  s.cw = 0x037f;
  s.sw = 0;
  s.top = 0;
  s.empty.fill(1);
  s.fip = 0;
  s.fcs = 0;
  s.fop = 0;
  s.fdp = 0;
  s.fds = 0;
}

/** The status word including TOP. */
export function x87StatusWord(s: X87State): number {
  return (s.sw & ~0x3800) | (s.top << 11);
}

/** Sets the status word (TOP is taken from bits 11-13). */
export function x87SetStatusWord(s: X87State, v: number): void {
  s.top = (v >>> 11) & 7;
  s.sw = v & 0xc7ff;
}

/** Stores a binary64 value into a slot (clears its raw image; NaNs get one). */
export function setSlot(s: X87State, i: number, v: number): void {
  if (v !== v) {
    // a NaN without a known payload: the x87 indefinite.
    setSlotRaw(s, i, 0xffff, 0xc0000000, 0);
    return;
  }
  s.st[i] = v;
  s.raw[i] = 0;
}

/** Stores an exact 80-bit value into a slot. */
export function setSlotRaw(s: X87State, i: number, se: number, hi: number, lo: number): void {
  s.rawSe[i] = se;
  s.rawHi[i] = hi;
  s.rawLo[i] = lo;
  s.raw[i] = 1;
  s.st[i] = f80ToF64(s.scratch, se, hi, lo);
}

/** Copies slot `from` into slot `to` (with its raw image). */
export function copySlot(s: X87State, from: number, to: number): void {
  s.st[to] = s.st[from]!;
  s.raw[to] = s.raw[from]!;
  s.rawSe[to] = s.rawSe[from]!;
  s.rawHi[to] = s.rawHi[from]!;
  s.rawLo[to] = s.rawLo[from]!;
}

/** Makes sure the raw image of slot i is valid (computes it from the binary64). */
export function ensureRaw(s: X87State, i: number): void {
  if (s.raw[i]) return;
  f64ToF80(s.scratch, s.st[i]!, s.f80);
  s.rawSe[i] = s.f80.se;
  s.rawHi[i] = s.f80.hi;
  s.rawLo[i] = s.f80.lo;
  s.raw[i] = 1;
}

/** The 2-bit tag of physical register i, recomputed from its contents (SDM §8.1.7). */
export function x87Tag(s: X87State, i: number): number {
  if (s.empty[i]) return 3;
  if (s.raw[i]) {
    const e = s.rawSe[i]! & 0x7fff;
    const hi = s.rawHi[i]!;
    const lo = s.rawLo[i]!;
    if (e === 0x7fff) return 2;
    if (e === 0) return hi === 0 && lo === 0 ? 1 : 2;
    return hi & 0x80000000 ? 0 : 2;
  }
  const v = s.st[i]!;
  if (v === 0) return 1;
  return Number.isFinite(v) ? 0 : 2;
}

/** The full tag word. */
export function x87TagWord(s: X87State): number {
  let t = 0;
  for (let i = 0; i < 8; i++) t |= x87Tag(s, i) << (2 * i);
  return t;
}

/** Loads a tag word: only empty / non-empty is honoured (as on P6 and later). */
export function x87SetTagWord(s: X87State, tw: number): void {
  for (let i = 0; i < 8; i++) s.empty[i] = ((tw >>> (2 * i)) & 3) === 3 ? 1 : 0;
}

/** The FXSAVE abridged tag byte (1 bit per register, 1 = non-empty). */
export function x87AbridgedTag(s: X87State): number {
  let t = 0;
  for (let i = 0; i < 8; i++) if (!s.empty[i]) t |= 1 << i;
  return t;
}

/** Snapshot form of the x87 state (plain JSON data). */
export interface X87Snapshot {
  v: 1;
  cw: number;
  sw: number;
  tagWord: number;
  fip: number;
  fcs: number;
  fop: number;
  fdp: number;
  fds: number;
  /** Physical registers R0-R7 as exact 80-bit images: [signExp, significandHi, significandLo]. */
  regs: [number, number, number][];
}

/** Saves the x87 state as named, versioned data. */
export function saveX87State(s: X87State): X87Snapshot {
  const regs: [number, number, number][] = [];
  for (let i = 0; i < 8; i++) {
    ensureRaw(s, i);
    regs.push([s.rawSe[i]!, s.rawHi[i]!, s.rawLo[i]!]);
  }
  return {
    v: 1,
    cw: s.cw,
    sw: x87StatusWord(s),
    tagWord: x87TagWord(s),
    fip: s.fip,
    fcs: s.fcs,
    fop: s.fop,
    fdp: s.fdp,
    fds: s.fds,
    regs,
  };
}

function isU(x: unknown, max: number): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= max;
}

/** Validates untrusted snapshot data, then applies it. Throws on malformed input. */
export function loadX87State(s: X87State, data: unknown): void {
  if (typeof data !== 'object' || data === null) throw new Error('x87 snapshot: not an object');
  const d = data as Record<string, unknown>;
  if (d.v !== 1) throw new Error(`x87 snapshot: unsupported version ${String(d.v)}`);
  for (const k of ['cw', 'sw', 'tagWord', 'fcs', 'fds'] as const) {
    if (!isU(d[k], 0xffff)) throw new Error(`x87 snapshot: bad ${k}`);
  }
  for (const k of ['fip', 'fdp'] as const) if (!isU(d[k], 0xffffffff)) throw new Error(`x87 snapshot: bad ${k}`);
  if (!isU(d.fop, 0x7ff)) throw new Error('x87 snapshot: bad fop');
  const regs = d.regs;
  if (!Array.isArray(regs) || regs.length !== 8) throw new Error('x87 snapshot: regs must have 8 entries');
  for (const r of regs) {
    if (!Array.isArray(r) || r.length !== 3 || !isU(r[0], 0xffff) || !isU(r[1], 0xffffffff) || !isU(r[2], 0xffffffff)) {
      throw new Error('x87 snapshot: bad register image');
    }
  }
  s.cw = d.cw as number;
  x87SetStatusWord(s, d.sw as number);
  x87SetTagWord(s, d.tagWord as number);
  s.fip = d.fip as number;
  s.fcs = d.fcs as number;
  s.fop = d.fop as number;
  s.fdp = d.fdp as number;
  s.fds = d.fds as number;
  for (let i = 0; i < 8; i++) {
    const r = regs[i] as [number, number, number];
    setSlotRaw(s, i, r[0], r[1], r[2]);
  }
}
