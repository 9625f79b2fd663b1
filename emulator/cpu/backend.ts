/**
 * The CPU backend contract shared by the interpreter and KVM (cloud-hypervisor's Vcpu +
 * VmOps split). A backend executes guest code and calls back into the machine for port
 * I/O and MMIO; it returns from `run` only for exits the machine must act on.
 */
import type { AccessSize } from '../devices/device.js';

/** Implemented by the machine, called by a backend for everything that is not RAM. */
export interface VmOps {
  pioRead(port: number, size: AccessSize): number;
  pioWrite(port: number, size: AccessSize, value: number): void;
  mmioRead(gpa: number, size: AccessSize): number;
  mmioWrite(gpa: number, size: AccessSize, value: number): void;
}

/** The CPU's view of the interrupt controller (the INTR pin and the INTA cycle). */
export interface InterruptSource {
  /** True while INTR is asserted towards this CPU. */
  hasInterrupt(): boolean;
  /** The interrupt-acknowledge cycle: returns the vector (0-255). Only called after hasInterrupt(). */
  acknowledge(): number;
}

/** Why `run` returned. */
export const CpuExit = {
  /** The budget ran out or `kick()` was called. */
  Yield: 0,
  /** HLT with interrupts disabled (nothing can wake it except NMI/reset) or HLT waiting for an interrupt. */
  Halt: 1,
  /** Triple fault or a reset request: the machine should reset. */
  Reset: 2,
  /** The guest asked to power off (the backend saw it; devices normally do this). */
  Shutdown: 3,
  /** A host-side failure; details in `lastError`. */
  Error: 4,
} as const;
/** @see CpuExit */
export type CpuExit = (typeof CpuExit)[keyof typeof CpuExit];

/** General-purpose and control registers as plain data (for debugging and snapshots). */
export interface CpuRegs {
  eax: number; ecx: number; edx: number; ebx: number; esp: number; ebp: number; esi: number; edi: number;
  eip: number; eflags: number;
  cs: number; ds: number; es: number; fs: number; gs: number; ss: number;
  cr0: number; cr2: number; cr3: number; cr4: number;
}

/** A CPU backend. */
export interface CpuBackend {
  readonly kind: 'interp' | 'kvm';
  /**
   * Runs guest code until an exit or until about `maxInstructions` have executed
   * (the interpreter counts instructions; KVM treats it as a time hint).
   */
  run(maxInstructions: number): CpuExit;
  /** Makes `run` return soon; safe to call from a callback during `run`. */
  kick(): void;
  /** Total guest instructions retired since reset (the interpreter; KVM may estimate). */
  readonly instructionsRetired: number;
  /** Raises a non-maskable interrupt. */
  nmi(): void;
  /** Gates physical address bit 20 (the A20 line, from port 0x92 and the i8042). */
  setA20(enabled: boolean): void;
  /** Power-on / hard reset of the CPU state to the reset vector. */
  reset(): void;
  getRegs(): CpuRegs;
  setRegs(r: Partial<CpuRegs>): void;
  /** Description of the last Error exit. */
  readonly lastError: string | undefined;
  /** Releases host resources (KVM file descriptors); the backend is unusable afterwards. */
  close?(): void;
}
