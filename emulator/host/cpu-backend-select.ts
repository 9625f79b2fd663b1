/**
 * Chooses the CPU backend for a machine, as `--backend interp|kvm|auto` asks, and says why:
 * KVM when `/dev/kvm` is usable (and not in deterministic mode, which needs the
 * interpreter's instruction-exact time), else the interpreter. The reason is shown in the
 * log and the UI ("no /dev/kvm", "permission denied on /dev/kvm: add your user to the kvm
 * group", ...). The KVM backend runs one vCPU: several CPUs need the interpreter.
 *
 * `auto` does not pick a PVM /dev/kvm (the kvm_pvm module, "Pagetable-based Virtual
 * Machine"): it runs 64-bit guest code natively but emulates 16/32-bit code inside the host
 * kernel, and every guest Vireo boots starts in real mode under SeaBIOS (a 32-bit Linux
 * guest's boot was seen still in its decompressor after 30 s). `--backend kvm` still uses it.
 */
import { existsSync } from 'node:fs';
import type { CpuBackend } from '../cpu/backend.js';
import { createKvmCpu, probeKvm, type KvmBoardView } from '../cpu/kvm/index.js';
import { hostPageOffset } from '../cpu/kvm/kvm-sys.js';

/** The decision, with what the machine needs to build the chosen backend. */
export interface BackendChoice {
  kind: 'interp' | 'kvm';
  /** Why this backend runs, in words for the user. */
  reason: string;
  /** Where guest memory must start inside its buffer (page-aligned host address for KVM). */
  alignWindow?: (buffer: SharedArrayBuffer) => number;
  /** Builds the CPU for a board (KVM only; the interpreter is the machine's default). */
  createCpu?: (board: KvmBoardView) => CpuBackend;
}

/** KVM settings that matter only when KVM is chosen. */
export interface KvmChoiceOptions {
  /** Interrupt controllers in the kernel (default) or the board's own (debugging). */
  irqchip?: 'kernel' | 'userspace';
  /** Hyper-V enlightenments (CPUID "Microsoft Hv"); default off. */
  hyperv?: boolean;
  /** Whether this host's /dev/kvm is PVM (default: /sys/module/kvm_pvm exists). */
  pvm?: boolean;
}

/** True when /dev/kvm is provided by the kvm_pvm module. */
export function hostKvmIsPvm(): boolean {
  return existsSync('/sys/module/kvm_pvm');
}

/** Decides the backend for `cpus` vCPUs. Throws with a clear message when KVM is demanded but unusable. */
export function chooseBackend(requested: 'interp' | 'kvm' | 'auto', deterministic: boolean, log?: (m: string) => void, cpus = 1,
  kvm: KvmChoiceOptions = {}): BackendChoice {
  if (requested === 'interp') return { kind: 'interp', reason: 'the interpreter was requested' };
  if (cpus > 1) {
    if (requested === 'kvm') throw new Error(`--backend kvm: the KVM backend runs a single vCPU; --cpus ${cpus} needs the interpreter (--backend interp)`);
    return { kind: 'interp', reason: `${cpus} vCPUs need the interpreter (the KVM backend runs one)` };
  }
  if (deterministic) {
    if (requested === 'kvm') throw new Error('--backend kvm: deterministic mode needs the interpreter (KVM runs on host time)');
    return { kind: 'interp', reason: 'deterministic mode needs the interpreter' };
  }
  const probe = probeKvm();
  if (!probe.usable) {
    if (requested === 'kvm') throw new Error(`--backend kvm: ${probe.reason}`);
    return { kind: 'interp', reason: `KVM is not usable: ${probe.reason}` };
  }
  const pvm = kvm.pvm ?? hostKvmIsPvm();
  if (requested === 'auto' && pvm) {
    return {
      kind: 'interp',
      reason: 'kvm_pvm: this /dev/kvm is PVM, which emulates 16/32-bit guest code in the host kernel (slower than the interpreter for these guests); --backend kvm forces it',
    };
  }
  const irqchip = kvm.irqchip ?? 'kernel';
  return {
    kind: 'kvm',
    reason: `${requested === 'kvm' ? 'KVM was requested' : '/dev/kvm is usable'} (${irqchip === 'kernel' ? 'in-kernel irqchip' : 'userspace irqchip'}` +
      `${kvm.hyperv ? ', Hyper-V enlightenments' : ''}${pvm ? ', PVM' : ''})`,
    alignWindow: hostPageOffset,
    createCpu: (board) => createKvmCpu(board, { log, irqchip, hyperv: kvm.hyperv }),
  };
}
