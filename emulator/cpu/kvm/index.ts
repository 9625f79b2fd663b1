/**
 * The KVM CPU backend's public surface: probe, backend, and a factory that wires a KvmCpu
 * to a board's memory, address space, VmOps and PIC. See kvm-backend.ts for the design and
 * what is left out.
 */
import type { InterruptSource, VmOps } from '../backend.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { KvmCpu, type IrqSink } from './kvm-backend.js';
import type { KvmMemoryMap } from './kvm-slots.js';

export { KvmCpu, KICK_SIGNAL, pcGsiRoutes, type IrqSink, type KvmCpuOptions } from './kvm-backend.js';
export { HYPERV_FEATURES, type HypervFeature } from './hyperv.js';
export { probeKvm, type KvmProbeResult } from './kvm-probe.js';
export { decodeKvmCpuState, encodeKvmCpuState, type KvmCpuState, type KvmCpuStateJson, type KvmMsr } from './kvm-state.js';
export type { KvmMemoryMap } from './kvm-slots.js';

/** The parts of a board a KvmCpu attaches to (PcBoard has all of them). */
export interface KvmBoardView {
  readonly mem: GuestMemory;
  readonly addressSpace: KvmMemoryMap;
  readonly vmOps: VmOps;
  /** The board's 8259, used with `irqchip: 'userspace'` when there is no `router`. */
  readonly pic: InterruptSource;
  /**
   * The board's interrupt router (8259 through LINT0, plus its TypeScript local APIC), used
   * with `irqchip: 'userspace'` when present, as the interpreter uses it: Linux switches to
   * the local APIC and IOAPIC, whose interrupts never reach the bare 8259's INTR.
   */
  readonly router?: InterruptSource;
  /** Hands the board's interrupt lines and MSIs to the in-kernel irqchip (`irqchip: 'kernel'`). */
  attachKernelIrqchip?(chip: IrqSink): void;
  /** The machine's clock: with the kernel irqchip, run() returns by its next deadline. */
  readonly clock?: { nowNs(): number; nextDeadlineNs(): number };
}

/** Options of `createKvmCpu`. */
export interface CreateKvmCpuOptions {
  /**
   * Default 'kernel' when the board can attach it (KVM's PIC/IOAPIC/LAPIC/PIT; the board's
   * devices raise GSIs and MSIs into it), else 'userspace' (the board's own TypeScript
   * controllers, KVM_INTERRUPT; kept for debugging).
   */
  irqchip?: 'userspace' | 'kernel';
  /** Hyper-V enlightenments (kernel irqchip only). */
  hyperv?: boolean;
  sliceMs?: number;
  log?: (message: string) => void;
}

/** Builds a KvmCpu for `board`. Throws a readable error when KVM is unusable. */
export function createKvmCpu(board: KvmBoardView, opts: CreateKvmCpuOptions = {}): KvmCpu {
  const irqchip = opts.irqchip ?? (board.attachKernelIrqchip ? 'kernel' : 'userspace');
  if (irqchip === 'kernel' && !board.attachKernelIrqchip) throw new Error('KVM: this board cannot hand its interrupts to the in-kernel irqchip');
  const clock = board.clock;
  const cpu = new KvmCpu({
    mem: board.mem,
    memoryMap: board.addressSpace,
    ops: board.vmOps,
    irqchip,
    interrupts: irqchip === 'userspace' ? board.router ?? board.pic : undefined,
    localApic: irqchip === 'userspace' && board.router !== undefined,
    sliceMs: opts.sliceMs,
    untilNextTimerNs: clock ? () => clock.nextDeadlineNs() - clock.nowNs() : undefined,
    hyperv: opts.hyperv,
    log: opts.log,
  });
  if (irqchip === 'kernel') board.attachKernelIrqchip!(cpu);
  return cpu;
}
