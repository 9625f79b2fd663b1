/**
 * The contract between the integer core of the interpreter and its x87 / MMX / SSE units.
 *
 * The core decodes prefixes, the opcode and ModRM (with SIB/displacement) and computes the
 * effective *linear* address of a memory operand; the unit executes the instruction through
 * this host interface. Memory accessors translate through paging and may raise a fault;
 * `fault` never returns. Both are implemented by throwing the core's internal fault signal,
 * so units must never catch exceptions they did not raise.
 *
 * Intel SDM Vol. 1 ch. 8 (x87), ch. 9-11 (MMX, SSE, SSE2); Vol. 2 for encodings.
 */

/** What a coprocessor unit may ask of the integer core. */
export interface CoprocessorHost {
  // Memory at a linear address (segmentation already applied by the core; paging applied here).
  readU8(linear: number): number;
  readU16(linear: number): number;
  readU32(linear: number): number;
  writeU8(linear: number, value: number): void;
  writeU16(linear: number, value: number): void;
  writeU32(linear: number, value: number): void;
  /** Raises exception `vector` (e.g. 6 #UD, 7 #NM, 13 #GP, 16 #MF, 19 #XM). Never returns. */
  fault(vector: number, errorCode?: number): never;
  /** 32-bit general-purpose register by ModRM number (0=EAX ... 7=EDI). */
  getReg32(index: number): number;
  setReg32(index: number, value: number): void;
  /** Fetches the next instruction byte (an imm8 that follows ModRM/displacement). */
  fetchU8(): number;
  /** Control registers, for the #NM / #UD checks (CR0.EM/TS/MP/NE, CR4.OSFXSR/OSXMMEXCPT). */
  readonly cr0: number;
  readonly cr4: number;
  /** Linear address and selector of the current instruction (x87 FIP/FCS bookkeeping). */
  readonly instructionPointer: number;
  /** Asserts the FERR# line (legacy external x87 error reporting when CR0.NE = 0). */
  signalFerr(): void;
}

/** A decoded ModRM operand as the core hands it to a unit. */
export interface ModRmOperand {
  /** The full ModRM byte. */
  readonly modrm: number;
  /** Linear address of the memory operand, or -1 when mod = 3 (register operand). */
  readonly linear: number;
  /** Operand-size prefix (0x66) present. */
  readonly opsize: boolean;
  /** Mandatory prefix seen last among 0x66 / 0xF2 / 0xF3, or 0 when none. */
  readonly mandatoryPrefix: 0 | 0x66 | 0xf2 | 0xf3;
}
