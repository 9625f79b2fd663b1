/**
 * Bundles the x87 and SIMD units behind the closure shape the integer core plugs in
 * (`InterpCpu.attachCoprocessor({ x87, x87Wait, simd, reset })`), and gives them one
 * versioned snapshot. Created once per CPU; nothing here allocates per instruction.
 *
 * Wiring for the core:
 * - D8-DF: decode ModRM (+SIB/disp), then `x87(opcode, op)`; 9B (WAIT/FWAIT): `x87Wait()`.
 * - 0F xx: if `simd(xx, op)` returns false the opcode is not ours. 0F 77 (EMMS) has no
 *   ModRM; imm8 operands are pulled with `host.fetchU8()` after ModRM/displacement.
 * - the host must implement `CoprocessorHostExt` (../fpu/host-ext.ts): EFLAGS access,
 *   effective operand size, CS/data selectors, and DS:[E]DI for MASKMOVQ/MASKMOVDQU.
 * - CPUID.1:EDX bits that become valid: FPU(0), CMOV(15, with the core's CMOVcc; enables
 *   FCMOVcc/FCOMI), CLFSH(19, EBX[15:8] = 8), MMX(23), FXSR(24), SSE(25), SSE2(26).
 *   FXSAVE reports MXCSR_MASK = FFFFh (DAZ supported). Not SSE3 (FISTTP is implemented but
 *   SSE3 is not complete).
 *
 * Intel SDM Vol. 3A §9.1 (state after RESET/INIT: x87 as after FNINIT, MXCSR 1F80h, XMM 0).
 * Leaves out: nothing beyond what the two units leave out.
 */
import type { ModRmOperand } from '../coprocessor.js';
import type { CoprocessorHostExt } from '../fpu/host-ext.js';
import { x87Execute, x87Wait } from '../fpu/x87.js';
import { createX87State, loadX87State, saveX87State, x87Init, type X87Snapshot, type X87State } from '../fpu/x87-state.js';
import { simdExecute, simdOwns } from './simd.js';
import {
  createSimdState, loadSimdState, resetSimdState, saveSimdState, type SimdSnapshot, type SimdState,
} from './simd-state.js';

/** Snapshot of both units. */
export interface CoprocessorSnapshot {
  v: 1;
  x87: X87Snapshot;
  sse: SimdSnapshot;
}

/** The x87 + MMX/SSE/SSE2 units of one CPU. */
export interface CoprocessorUnitSet {
  /** Live x87 state (also holds MM0-MM7). */
  readonly x87State: X87State;
  /** Live XMM/MXCSR state. */
  readonly simdState: SimdState;
  /** Executes an escape opcode D8-DF. */
  x87(opcode: number, op: ModRmOperand): void;
  /** WAIT/FWAIT (9B). */
  x87Wait(): void;
  /** Executes `0F opcode` if it belongs to the SIMD unit; returns false (nothing done) if not. */
  simd(opcode: number, op: ModRmOperand): boolean;
  /** RESET/INIT: FNINIT state, MXCSR = 1F80h, XMM registers cleared. */
  reset(): void;
  /** Named, versioned snapshot of both units. */
  saveState(): CoprocessorSnapshot;
  /** Validates untrusted data, then applies it (throws on malformed input, state untouched). */
  loadState(data: unknown): void;
}

/** Creates the units bound to the core's host bridge. */
export function createCoprocessorUnits(host: CoprocessorHostExt): CoprocessorUnitSet {
  const x87 = createX87State();
  const simd = createSimdState(x87);
  return {
    x87State: x87,
    simdState: simd,
    x87: (opcode, op) => x87Execute(x87, host, opcode, op),
    x87Wait: () => x87Wait(x87, host),
    simd: (opcode, op) => {
      if (!simdOwns(opcode, op.mandatoryPrefix, op.opsize)) return false;
      simdExecute(simd, host, opcode, op);
      return true;
    },
    reset: () => {
      x87Init(x87);
      resetSimdState(simd);
    },
    saveState: () => ({ v: 1, x87: saveX87State(x87), sse: saveSimdState(simd) }),
    loadState: (data: unknown) => {
      if (typeof data !== 'object' || data === null) throw new Error('coprocessor snapshot: not an object');
      const d = data as Record<string, unknown>;
      if (d.v !== 1) throw new Error(`coprocessor snapshot: unsupported version ${String(d.v)}`);
      // validate both parts on scratch states first so a bad snapshot leaves the CPU untouched
      const tx = createX87State();
      loadX87State(tx, d.x87);
      loadSimdState(createSimdState(tx), d.sse);
      loadX87State(x87, d.x87);
      loadSimdState(simd, d.sse);
    },
  };
}
