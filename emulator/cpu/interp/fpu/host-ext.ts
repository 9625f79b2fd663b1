/**
 * What the x87 and SIMD units need from the integer core beyond `CoprocessorHost`.
 *
 * The shared contract (`../coprocessor.ts`) has no EFLAGS access, no code/data selectors and
 * no notion of the effective operand size, yet FCMOVcc / FCOMI / (U)COMISS need EFLAGS,
 * FSTENV / FSAVE / FXSAVE store FCS / FDS, the environment layout of FLDENV / FSTENV /
 * FSAVE / FRSTOR depends on the effective operand size (not on the bare 0x66 prefix), and
 * MASKMOVQ / MASKMOVDQU write to DS:[E]DI, which has no ModRM memory operand.
 *
 * Intel SDM Vol. 1 §8.1.8-8.1.10 (FIP/FDP/FOP), Vol. 2 FCMOVcc, FCOMI, COMISS, MASKMOVDQU.
 * Leaves out: nothing the units read; 64-bit mode (REX.W layouts) is not modelled.
 */
import type { CoprocessorHost } from '../coprocessor.js';

/** The core-side extension of `CoprocessorHost` that `x87Execute` and `simdExecute` require. */
export interface CoprocessorHostExt extends CoprocessorHost {
  /** Current EFLAGS (all bits; the units read CF, PF, ZF and VM). */
  getEflags(): number;
  /** Writes EFLAGS; the units only change CF/PF/ZF (and clear OF/SF/AF for COMI*). */
  setEflags(value: number): void;
  /** Effective operand size of the current instruction is 32 bits (code-segment default xor 0x66). */
  readonly operandSize32: boolean;
  /** CS selector of the current instruction (stored as FCS). */
  readonly codeSelector: number;
  /** Selector of the segment of the current memory operand (stored as FDS); 0 if unknown. */
  readonly dataSelector: number;
  /** Linear address of DS:[E]DI (segment override applied) for MASKMOVQ / MASKMOVDQU. */
  maskMoveAddress(): number;
}

/** EFLAGS bits the units touch. */
export const EFLAGS_CF = 1 << 0;
/** Parity flag. */
export const EFLAGS_PF = 1 << 2;
/** Auxiliary-carry flag. */
export const EFLAGS_AF = 1 << 4;
/** Zero flag. */
export const EFLAGS_ZF = 1 << 6;
/** Sign flag. */
export const EFLAGS_SF = 1 << 7;
/** Overflow flag. */
export const EFLAGS_OF = 1 << 11;
/** Virtual-8086 mode flag (selects the real-mode x87 environment layout). */
export const EFLAGS_VM = 1 << 17;

/** CR0 bits checked by the units. */
export const CR0_PE = 1 << 0;
/** Monitor coprocessor (WAIT/FWAIT honours TS). */
export const CR0_MP = 1 << 1;
/** Emulation: x87 raises #NM, MMX/SSE raise #UD. */
export const CR0_EM = 1 << 2;
/** Task switched: #NM on the first x87/SIMD instruction after a task switch. */
export const CR0_TS = 1 << 3;
/** Numeric error: #MF (set) versus FERR# (clear). */
export const CR0_NE = 1 << 5;
/** CR4.OSFXSR: the OS supports FXSAVE/FXRSTOR and SSE. */
export const CR4_OSFXSR = 1 << 9;
/** CR4.OSXMMEXCPT: unmasked SIMD FP exceptions raise #XM (else #UD). */
export const CR4_OSXMMEXCPT = 1 << 10;

/** Exception vectors. */
export const VEC_UD = 6;
/** Device not available. */
export const VEC_NM = 7;
/** General protection. */
export const VEC_GP = 13;
/** x87 floating-point error. */
export const VEC_MF = 16;
/** SIMD floating-point exception. */
export const VEC_XM = 19;
