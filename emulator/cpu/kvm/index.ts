/**
 * The KVM CPU backend's public surface: probe, backend, and a factory that wires a KvmCpu
 * to a board's memory, address space, VmOps and PIC. See kvm-backend.ts for the design and
 * what is left out.
 */
import type { InterruptSource, VmOps } from '../backend.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { KvmCpu } from './kvm-backend.js';
import type { KvmMemoryMap } from './kvm-slots.js';

export { KvmCpu, KICK_SIGNAL, type IrqSink, type KvmCpuOptions } from './kvm-backend.js';
export { probeKvm, type KvmProbeResult } from './kvm-probe.js';
export type { KvmMemoryMap } from './kvm-slots.js';

/** The parts of a board a KvmCpu attaches to (PcBoard has all of them). */
export interface KvmBoardView {
  readonly mem: GuestMemory;
  readonly addressSpace: KvmMemoryMap;
  readonly vmOps: VmOps;
  /** The board's 8259, used with `irqchip: 'userspace'`. */
  readonly pic: InterruptSource;
}

/** Options of `createKvmCpu`. */
export interface CreateKvmCpuOptions {
  /** Default 'userspace': the board's own PIC/PIT (works with the current pc board). */
  irqchip?: 'userspace' | 'kernel';
  sliceMs?: number;
  log?: (message: string) => void;
}

/** Builds a KvmCpu for `board`. Throws a readable error when KVM is unusable. */
export function createKvmCpu(board: KvmBoardView, opts: CreateKvmCpuOptions = {}): KvmCpu {
  const irqchip = opts.irqchip ?? 'userspace';
  return new KvmCpu({
    mem: board.mem,
    memoryMap: board.addressSpace,
    ops: board.vmOps,
    irqchip,
    interrupts: irqchip === 'userspace' ? board.pic : undefined,
    sliceMs: opts.sliceMs,
    log: opts.log,
  });
}
