/**
 * SSE/SSE2 register state (XMM0-7, MXCSR) and the scratch slots the SIMD unit works in.
 * MMX registers are not stored here: they alias the x87 physical registers (their 64-bit
 * significands), so the unit reaches them through the `X87State` it is given.
 *
 * Intel SDM Vol. 1 §10.2 (SSE execution environment), §10.2.3 (MXCSR), §9.2 (MMX aliasing).
 * Leaves out: YMM/AVX state and XMM8-15 (64-bit mode).
 */
import { createScratch, type FpScratch } from '../fpu/fp-math.js';
import type { X87State } from '../fpu/x87-state.js';

/** MXCSR after reset / FNINIT-independent power-on value: all exceptions masked, RC nearest. */
export const MXCSR_DEFAULT = 0x1f80;
/** Writable MXCSR bits (DAZ supported): the value FXSAVE reports as MXCSR_MASK. */
export const MXCSR_MASK = 0xffff;

/** Slot holding a decoded memory / register source operand. */
export const SLOT_SRC = 8;
/** Slot holding an MMX destination copy while an MMX instruction runs. */
export const SLOT_DST = 9;
/** Slot for results of instructions whose destination must not change before they finish. */
export const SLOT_TMP = 10;
const SLOTS = 11;

/** Live SIMD state. Create with `createSimdState`. */
export interface SimdState {
  /** The x87 state whose registers hold MM0-MM7. */
  readonly x87: X87State;
  /** XMM0-7 then three 16-byte scratch slots, viewed at every lane width. */
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly u16: Uint16Array;
  readonly i16: Int16Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  /** MXCSR. */
  mxcsr: number;
  /** Exception flags accumulated by the current instruction (committed at its end). */
  pending: number;
  /** Scratch for bit conversions. */
  readonly scratch: FpScratch;
}

/** Creates the SIMD state bound to the x87 state that hosts the MMX registers. */
export function createSimdState(x87: X87State): SimdState {
  const buf = new ArrayBuffer(SLOTS * 16);
  return {
    x87,
    u8: new Uint8Array(buf),
    i8: new Int8Array(buf),
    u16: new Uint16Array(buf),
    i16: new Int16Array(buf),
    u32: new Uint32Array(buf),
    i32: new Int32Array(buf),
    f32: new Float32Array(buf),
    f64: new Float64Array(buf),
    mxcsr: MXCSR_DEFAULT,
    pending: 0,
    scratch: createScratch(),
  };
}

/** Resets XMM registers to zero and MXCSR to its default (processor RESET/INIT). */
export function resetSimdState(s: SimdState): void {
  s.u32.fill(0);
  s.mxcsr = MXCSR_DEFAULT;
}

/** Snapshot form of the SSE state (the MMX registers live in the x87 snapshot). */
export interface SimdSnapshot {
  v: 1;
  mxcsr: number;
  /** XMM0-7, each as four little-endian dwords. */
  xmm: number[][];
}

/** Saves the SSE state as named, versioned data. */
export function saveSimdState(s: SimdState): SimdSnapshot {
  const xmm: number[][] = [];
  for (let r = 0; r < 8; r++) xmm.push(Array.from(s.u32.subarray(r * 4, r * 4 + 4)));
  return { v: 1, mxcsr: s.mxcsr, xmm };
}

/** Validates untrusted snapshot data, then applies it. Throws on malformed input. */
export function loadSimdState(s: SimdState, data: unknown): void {
  if (typeof data !== 'object' || data === null) throw new Error('simd snapshot: not an object');
  const d = data as Record<string, unknown>;
  if (d.v !== 1) throw new Error(`simd snapshot: unsupported version ${String(d.v)}`);
  const mx = d.mxcsr;
  if (typeof mx !== 'number' || !Number.isInteger(mx) || mx < 0 || (mx & ~MXCSR_MASK) !== 0) {
    throw new Error('simd snapshot: bad mxcsr');
  }
  const xmm = d.xmm;
  if (!Array.isArray(xmm) || xmm.length !== 8) throw new Error('simd snapshot: xmm must have 8 entries');
  for (const r of xmm) {
    if (!Array.isArray(r) || r.length !== 4 || !r.every((w) => typeof w === 'number' && Number.isInteger(w) && w >= 0 && w <= 0xffffffff)) {
      throw new Error('simd snapshot: bad xmm register');
    }
  }
  s.mxcsr = mx;
  for (let r = 0; r < 8; r++) for (let i = 0; i < 4; i++) s.u32[r * 4 + i] = (xmm[r] as number[])[i] as number;
}
