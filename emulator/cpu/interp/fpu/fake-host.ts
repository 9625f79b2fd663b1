/**
 * A test double for `CoprocessorHostExt`: flat memory (64 KiB by default), eight GPRs, EFLAGS and
 * control registers as plain fields; `fault` throws a `FakeFault`. Used by the unit tests of
 * the x87 and SIMD units (no paging, no segmentation).
 */
import type { ModRmOperand } from '../coprocessor.js';
import type { CoprocessorHostExt } from './host-ext.js';

/** The exception thrown by `FakeHost.fault`. */
export class FakeFault extends Error {
  constructor(readonly vector: number, readonly errorCode?: number) {
    super(`fault ${vector}`);
  }
}

/** A flat-memory host for unit tests. */
export class FakeHost implements CoprocessorHostExt {
  readonly mem: Uint8Array;
  readonly view: DataView;
  constructor(sizeBytes = 0x10000) {
    this.mem = new Uint8Array(sizeBytes);
    this.view = new DataView(this.mem.buffer);
  }
  readonly regs = new Uint32Array(8);
  eflags = 0x2;
  cr0 = 0x33; // PE, MP, ET, NE
  cr4 = 0x600; // OSFXSR, OSXMMEXCPT
  instructionPointer = 0x1000;
  operandSize32 = true;
  codeSelector = 0x08;
  dataSelector = 0x10;
  ferr = 0;
  /** Immediate bytes returned by fetchU8, in order. */
  imm: number[] = [];
  readU8(a: number): number { this.check(a, 1); return this.mem[a]!; }
  readU16(a: number): number { this.check(a, 2); return this.view.getUint16(a, true); }
  readU32(a: number): number { this.check(a, 4); return this.view.getUint32(a, true); }
  writeU8(a: number, v: number): void { this.check(a, 1); this.mem[a] = v; }
  writeU16(a: number, v: number): void { this.check(a, 2); this.view.setUint16(a, v, true); }
  writeU32(a: number, v: number): void { this.check(a, 4); this.view.setUint32(a, v >>> 0, true); }
  fault(vector: number, errorCode?: number): never { throw new FakeFault(vector, errorCode); }
  getReg32(i: number): number { return this.regs[i]!; }
  setReg32(i: number, v: number): void { this.regs[i] = v; }
  fetchU8(): number {
    const b = this.imm.shift();
    if (b === undefined) throw new Error('fetchU8: no immediate queued');
    return b;
  }
  signalFerr(): void { this.ferr++; }
  getEflags(): number { return this.eflags; }
  setEflags(v: number): void { this.eflags = v; }
  maskMoveAddress(): number { return this.regs[7]!; }
  private check(a: number, n: number): void {
    if (a < 0 || a + n > this.mem.length) throw new FakeFault(14);
  }
  // helpers for tests
  f64(a: number): number { return this.view.getFloat64(a, true); }
  setF64(a: number, v: number): void { this.view.setFloat64(a, v, true); }
  setF32(a: number, v: number): void { this.view.setFloat32(a, v, true); }
  u32(a: number): number { return this.view.getUint32(a, true); }
  setU32(a: number, v: number): void { this.view.setUint32(a, v >>> 0, true); }
  u16(a: number): number { return this.view.getUint16(a, true); }
}

/** A ModRM operand: memory form (mod=00, rm=101 disp32) when `linear` >= 0. */
export function memOp(reg: number, linear: number, mandatoryPrefix: 0 | 0x66 | 0xf2 | 0xf3 = 0): ModRmOperand {
  return { modrm: (reg << 3) | 5, linear, opsize: mandatoryPrefix === 0x66, mandatoryPrefix };
}

/** A register-form ModRM operand. */
export function regOp(modrm: number, mandatoryPrefix: 0 | 0x66 | 0xf2 | 0xf3 = 0): ModRmOperand {
  return { modrm: modrm | 0xc0, linear: -1, opsize: mandatoryPrefix === 0x66, mandatoryPrefix };
}
