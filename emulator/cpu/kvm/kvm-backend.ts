/**
 * KvmCpu: the CpuBackend that lets Linux KVM execute the guest, with Vireo's device model
 * answering port I/O and MMIO through VmOps (cloud-hypervisor's Vcpu/VmOps split).
 *
 * Follows Documentation/virt/kvm/api.rst:
 *   4.2  KVM_CREATE_VM            4.7  KVM_CREATE_VCPU        4.35 KVM_SET_USER_MEMORY_REGION
 *   4.48 KVM_SET_TSS_ADDR         4.59 KVM_SET_IDENTITY_MAP_ADDR (values as QEMU: 0xfffbd000 / 0xfffbc000)
 *   4.24 KVM_CREATE_IRQCHIP       4.25 KVM_IRQ_LINE           4.70 KVM_CREATE_PIT2
 *   4.46 KVM_GET_SUPPORTED_CPUID  4.73 KVM_SET_CPUID2         4.10/4.11 KVM_GET/SET_REGS
 *   4.12/4.13 KVM_GET/SET_SREGS   4.16 KVM_INTERRUPT          4.21 KVM_SET_SIGNAL_MASK
 *   4.22/4.23 KVM_GET/SET_FPU     4.126 KVM_NMI               4.10 KVM_RUN and section 5
 *   (kvm_run: request_interrupt_window, immediate_exit, ready_for_interrupt_injection,
 *   if_flag; exits IO, MMIO, HLT, SHUTDOWN, FAIL_ENTRY, INTERNAL_ERROR, SYSTEM_EVENT,
 *   IRQ_WINDOW_OPEN, INTR).
 *
 * Interrupt controllers, two modes:
 * - `irqchip: 'userspace'` (works with the pc board as it is): the board's TypeScript
 *   8259 is the InterruptSource; when INTR is up and the guest can take it we KVM_INTERRUPT
 *   the acknowledged vector, otherwise we set request_interrupt_window. HLT exits to us
 *   and becomes CpuExit.Halt. With `localApic` the InterruptSource is the board's APIC
 *   router (its TypeScript local APIC answers the 0xFEE00000 MMIO window) and CPUID keeps
 *   the APIC bit; without it CPUID hides the local APIC (KVM may still set the bit from its
 *   APIC base MSR; kvm_update_cpuid_runtime).
 * - `irqchip: 'kernel'` (the machine's default with KVM): KVM_CREATE_IRQCHIP + KVM_CREATE_PIT2
 *   (in-kernel 8259 pair, IOAPIC, local APIC and 8254; they answer their ports and the
 *   IOAPIC/APIC MMIO windows inside the kernel, with no exit). GSI routing
 *   (KVM_SET_GSI_ROUTING, api.rst 4.52) is QEMU pc's, so the MADT stays true: GSI n -> 8259
 *   pin n and IOAPIC pin n for ISA IRQs, except GSI 0 -> IOAPIC pin 2 (the MADT's IRQ0
 *   override) and GSI 2 -> IOAPIC pin 2 only (no 8259 cascade input; the HPET's pin-2 route);
 *   GSI 16-23 -> IOAPIC pins 16-23. The board's devices raise GSIs through the IrqSink
 *   (KVM_IRQ_LINE, 4.25) and MSIs through KVM_SIGNAL_MSI (4.71); the HPET's legacy
 *   replacement mutes the in-kernel PIT (KVM_SET_PIT2 flag KVM_PIT_FLAGS_HPET_LEGACY, 4.66),
 *   as QEMU does. HLT sleeps inside KVM_RUN; the slice timer is armed for the nearer of
 *   `sliceMs` and the next device deadline (`untilNextTimerNs`), so the machine's own timers
 *   (HPET, RTC, PM timer, UART) fire on time while the guest sleeps. reset() writes back the
 *   in-kernel PIC/IOAPIC/PIT state captured at creation (KVM_SET_IRQCHIP, KVM_SET_PIT2) and
 *   the whole vCPU as snapshotted after the first reset (kvm-state.ts: registers, FPU/XSAVE,
 *   XCR0, debug registers, empty events, runnable MP state, the local APIC with the BSP's
 *   APIC base 0xFEE00900, and every MSR KVM lists, so paravirtual MSRs such as kvm-clock's
 *   are off again and KVM stops writing into guest memory, as QEMU's reset does).
 *
 * Hyper-V enlightenments (`hyperv`, kernel irqchip only): CPUID 0x40000000-0x40000005 say
 * "Microsoft Hv" with the features of hyperv.ts that KVM offers (KVM_GET_SUPPORTED_HV_CPUID,
 * api.rst 4.118); KVM's own leaves move to 0x40000100 as with QEMU; SynIC is switched on
 * with KVM_ENABLE_CAP(KVM_CAP_HYPERV_SYNIC2, or SYNIC) on the vCPU (api.rst 7.4/7.9).
 *
 * Bounding KVM_RUN: a POSIX timer (timer_create, SIGEV_THREAD_ID) sends KICK_SIGNAL to
 * the running thread `sliceMs` after run() starts. The signal is blocked in the thread and
 * unblocked only during KVM_RUN through KVM_SET_SIGNAL_MASK, so KVM_RUN returns EINTR and
 * the signal is then consumed with sigtimedwait; no handler ever runs. `kick()` during
 * a VmOps callback sets kvm_run.immediate_exit (api.rst 5), so the next KVM_RUN returns at
 * once. Control messages (pause, stop) reach the machine's thread between two run() calls, so
 * their latency is at most one slice (4 ms by default; measured in test/kvm). A kick from
 * another thread would need that thread to signal this one (tgkill with KICK_SIGNAL): not
 * wired, the machine is single-threaded. A KvmCpu must be used from the thread that created it.
 *
 * instructionsRetired is an estimate: KVM has no retired-instruction count without a
 * guest PMU, so it counts 1 instruction per nanosecond of this thread's CPU time during
 * run() (CLOCK_THREAD_CPUTIME_ID: guest execution and exit handling count, a guest sleeping
 * in HLT inside KVM_RUN does not; a 1 GHz, IPC 1 guess) plus 1 per exit, so an idle guest
 * shows as idle. Do not use it for deterministic timing (the run loop's deterministic mode
 * cannot work with KVM).
 *
 * A triple fault (KVM_EXIT_SHUTDOWN) stops the machine with a readable error, where a PC
 * and the interpreter reset: KVM has INIT-ed the vCPU itself, and under nested SVM it was
 * seen never to run again after our reset (resets the guest asks for through ports 0x92,
 * 0xCF9 or the keyboard controller do work). Entry failures and internal errors are Error
 * exits with a readable message too; the run loop stops the machine with it.
 *
 * Leaves out: A20 masking (KVM has none; setA20 is recorded only, as with QEMU+KVM),
 * SMM, MSR reset beyond what KVM does at vCPU creation, multiple vCPUs, 64-bit MMIO above
 * 4 GiB, dirty logging, irqfd/ioeventfd. saveCpuState/loadCpuState snapshot the vCPU
 * (kvm-state.ts); saving a whole VM (memory, devices, in-kernel 8259/IOAPIC/PIT) is not wired.
 */
import type { CpuBackend, CpuExit as CpuExitT, CpuRegs, InterruptSource, VmOps } from '../backend.js';
import { CpuExit } from '../backend.js';
import type { AccessSize } from '../../devices/device.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { PAGE_SIZE } from '../../memory/guest-memory.js';
import {
  CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID, EINTR, KERNEL_SIGSET_BYTES, KVM, KVM_CAP, KVM_EXIT, KVM_EXIT_IO_OUT, KVM_INTERNAL_ERROR, KVM_IRQCHIP,
  KVM_IRQ_ROUTING_IRQCHIP, KVM_MAX_CPUID_ENTRIES, KVM_MP_STATE_RUNNABLE, KVM_PIT_FLAGS_HPET_LEGACY,
  KVM_PIT_SPEAKER_DUMMY, KVM_SYSTEM_EVENT, Layout, entryFailureText, MAP_SHARED, O_CLOEXEC, O_RDWR, PROT_READ, PROT_WRITE, SIGEVENT,
  SIGEV_THREAD_ID, SIGSET_BYTES, SIG_BLOCK, StructBuf, exitReasonName, libc, sigaddset, type Libc,
} from './kvm-sys.js';
import { planSlots, slotsFromFlatView, type ActiveSlot, type KvmMemoryMap } from './kvm-slots.js';
import { probeKvm } from './kvm-probe.js';
import { decodeRandInsn, kvmRegOffset } from './kvm-insn.js';
import { hypervCpuidLeaves, HYPERV_FEATURES, type HypervLeaf } from './hyperv.js';
import { loadVcpuState, saveVcpuState, saveableMsrIndices, type KvmCpuState, type KvmVcpuFds } from './kvm-state.js';
import { randomBytes } from 'node:crypto';

/** Where interrupts from the board's devices go when KVM owns the interrupt controllers. */
export interface IrqSink {
  /**
   * Sets the level of global system interrupt `gsi` (KVM_IRQ_LINE, api.rst 4.25): 0-15 ISA
   * IRQs (8259 and IOAPIC; GSI 0 reaches IOAPIC pin 2), 16-23 IOAPIC pins.
   */
  setIrq(gsi: number, level: boolean): void;
  /** Delivers an MSI (KVM_SIGNAL_MSI, api.rst 4.71): the address/data pair a device wrote. */
  signalMsi(address: number, data: number): void;
  /**
   * The HPET entered (true) or left legacy replacement mode: the in-kernel PIT stops (starts)
   * driving IRQ0 (KVM_SET_PIT2 with KVM_PIT_FLAGS_HPET_LEGACY, api.rst 4.66).
   */
  setHpetLegacy(enabled: boolean): void;
}

/** The real-time signal used to bound KVM_RUN (SIGRTMIN + 6 with glibc's SIGRTMIN of 34). */
export const KICK_SIGNAL = 40;
/** KVM_SET_TSS_ADDR: three pages below the identity map, below a 256 KiB BIOS (QEMU's choice). */
export const TSS_ADDR = 0xfffbd000;
/** KVM_SET_IDENTITY_MAP_ADDR: one page (QEMU's choice). */
export const IDENTITY_MAP_ADDR = 0xfffbc000;

/** How a KvmCpu is built. */
export interface KvmCpuOptions {
  /** The machine's backing store (only `u8` is used); `u8` must start at a page-aligned host address. */
  mem: Pick<GuestMemory, 'u8'>;
  /** The flat memory view (AddressSpace); slots follow it. */
  memoryMap: KvmMemoryMap;
  /** Port I/O and MMIO handlers. */
  ops: VmOps;
  /** Who emulates the PIC/IOAPIC/PIT (see the module header). */
  irqchip: 'userspace' | 'kernel';
  /** The PIC's INTR/INTA, required with `irqchip: 'userspace'`. */
  interrupts?: InterruptSource;
  /** `interrupts` includes a local APIC (userspace irqchip): CPUID reports one. */
  localApic?: boolean;
  /** Longest time one run() stays in the guest, in host ms (default 4). */
  sliceMs?: number;
  /**
   * Virtual ns until the machine's next device timer is due (Infinity: none). With the
   * kernel irqchip a halted guest sleeps inside KVM_RUN, so run() must come back by then.
   */
  untilNextTimerNs?: () => number;
  /** Hyper-V enlightenments (kernel irqchip only; see the module header and hyperv.ts). */
  hyperv?: boolean;
  /** Diagnostics. */
  log?: (message: string) => void;
  /** Path of the KVM device (default /dev/kvm). */
  devicePath?: string;
}

const EFLAGS_IF = 0x200;
const CR0_PE = 1;
const EFER_LMA = 1 << 10;
const EFLAGS_CF = 1;
/** OF, SF, ZF, AF, PF. */
const EFLAGS_RAND_CLEARED = 0x800 | 0x80 | 0x40 | 0x10 | 0x4;
/** KVM_INTERNAL_ERROR_EMULATION and its flag KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES (api.rst 5). */
const KVM_INTERNAL_ERROR_EMULATION = 1;
const KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES = 1;
/** CPUID.1 bits the userspace-irqchip mode hides (no local APIC in the board). */
const CPUID1_EDX_APIC = 1 << 9;
const CPUID1_ECX_X2APIC = 1 << 21;
const CPUID1_ECX_TSC_DEADLINE = 1 << 24;
const CPUID1_ECX_HYPERVISOR = 1 << 31;
const CPUID_80000001_ECX_SVM = 1 << 2;
/** Bytes of kvm_run we copy per exit: the header and the largest exit union we decode. */
const RUN_HEADER_BYTES = 64;
/** IA32_APIC_BASE after RESET on the BSP: 0xFEE00000, enabled (bit 11), BSP (bit 8) (SDM Vol. 3A 11.4.4). */
const APIC_BASE_BSP = 0xfee00900;
/** Room for the Hyper-V leaves appended to KVM's CPUID list. */
const HYPERV_EXTRA_ENTRIES = 16;

/**
 * QEMU pc's GSI routing (see the module header): [gsi, irqchip, pin] triples for
 * KVM_SET_GSI_ROUTING.
 */
export function pcGsiRoutes(): Array<[gsi: number, chip: number, pin: number]> {
  const routes: Array<[number, number, number]> = [];
  for (let gsi = 0; gsi < 16; gsi++) {
    if (gsi === 2) continue; // the cascade input has no line of its own
    routes.push([gsi, gsi < 8 ? KVM_IRQCHIP.PIC_MASTER : KVM_IRQCHIP.PIC_SLAVE, gsi & 7]);
  }
  for (let gsi = 0; gsi < 24; gsi++) routes.push([gsi, KVM_IRQCHIP.IOAPIC, gsi === 0 ? 2 : gsi]);
  return routes;
}

/** A KVM-backed vCPU with its own VM. One per machine. */
export class KvmCpu implements CpuBackend, IrqSink {
  readonly kind = 'kvm' as const;
  private readonly c: Libc;
  private readonly sysFd: number;
  private readonly vmFd: number;
  private readonly vcpuFd: number;
  private readonly runAddr: bigint;
  private readonly runSize: number;
  private readonly memBase: bigint;
  private readonly run_ = new StructBuf(RUN_HEADER_BYTES);
  private readonly ioBuf = new StructBuf(PAGE_SIZE);
  private readonly regsBuf = new StructBuf(Layout.regs.size);
  private readonly sregsBuf = new StructBuf(Layout.sregs.size);
  private readonly irqLevelBuf = new StructBuf(Layout.irqLevel.size);
  private readonly intBuf = new StructBuf(Layout.interrupt.size);
  private readonly oneByte = new Uint8Array(1);
  private readonly kickSet = new Uint8Array(SIGSET_BYTES);
  private readonly zeroTimeout = new Uint8Array(16);
  private readonly armSpec = new StructBuf(32);
  private readonly disarmSpec = new Uint8Array(32);
  private readonly timerId: bigint;
  private readonly msiBuf = new StructBuf(Layout.msi.size);
  private readonly cpuTs = new StructBuf(16);
  /** MSIs KVM refused (logged the first 10 times). */
  private msiRefused = 0;
  private readonly pitBuf = new StructBuf(Layout.pitState2.size);
  /** In-kernel irqchip state at creation (kernel irqchip only): written back on reset(). */
  private readonly initialChips: StructBuf[] = [];
  private initialPit: Uint8Array | undefined;
  private initialLapic: Uint8Array | undefined;
  private hpetLegacy = false;
  private hypervOn = false;
  private slots: readonly ActiveSlot[] = [];
  private slotsVersion = -1;
  private kicked = false;
  private halted = false;
  private closed = false;
  private retired = 0;
  private error: string | undefined;
  private a20 = true;
  private readonly opts: KvmCpuOptions;
  private msrIndices: number[] | undefined;
  /** The vCPU right after the first reset: later resets put all of it back (MSRs included). */
  private powerOnState: KvmCpuState | undefined;

  /** Opens /dev/kvm and builds the VM and its vCPU. Throws with a readable message. */
  constructor(opts: KvmCpuOptions) {
    this.opts = opts;
    if (opts.irqchip === 'userspace' && !opts.interrupts) throw new Error('KvmCpu: irqchip "userspace" needs an InterruptSource');
    const probe = probeKvm(undefined, opts.devicePath);
    if (!probe.usable) throw new Error(`KVM backend unavailable: ${probe.reason}`);
    const c = (this.c = libc());
    this.memBase = c.addressOf(opts.mem.u8);
    if (this.memBase % BigInt(PAGE_SIZE) !== 0n) {
      throw new Error(`KvmCpu: guest memory starts at host address 0x${this.memBase.toString(16)}, not page-aligned; ` +
        'GuestMemory must expose a page-aligned window of its SharedArrayBuffer');
    }
    this.sysFd = this.check(c.open(opts.devicePath ?? '/dev/kvm', O_RDWR | O_CLOEXEC), 'open /dev/kvm');
    this.vmFd = this.check(c.ioctlInt(this.sysFd, KVM.CREATE_VM, 0), 'KVM_CREATE_VM');
    this.check(c.ioctlInt(this.vmFd, KVM.SET_TSS_ADDR, TSS_ADDR), 'KVM_SET_TSS_ADDR');
    const idmap = new StructBuf(8);
    idmap.setU64(0, IDENTITY_MAP_ADDR);
    this.check(c.ioctlPtr(this.vmFd, KVM.SET_IDENTITY_MAP_ADDR, idmap.bytes), 'KVM_SET_IDENTITY_MAP_ADDR');
    if (opts.irqchip === 'kernel') {
      this.check(c.ioctlInt(this.vmFd, KVM.CREATE_IRQCHIP, 0), 'KVM_CREATE_IRQCHIP');
      this.setupGsiRouting();
      const pit = new StructBuf(Layout.pitConfig.size);
      pit.setU32(Layout.pitConfig.flags, KVM_PIT_SPEAKER_DUMMY);
      this.check(c.ioctlPtr(this.vmFd, KVM.CREATE_PIT2, pit.bytes), 'KVM_CREATE_PIT2');
      for (const chip of [KVM_IRQCHIP.PIC_MASTER, KVM_IRQCHIP.PIC_SLAVE, KVM_IRQCHIP.IOAPIC]) {
        const b = new StructBuf(Layout.irqchip.size);
        b.setU32(Layout.irqchip.chip_id, chip);
        this.check(c.ioctlPtr(this.vmFd, KVM.GET_IRQCHIP, b.bytes), 'KVM_GET_IRQCHIP');
        this.initialChips.push(b);
      }
      this.check(c.ioctlPtr(this.vmFd, KVM.GET_PIT2, this.pitBuf.bytes), 'KVM_GET_PIT2');
      this.initialPit = this.pitBuf.bytes.slice();
    } else if (opts.hyperv) {
      opts.log?.('kvm: Hyper-V enlightenments need the in-kernel irqchip; left off');
    }
    this.syncSlots();
    this.vcpuFd = this.check(c.ioctlInt(this.vmFd, KVM.CREATE_VCPU, 0), 'KVM_CREATE_VCPU');
    this.runSize = this.check(c.ioctlInt(this.sysFd, KVM.GET_VCPU_MMAP_SIZE, 0), 'KVM_GET_VCPU_MMAP_SIZE');
    this.runAddr = c.mmap(0n, this.runSize, PROT_READ | PROT_WRITE, MAP_SHARED, this.vcpuFd, 0);
    if (this.runAddr === -1n) this.fail('mmap of kvm_run');
    if (opts.irqchip === 'kernel') {
      const lapic = new Uint8Array(Layout.lapicState.size);
      this.check(c.ioctlPtr(this.vcpuFd, KVM.GET_LAPIC, lapic), 'KVM_GET_LAPIC');
      this.initialLapic = lapic;
    }
    this.setupCpuid();
    this.timerId = this.setupKickTimer();
    this.reset();
    this.powerOnState = this.saveCpuState();
  }

  /** Instructions retired (estimated: see the module header). */
  get instructionsRetired(): number {
    return this.retired;
  }

  /** Description of the last Error exit. */
  get lastError(): string | undefined {
    return this.error;
  }

  /** Whether the A20 gate is open as last set (informational: KVM cannot mask A20). */
  get a20Enabled(): boolean {
    return this.a20;
  }

  /** Whether the Hyper-V CPUID leaves are in place (asked for, kernel irqchip, and KVM offers them). */
  get hypervEnabled(): boolean {
    return this.hypervOn;
  }

  /** IrqSink (kernel irqchip only): KVM_IRQ_LINE. */
  setIrq(gsi: number, level: boolean): void {
    if (this.opts.irqchip !== 'kernel') throw new Error('KvmCpu.setIrq: only with irqchip "kernel"');
    if (this.closed) return;
    this.irqLevelBuf.setU32(Layout.irqLevel.irq, gsi);
    this.irqLevelBuf.setU32(Layout.irqLevel.level, level ? 1 : 0);
    this.check(this.c.ioctlPtr(this.vmFd, KVM.IRQ_LINE, this.irqLevelBuf.bytes), 'KVM_IRQ_LINE');
  }

  /**
   * IrqSink (kernel irqchip only): KVM_SIGNAL_MSI. A blocked or discarded MSI (rc 0) is not an
   * error, and a refused one (a guest-programmed address KVM rejects) is logged, not thrown.
   */
  signalMsi(address: number, data: number): void {
    if (this.opts.irqchip !== 'kernel') throw new Error('KvmCpu.signalMsi: only with irqchip "kernel"');
    if (this.closed) return;
    const b = this.msiBuf;
    b.setU32(Layout.msi.address_lo, address);
    b.setU32(Layout.msi.address_hi, 0);
    b.setU32(Layout.msi.data, data);
    b.setU32(Layout.msi.flags, 0);
    if (this.c.ioctlPtr(this.vmFd, KVM.SIGNAL_MSI, b.bytes) < 0 && this.msiRefused++ < 10) {
      const errno = this.c.errno();
      this.opts.log?.(`kvm: KVM_SIGNAL_MSI address 0x${(address >>> 0).toString(16)} data 0x${(data >>> 0).toString(16)} refused: ${this.c.strerror(errno)}`);
    }
  }

  /** IrqSink (kernel irqchip only): mutes or unmutes the in-kernel PIT's IRQ0. */
  setHpetLegacy(enabled: boolean): void {
    if (this.opts.irqchip !== 'kernel') throw new Error('KvmCpu.setHpetLegacy: only with irqchip "kernel"');
    if (this.closed || enabled === this.hpetLegacy) return;
    this.hpetLegacy = enabled;
    const p = this.pitBuf;
    this.check(this.c.ioctlPtr(this.vmFd, KVM.GET_PIT2, p.bytes), 'KVM_GET_PIT2');
    const flags = p.u32(Layout.pitState2.flags);
    p.setU32(Layout.pitState2.flags, enabled ? flags | KVM_PIT_FLAGS_HPET_LEGACY : flags & ~KVM_PIT_FLAGS_HPET_LEGACY);
    this.check(this.c.ioctlPtr(this.vmFd, KVM.SET_PIT2, p.bytes), 'KVM_SET_PIT2');
  }

  /** Runs the guest until an exit the machine must handle, or about `sliceMs`. */
  run(_maxInstructions: number): CpuExitT {
    if (this.closed) return this.errorExit('KvmCpu: used after close()');
    if (this.opts.irqchip === 'userspace' && this.halted) {
      // HLT already executed: stay halted until the PIC has something (or an NMI arrives).
      const src = this.opts.interrupts!;
      if (!src.hasInterrupt() || (this.getRflags() & EFLAGS_IF) === 0) return CpuExit.Halt;
      this.halted = false;
    }
    this.kicked = false;
    this.armTimer(this.opts.untilNextTimerNs?.() ?? Infinity);
    const cpu0 = this.threadCpuNs();
    try {
      return this.loop();
    } finally {
      this.disarmTimer();
      this.retired += Math.max(0, Math.round(this.threadCpuNs() - cpu0));
    }
  }

  private loop(): CpuExitT {
    const c = this.c;
    const r = this.run_;
    const L = Layout.run;
    for (;;) {
      if (this.kicked) return CpuExit.Yield;
      if (this.slotsVersion !== this.opts.memoryMap.flattenCount) this.syncSlots();
      if (this.opts.irqchip === 'userspace') this.prepareInjection();
      const rc = c.ioctlInt(this.vcpuFd, KVM.RUN, 0);
      this.retired++;
      if (rc < 0) {
        const errno = c.errno();
        if (errno === EINTR) {
          this.consumeKick();
          this.clearImmediateExit();
          return CpuExit.Yield;
        }
        return this.errorExit(`KVM_RUN failed: ${c.strerror(errno)} (errno ${errno})`);
      }
      c.copyFromHost(r.bytes, this.runAddr, RUN_HEADER_BYTES);
      const reason = r.u32(L.exit_reason);
      switch (reason) {
        case KVM_EXIT.IO:
          this.handleIo();
          break;
        case KVM_EXIT.MMIO:
          this.handleMmio();
          break;
        case KVM_EXIT.IRQ_WINDOW_OPEN:
        case KVM_EXIT.INTR:
          break;
        case KVM_EXIT.HLT:
          if (this.opts.interrupts?.hasInterrupt() && r.u8(L.if_flag) !== 0) break;
          this.halted = true;
          return CpuExit.Halt;
        case KVM_EXIT.SHUTDOWN:
          // Triple fault (api.rst 5: KVM_EXIT_SHUTDOWN). A PC would reset, but KVM has already
          // INIT-ed the vCPU (SVM reinitialises its VMCB) and, seen under nested SVM on QEMU
          // TCG, the vCPU never runs again after our reset: stop with the reason instead of hanging.
          return this.errorExit('the guest triple-faulted (KVM_EXIT_SHUTDOWN: an exception while delivering a double fault); ' +
            'the VM stops, since KVM cannot run this vCPU again after a shutdown');
        case KVM_EXIT.SYSTEM_EVENT: {
          const type = r.u32(L.system_event.type);
          if (type === KVM_SYSTEM_EVENT.RESET) return CpuExit.Reset;
          if (type === KVM_SYSTEM_EVENT.SHUTDOWN) return CpuExit.Shutdown;
          return this.errorExit(`KVM_EXIT_SYSTEM_EVENT type ${type}${type === KVM_SYSTEM_EVENT.CRASH ? ' (CRASH)' : ''}`);
        }
        case KVM_EXIT.FAIL_ENTRY: {
          const hw = r.big64(L.fail_entry.hardware_entry_failure_reason);
          this.opts.log?.(this.describeState('entry failure'));
          return this.errorExit(`KVM_EXIT_FAIL_ENTRY: ${entryFailureText(hw)} (hardware entry failure reason 0x${hw.toString(16)})${this.ripText()}`);
        }
        case KVM_EXIT.INTERNAL_ERROR: {
          const sub = r.u32(L.internal.suberror);
          if (sub === KVM_INTERNAL_ERROR_EMULATION && this.completeUnemulated()) break;
          this.opts.log?.(this.describeState(`internal error ${sub}`));
          return this.errorExit(`KVM_EXIT_INTERNAL_ERROR suberror ${sub}: ${KVM_INTERNAL_ERROR[sub] ?? 'unknown'}${this.ripText()}`);
        }
        default:
          return this.errorExit(`unhandled ${exitReasonName(reason)} (exit reason ${reason})${this.ripText()}`);
      }
    }
  }

  /** KVM_EXIT_IO: one VmOps call per element (`count` > 1 for INS/OUTS with REP). */
  private handleIo(): void {
    const L = Layout.run.io;
    const r = this.run_;
    const dir = r.u8(L.direction);
    const size = r.u8(L.size) as AccessSize;
    const port = r.u16(L.port);
    const count = r.u32(L.count);
    const dataOff = r.u64(L.data_offset);
    const bytes = size * count;
    const b = this.ioBuf;
    const ops = this.opts.ops;
    if (dir === KVM_EXIT_IO_OUT) {
      this.c.copyFromHost(b.bytes, this.runAddr + BigInt(dataOff), bytes);
      for (let i = 0; i < count; i++) {
        const at = i * size;
        const v = size === 1 ? b.u8(at) : size === 2 ? b.u16(at) : b.u32(at);
        ops.pioWrite(port, size, v);
      }
    } else {
      for (let i = 0; i < count; i++) {
        const v = ops.pioRead(port, size);
        const at = i * size;
        if (size === 1) b.setU8(at, v & 0xff);
        else if (size === 2) b.setU16(at, v & 0xffff);
        else b.setU32(at, v);
      }
      this.c.copyToHost(this.runAddr + BigInt(dataOff), b.bytes, bytes);
    }
  }

  /** KVM_EXIT_MMIO: 8-byte accesses are split in two dwords (VmOps sizes are 1, 2, 4). */
  private handleMmio(): void {
    const L = Layout.run.mmio;
    const r = this.run_;
    const gpa = r.u64(L.phys_addr);
    const len = r.u32(L.len);
    const isWrite = r.u8(L.is_write) !== 0;
    const ops = this.opts.ops;
    const parts: Array<[number, AccessSize]> = len === 8 ? [[0, 4], [4, 4]] : [[0, len as AccessSize]];
    if (len !== 1 && len !== 2 && len !== 4 && len !== 8) {
      this.opts.log?.(`kvm: MMIO of ${len} bytes at 0x${gpa.toString(16)} ignored`);
      return;
    }
    if (isWrite) {
      for (const [off, size] of parts) {
        const at = L.data + off;
        const v = size === 1 ? r.u8(at) : size === 2 ? r.u16(at) : r.u32(at);
        ops.mmioWrite((gpa + off) >>> 0, size, v);
      }
    } else {
      const b = this.ioBuf;
      for (const [off, size] of parts) {
        const v = ops.mmioRead((gpa + off) >>> 0, size);
        if (size === 1) b.setU8(off, v & 0xff);
        else if (size === 2) b.setU16(off, v & 0xffff);
        else b.setU32(off, v);
      }
      this.c.copyToHost(this.runAddr + BigInt(L.data), b.bytes, len);
    }
  }

  /**
   * KVM could not emulate an instruction: complete it here when it is one kvm-insn knows
   * (RDRAND/RDSEED), using the instruction bytes KVM reports, and go on. False otherwise.
   */
  private completeUnemulated(): boolean {
    const r = this.run_;
    const I = Layout.run.internal;
    // emulation_failure: flags (u64) at data[0], then insn_size (u8) and insn_bytes[15].
    if (r.u32(I.ndata) < 3 || (r.u32(I.data) & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) === 0) return false;
    const n = Math.min(r.u8(I.data + 8), 15);
    const bytes = r.bytes.slice(I.data + 9, I.data + 9 + n);
    const s = this.sregsBuf;
    const S = Layout.sregs;
    const G = Layout.segment;
    this.check(this.c.ioctlPtr(this.vcpuFd, KVM.GET_SREGS, s.bytes), 'KVM_GET_SREGS');
    const pe = (s.u32(S.cr0) & CR0_PE) !== 0;
    const codeBits = !pe ? 16 : s.u8(S.cs + G.l) !== 0 && (s.u32(S.efer) & EFER_LMA) !== 0 ? 64 : s.u8(S.cs + G.db) !== 0 ? 32 : 16;
    const insn = decodeRandInsn(bytes, codeBits);
    if (!insn) return false;
    const g = this.regsBuf;
    const R = Layout.regs;
    this.check(this.c.ioctlPtr(this.vcpuFd, KVM.GET_REGS, g.bytes), 'KVM_GET_REGS');
    const rnd = randomBytes(8);
    const at = kvmRegOffset(insn.reg);
    if (insn.size === 2) g.bytes.set(rnd.subarray(0, 2), at);
    else if (insn.size === 4) { g.bytes.set(rnd.subarray(0, 4), at); g.bytes.fill(0, at + 4, at + 8); }
    else g.bytes.set(rnd, at);
    // CF = 1 (a value is there); OF, SF, ZF, AF, PF = 0 (SDM: RDRAND/RDSEED flags).
    g.setU64(R.rflags, (g.u32(R.rflags) & ~EFLAGS_RAND_CLEARED) | EFLAGS_CF);
    const rip = g.big64(R.rip) + BigInt(insn.length);
    g.setU64(R.rip, codeBits === 64 ? rip : codeBits === 32 ? rip & 0xffffffffn : rip & 0xffffn);
    this.check(this.c.ioctlPtr(this.vcpuFd, KVM.SET_REGS, g.bytes), 'KVM_SET_REGS');
    return true;
  }

  /** Userspace irqchip: inject the PIC's vector when the guest can take it, else ask for a window. */
  private prepareInjection(): void {
    const src = this.opts.interrupts!;
    const r = this.run_;
    let want = src.hasInterrupt();
    if (want && r.u8(Layout.run.ready_for_interrupt_injection) !== 0 && r.u8(Layout.run.if_flag) !== 0) {
      this.intBuf.setU32(0, src.acknowledge());
      this.check(this.c.ioctlPtr(this.vcpuFd, KVM.INTERRUPT, this.intBuf.bytes), 'KVM_INTERRUPT');
      r.setU8(Layout.run.ready_for_interrupt_injection, 0);
      want = src.hasInterrupt();
    }
    this.oneByte[0] = want ? 1 : 0;
    this.c.copyToHost(this.runAddr + BigInt(Layout.run.request_interrupt_window), this.oneByte, 1);
  }

  /** Makes run() return soon: now if called from a VmOps callback, at the next exit otherwise. */
  kick(): void {
    this.kicked = true;
    if (this.closed) return;
    this.oneByte[0] = 1;
    this.c.copyToHost(this.runAddr + BigInt(Layout.run.immediate_exit), this.oneByte, 1);
  }

  private clearImmediateExit(): void {
    this.oneByte[0] = 0;
    this.c.copyToHost(this.runAddr + BigInt(Layout.run.immediate_exit), this.oneByte, 1);
  }

  /** Raises an NMI (KVM_NMI); also ends a userspace-irqchip halt. */
  nmi(): void {
    this.check(this.c.ioctlInt(this.vcpuFd, KVM.NMI, 0), 'KVM_NMI');
    this.halted = false;
  }

  /** KVM cannot gate A20; the state is recorded only (QEMU with KVM does the same). */
  setA20(enabled: boolean): void {
    this.a20 = enabled;
  }

  /** Power-on state: real mode at F000:FFF0 (Intel SDM Vol. 3A, 9.1.1, Table 9-1). */
  reset(): void {
    const c = this.c;
    this.halted = false;
    this.error = undefined;
    this.clearImmediateExit();
    if (this.powerOnState) {
      // Everything of the vCPU as at power-on, MSRs included: a paravirtual clock, steal-time
      // or async-PF MSR left enabled would have KVM keep writing into the rebooted guest's RAM.
      if (this.opts.irqchip === 'kernel') this.resetVmIrqchip();
      this.loadCpuState(this.powerOnState);
      return;
    }
    const s = this.sregsBuf;
    const S = Layout.sregs;
    this.check(c.ioctlPtr(this.vcpuFd, KVM.GET_SREGS, s.bytes), 'KVM_GET_SREGS');
    const seg = (off: number, selector: number, base: number, type: number): void => {
      const G = Layout.segment;
      s.setU64(off + G.base, base);
      s.setU32(off + G.limit, 0xffff);
      s.setU16(off + G.selector, selector);
      s.setU8(off + G.type, type);
      s.setU8(off + G.present, 1);
      s.setU8(off + G.dpl, 0);
      s.setU8(off + G.db, 0);
      s.setU8(off + G.s, type === 11 && off === S.tr ? 0 : type === 2 ? 0 : 1);
      s.setU8(off + G.l, 0);
      s.setU8(off + G.g, 0);
      s.setU8(off + G.avl, 0);
      s.setU8(off + G.unusable, 0);
    };
    seg(S.cs, 0xf000, 0xffff0000, 11);
    for (const off of [S.ds, S.es, S.fs, S.gs, S.ss]) seg(off, 0, 0, 3);
    seg(S.tr, 0, 0, 11);
    seg(S.ldt, 0, 0, 2);
    for (const off of [S.gdt, S.idt]) {
      s.setU64(off + Layout.dtable.base, 0);
      s.setU16(off + Layout.dtable.limit, 0xffff);
    }
    s.setU64(S.cr0, 0x60000010);
    for (const off of [S.cr2, S.cr3, S.cr4, S.cr8, S.efer]) s.setU64(off, 0);
    s.bytes.fill(0, S.interrupt_bitmap, S.interrupt_bitmap + 32);
    if (this.opts.irqchip === 'kernel') this.resetKernelIrqchip(s);
    this.check(c.ioctlPtr(this.vcpuFd, KVM.SET_SREGS, s.bytes), 'KVM_SET_SREGS');
    if (this.initialLapic) this.check(c.ioctlPtr(this.vcpuFd, KVM.SET_LAPIC, this.initialLapic.slice()), 'KVM_SET_LAPIC');
    const g = this.regsBuf;
    g.bytes.fill(0);
    g.setU64(Layout.regs.rflags, 2);
    g.setU64(Layout.regs.rip, 0xfff0);
    g.setU64(Layout.regs.rdx, 0x600); // CPU signature (family 6), as after RESET
    this.check(c.ioctlPtr(this.vcpuFd, KVM.SET_REGS, g.bytes), 'KVM_SET_REGS');
    const fpu = new StructBuf(Layout.fpu.size);
    fpu.setU16(Layout.fpu.fcw, 0x37f);
    fpu.setU32(Layout.fpu.mxcsr, 0x1f80);
    this.check(c.ioctlPtr(this.vcpuFd, KVM.SET_FPU, fpu.bytes), 'KVM_SET_FPU');
  }

  /**
   * Kernel irqchip: the 8259s, IOAPIC and PIT as at creation, no pending events, the vCPU
   * runnable (a reset can come while it sleeps in HLT), and the APIC base of a BSP after
   * RESET in `sregs` (written by the caller, before KVM_SET_LAPIC).
   */
  /** The VM-wide in-kernel 8259s, IOAPIC and PIT as at creation. */
  private resetVmIrqchip(): void {
    const c = this.c;
    for (const b of this.initialChips) this.check(c.ioctlPtr(this.vmFd, KVM.SET_IRQCHIP, b.bytes.slice()), 'KVM_SET_IRQCHIP');
    if (this.initialPit) this.check(c.ioctlPtr(this.vmFd, KVM.SET_PIT2, this.initialPit.slice()), 'KVM_SET_PIT2');
    this.hpetLegacy = false;
  }

  private resetKernelIrqchip(sregs: StructBuf): void {
    const c = this.c;
    this.resetVmIrqchip();
    this.check(c.ioctlPtr(this.vcpuFd, KVM.SET_VCPU_EVENTS, new Uint8Array(Layout.vcpuEvents.size)), 'KVM_SET_VCPU_EVENTS');
    const mp = new StructBuf(Layout.mpState.size);
    mp.setU32(Layout.mpState.mp_state, KVM_MP_STATE_RUNNABLE);
    this.check(c.ioctlPtr(this.vcpuFd, KVM.SET_MP_STATE, mp.bytes), 'KVM_SET_MP_STATE');
    sregs.setU64(Layout.sregs.apic_base, APIC_BASE_BSP);
  }

  /** KVM_SET_GSI_ROUTING with pcGsiRoutes(). */
  private setupGsiRouting(): void {
    const routes = pcGsiRoutes();
    const R = Layout.irqRouting;
    const E = Layout.irqRoutingEntry;
    const b = new StructBuf(R.size + routes.length * E.size);
    b.setU32(R.nr, routes.length);
    routes.forEach(([gsi, chip, pin], i) => {
      const at = R.entries + i * E.size;
      b.setU32(at + E.gsi, gsi);
      b.setU32(at + E.type, KVM_IRQ_ROUTING_IRQCHIP);
      b.setU32(at + E.u, chip);
      b.setU32(at + E.u + 4, pin);
    });
    this.check(this.c.ioctlPtr(this.vmFd, KVM.SET_GSI_ROUTING, b.bytes), 'KVM_SET_GSI_ROUTING');
  }

  /** General registers, segment selectors and control registers (low 32 bits). */
  getRegs(): CpuRegs {
    const g = this.regsBuf;
    const s = this.sregsBuf;
    this.check(this.c.ioctlPtr(this.vcpuFd, KVM.GET_REGS, g.bytes), 'KVM_GET_REGS');
    this.check(this.c.ioctlPtr(this.vcpuFd, KVM.GET_SREGS, s.bytes), 'KVM_GET_SREGS');
    const R = Layout.regs;
    const S = Layout.sregs;
    const lo = (b: StructBuf, off: number): number => b.u32(off);
    const sel = (off: number): number => s.u16(off + Layout.segment.selector);
    return {
      eax: lo(g, R.rax), ecx: lo(g, R.rcx), edx: lo(g, R.rdx), ebx: lo(g, R.rbx),
      esp: lo(g, R.rsp), ebp: lo(g, R.rbp), esi: lo(g, R.rsi), edi: lo(g, R.rdi),
      eip: lo(g, R.rip), eflags: lo(g, R.rflags),
      cs: sel(S.cs), ds: sel(S.ds), es: sel(S.es), fs: sel(S.fs), gs: sel(S.gs), ss: sel(S.ss),
      cr0: lo(s, S.cr0), cr2: lo(s, S.cr2), cr3: lo(s, S.cr3), cr4: lo(s, S.cr4),
    };
  }

  /**
   * Sets the given registers. A segment selector also sets the segment base to selector*16
   * in real mode; in protected mode only the selector changes (the descriptor cache stays).
   */
  setRegs(v: Partial<CpuRegs>): void {
    const g = this.regsBuf;
    const s = this.sregsBuf;
    this.check(this.c.ioctlPtr(this.vcpuFd, KVM.GET_REGS, g.bytes), 'KVM_GET_REGS');
    this.check(this.c.ioctlPtr(this.vcpuFd, KVM.GET_SREGS, s.bytes), 'KVM_GET_SREGS');
    const R = Layout.regs;
    const S = Layout.sregs;
    const gp: Array<[keyof CpuRegs, number]> = [
      ['eax', R.rax], ['ecx', R.rcx], ['edx', R.rdx], ['ebx', R.rbx], ['esp', R.rsp], ['ebp', R.rbp],
      ['esi', R.rsi], ['edi', R.rdi], ['eip', R.rip], ['eflags', R.rflags],
    ];
    for (const [k, off] of gp) { const x = v[k]; if (x !== undefined) g.setU64(off, x >>> 0); }
    const realMode = (s.u32(S.cr0) & CR0_PE) === 0;
    const segs: Array<[keyof CpuRegs, number]> = [['cs', S.cs], ['ds', S.ds], ['es', S.es], ['fs', S.fs], ['gs', S.gs], ['ss', S.ss]];
    for (const [k, off] of segs) {
      const x = v[k];
      if (x === undefined) continue;
      s.setU16(off + Layout.segment.selector, x & 0xffff);
      if (realMode) s.setU64(off + Layout.segment.base, (x & 0xffff) * 16);
    }
    const crs: Array<[keyof CpuRegs, number]> = [['cr0', S.cr0], ['cr2', S.cr2], ['cr3', S.cr3], ['cr4', S.cr4]];
    for (const [k, off] of crs) { const x = v[k]; if (x !== undefined) s.setU64(off, x >>> 0); }
    s.bytes.fill(0, S.interrupt_bitmap, S.interrupt_bitmap + 32);
    this.check(this.c.ioctlPtr(this.vcpuFd, KVM.SET_SREGS, s.bytes), 'KVM_SET_SREGS');
    this.check(this.c.ioctlPtr(this.vcpuFd, KVM.SET_REGS, g.bytes), 'KVM_SET_REGS');
    this.halted = false;
  }

  /**
   * A snapshot of the whole vCPU (registers, FPU/XSAVE, XCRs, debug registers, pending
   * events, MP state, the in-kernel local APIC, MSRs; kvm-state.ts). Call between two run()
   * calls, e.g. while the machine is paused.
   */
  saveCpuState(): KvmCpuState {
    if (this.closed) throw new Error('KvmCpu: used after close()');
    this.msrIndices ??= saveableMsrIndices(this.c, this.sysFd);
    return saveVcpuState(this.vcpuFdsView(), this.msrIndices, this.halted);
  }

  /** Puts back a snapshot of saveCpuState() (validated first; throws naming what is wrong). */
  loadCpuState(state: KvmCpuState): void {
    if (this.closed) throw new Error('KvmCpu: used after close()');
    loadVcpuState(this.vcpuFdsView(), state);
    this.halted = state.halted;
  }

  private vcpuFdsView(): KvmVcpuFds {
    return { c: this.c, sysFd: this.sysFd, vcpuFd: this.vcpuFd, kernelIrqchip: this.opts.irqchip === 'kernel' };
  }

  /** The memory slots currently registered (for diagnostics and tests). */
  get memorySlots(): readonly ActiveSlot[] {
    return this.slots;
  }

  /** Releases the timer, the kvm_run mapping and the file descriptors. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const c = this.c;
    c.timerDelete(this.timerId);
    this.consumeKick();
    c.munmap(this.runAddr, this.runSize);
    for (const fd of [this.vcpuFd, this.vmFd, this.sysFd]) c.close(fd);
  }

  /** Re-registers memory slots after the flat view changed (PAM, PCI BARs). */
  private syncSlots(): void {
    const map = this.opts.memoryMap;
    this.slotsVersion = map.flattenCount;
    const plan = planSlots(this.slots, slotsFromFlatView(map.flatView()));
    const region = new StructBuf(Layout.userspaceMemoryRegion.size);
    const M = Layout.userspaceMemoryRegion;
    const set = (s: ActiveSlot, size: number): void => {
      region.setU32(M.slot, s.slot);
      region.setU32(M.flags, s.flags);
      region.setU64(M.guest_phys_addr, s.gpa);
      region.setU64(M.memory_size, size);
      region.setU64(M.userspace_addr, this.memBase + BigInt(s.memOffset));
      this.check(this.c.ioctlPtr(this.vmFd, KVM.SET_USER_MEMORY_REGION, region.bytes),
        `KVM_SET_USER_MEMORY_REGION slot ${s.slot} gpa 0x${s.gpa.toString(16)} size 0x${size.toString(16)}`);
    };
    for (const s of plan.remove) set(s, 0);
    for (const s of plan.add) set(s, s.sizeBytes);
    this.slots = plan.next;
  }

  /** CPUID: what KVM supports, filtered to the device model (see the constants above). */
  private setupCpuid(): void {
    const E = Layout.cpuidEntry2;
    const buf = new StructBuf(Layout.cpuid2.size + (KVM_MAX_CPUID_ENTRIES + HYPERV_EXTRA_ENTRIES) * E.size);
    buf.setU32(Layout.cpuid2.nent, KVM_MAX_CPUID_ENTRIES);
    this.check(this.c.ioctlPtr(this.sysFd, KVM.GET_SUPPORTED_CPUID, buf.bytes), 'KVM_GET_SUPPORTED_CPUID');
    let n = buf.u32(Layout.cpuid2.nent);
    const hv = this.opts.hyperv && this.opts.irqchip === 'kernel' ? this.hypervLeaves() : undefined;
    for (let i = 0; i < n; i++) {
      const at = Layout.cpuid2.entries + i * E.size;
      const fn = buf.u32(at + E.function);
      if (fn === 1) {
        let ecx = buf.u32(at + E.ecx) | CPUID1_ECX_HYPERVISOR;
        let edx = buf.u32(at + E.edx);
        if (this.opts.irqchip === 'userspace') {
          ecx &= ~(CPUID1_ECX_X2APIC | CPUID1_ECX_TSC_DEADLINE);
          if (!this.opts.localApic) edx &= ~CPUID1_EDX_APIC;
        }
        buf.setU32(at + E.ecx, ecx);
        buf.setU32(at + E.edx, edx);
        // One logical processor, initial APIC ID 0.
        buf.setU32(at + E.ebx, (buf.u32(at + E.ebx) & 0xffff) | (1 << 16));
      } else if (fn === 0x80000001) {
        buf.setU32(at + E.ecx, buf.u32(at + E.ecx) & ~CPUID_80000001_ECX_SVM);
      } else if (hv && (fn === 0x40000000 || fn === 0x40000001)) {
        // KVM's paravirt leaves move above the Hyper-V ones (KVM looks for its signature every 0x100).
        buf.setU32(at + E.function, fn + 0x100);
        if (fn === 0x40000000) buf.setU32(at + E.eax, 0x40000101);
      }
    }
    if (hv) {
      for (const leaf of hv) {
        const at = Layout.cpuid2.entries + n * E.size;
        buf.bytes.fill(0, at, at + E.size);
        buf.setU32(at + E.function, leaf.fn);
        buf.setU32(at + E.eax, leaf.eax);
        buf.setU32(at + E.ebx, leaf.ebx);
        buf.setU32(at + E.ecx, leaf.ecx);
        buf.setU32(at + E.edx, leaf.edx);
        n++;
      }
      buf.setU32(Layout.cpuid2.nent, n);
    }
    this.check(this.c.ioctlPtr(this.vcpuFd, KVM.SET_CPUID2, buf.bytes), 'KVM_SET_CPUID2');
    this.hypervOn = hv !== undefined;
  }

  /**
   * The Hyper-V CPUID leaves KVM can back (KVM_GET_SUPPORTED_HV_CPUID on the vCPU), with
   * SynIC switched on first when it is among them. Undefined (and a log line) when KVM has
   * no Hyper-V support.
   */
  private hypervLeaves(): HypervLeaf[] | undefined {
    const c = this.c;
    const log = this.opts.log;
    if (c.ioctlInt(this.sysFd, KVM.CHECK_EXTENSION, KVM_CAP.HYPERV_CPUID) <= 0) {
      log?.('kvm: this KVM has no KVM_CAP_HYPERV_CPUID; Hyper-V enlightenments left off');
      return undefined;
    }
    const E = Layout.cpuidEntry2;
    const max = 64;
    const b = new StructBuf(Layout.cpuid2.size + max * E.size);
    b.setU32(Layout.cpuid2.nent, max);
    this.check(c.ioctlPtr(this.vcpuFd, KVM.GET_SUPPORTED_HV_CPUID, b.bytes), 'KVM_GET_SUPPORTED_HV_CPUID');
    const supported = new Map<number, HypervLeaf>();
    for (let i = 0; i < b.u32(Layout.cpuid2.nent); i++) {
      const at = Layout.cpuid2.entries + i * E.size;
      const fn = b.u32(at + E.function);
      supported.set(fn, { fn, eax: b.u32(at + E.eax), ebx: b.u32(at + E.ebx), ecx: b.u32(at + E.ecx), edx: b.u32(at + E.edx) });
    }
    const plan = hypervCpuidLeaves(supported, HYPERV_FEATURES);
    if (plan.missing.length > 0) log?.(`kvm: Hyper-V features KVM does not offer, left off: ${plan.missing.join(', ')}`);
    if (plan.enabled.includes('synic')) {
      const cap = new StructBuf(Layout.enableCap.size);
      const synic2 = c.ioctlInt(this.sysFd, KVM.CHECK_EXTENSION, KVM_CAP.HYPERV_SYNIC2) > 0;
      cap.setU32(Layout.enableCap.cap, synic2 ? KVM_CAP.HYPERV_SYNIC2 : KVM_CAP.HYPERV_SYNIC);
      this.check(c.ioctlPtr(this.vcpuFd, KVM.ENABLE_CAP, cap.bytes), `KVM_ENABLE_CAP(KVM_CAP_HYPERV_SYNIC${synic2 ? '2' : ''})`);
    }
    log?.(`kvm: Hyper-V enlightenments: ${plan.enabled.join(', ')}`);
    return plan.leaves;
  }

  /** Blocks KICK_SIGNAL in this thread, unblocks it during KVM_RUN, and creates the slice timer. */
  private setupKickTimer(): bigint {
    const c = this.c;
    sigaddset(this.kickSet, KICK_SIGNAL);
    const old = new Uint8Array(SIGSET_BYTES);
    this.check(c.pthreadSigmask(SIG_BLOCK, this.kickSet, old), 'pthread_sigmask');
    // During KVM_RUN: the thread's usual mask, without KICK_SIGNAL.
    const runMask = new StructBuf(Layout.signalMask.size + KERNEL_SIGSET_BYTES);
    runMask.setU32(Layout.signalMask.len, KERNEL_SIGSET_BYTES);
    for (let i = 0; i < KERNEL_SIGSET_BYTES; i++) runMask.setU8(Layout.signalMask.sigset + i, old[i]! & ~this.kickSet[i]!);
    this.check(c.ioctlPtr(this.vcpuFd, KVM.SET_SIGNAL_MASK, runMask.bytes), 'KVM_SET_SIGNAL_MASK');
    const ev = new StructBuf(SIGEVENT.size);
    ev.setU32(SIGEVENT.sigev_signo, KICK_SIGNAL);
    ev.setU32(SIGEVENT.sigev_notify, SIGEV_THREAD_ID);
    ev.setU32(SIGEVENT.tid, c.gettid());
    const id = new StructBuf(8);
    this.check(c.timerCreate(CLOCK_MONOTONIC, ev.bytes, id.bytes), 'timer_create');
    return id.big64(0);
  }

  /** Arms the slice timer for `sliceMs`, or sooner when a device timer is due before (`untilNs`, at least 50 µs). */
  private armTimer(untilNs: number): void {
    const sliceNs = Math.max(0.1, this.opts.sliceMs ?? 4) * 1e6;
    const ns = Math.floor(Math.max(50_000, Number.isNaN(untilNs) ? sliceNs : Math.min(sliceNs, untilNs)));
    this.armSpec.setU64(16, Math.floor(ns / 1e9));
    this.armSpec.setU64(24, ns % 1e9);
    this.c.timerSettime(this.timerId, 0, this.armSpec.bytes, null);
  }

  private disarmTimer(): void {
    this.c.timerSettime(this.timerId, 0, this.disarmSpec, null);
    this.consumeKick();
  }

  /** Takes a pending KICK_SIGNAL off the thread (it is blocked outside KVM_RUN, so it waits there). */
  private consumeKick(): void {
    while (this.c.sigtimedwait(this.kickSet, null, this.zeroTimeout) === KICK_SIGNAL) { /* drained one */ }
  }

  /** This thread's CPU time in ns (clock_gettime CLOCK_THREAD_CPUTIME_ID). */
  private threadCpuNs(): number {
    const ts = this.cpuTs;
    this.c.clockGettime(CLOCK_THREAD_CPUTIME_ID, ts.bytes);
    return ts.u64(0) * 1e9 + ts.u64(8);
  }

  private getRflags(): number {
    this.check(this.c.ioctlPtr(this.vcpuFd, KVM.GET_REGS, this.regsBuf.bytes), 'KVM_GET_REGS');
    return this.regsBuf.u32(Layout.regs.rflags);
  }

  /**
   * Diagnostics after a failed exit: registers, CS/DS/ES/SS bases, CR0/CR3/CR4/EFER, the
   * bytes at CS.base+RIP when paging is off, kvm_run's internal-error data and the slots.
   */
  describeState(what: string): string {
    const lines: string[] = [`kvm: ${what}`];
    try {
      const r = this.getRegs();
      const s = this.sregsBuf;
      const S = Layout.sregs;
      const G = Layout.segment;
      const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
      lines.push(`  eax=${hex(r.eax)} ebx=${hex(r.ebx)} ecx=${hex(r.ecx)} edx=${hex(r.edx)} esi=${hex(r.esi)} edi=${hex(r.edi)} ` +
        `esp=${hex(r.esp)} ebp=${hex(r.ebp)} eip=${hex(r.eip)} eflags=${hex(r.eflags)}`);
      const seg = (name: string, off: number): string =>
        `${name}=${hex(s.u16(off + G.selector))} base=${hex(s.u32(off + G.base))} limit=${hex(s.u32(off + G.limit))} db=${s.u8(off + G.db)} type=${s.u8(off + G.type)}`;
      lines.push(`  ${seg('cs', S.cs)}; ${seg('ds', S.ds)}; ${seg('es', S.es)}; ${seg('ss', S.ss)}`);
      lines.push(`  cr0=${hex(s.u32(S.cr0))} cr3=${hex(s.u32(S.cr3))} cr4=${hex(s.u32(S.cr4))} efer=${hex(s.u32(S.efer))}`);
      if ((s.u32(S.cr0) & 0x80000000) === 0) {
        const lin = (s.u32(S.cs + G.base) + r.eip) >>> 0;
        const u8 = this.opts.mem.u8;
        const slot = this.slots.find((x) => lin >= x.gpa && lin < x.gpa + x.sizeBytes);
        if (slot) {
          const at = slot.memOffset + (lin - slot.gpa);
          lines.push(`  code at ${hex(lin)}: ${Array.from(u8.subarray(at, at + 16), (b) => b.toString(16).padStart(2, '0')).join(' ')}`);
        } else {
          lines.push(`  code at ${hex(lin)}: no slot`);
        }
      }
      const run = new StructBuf(256);
      this.c.copyFromHost(run.bytes, this.runAddr, 256);
      const ndata = Math.min(run.u32(Layout.run.internal.ndata), 16);
      const data: string[] = [];
      for (let i = 0; i < ndata; i++) data.push(run.big64(Layout.run.internal.data + 8 * i).toString(16));
      lines.push(`  internal data (${run.u32(Layout.run.internal.ndata)}): ${data.join(' ')}`);
    } catch (e) {
      lines.push(`  (state unavailable: ${(e as Error).message})`);
    }
    for (const x of this.slots) {
      lines.push(`  slot ${x.slot}: gpa 0x${x.gpa.toString(16)} size 0x${x.sizeBytes.toString(16)} mem 0x${x.memOffset.toString(16)} flags ${x.flags}`);
    }
    return lines.join('\n');
  }

  private ripText(): string {
    try {
      const r = this.getRegs();
      return ` at ${r.cs.toString(16).padStart(4, '0')}:${r.eip.toString(16).padStart(8, '0')}`;
    } catch {
      return '';
    }
  }

  private errorExit(message: string): CpuExitT {
    this.error = message;
    return CpuExit.Error;
  }

  private check(rc: number, what: string): number {
    if (rc < 0) this.fail(what);
    return rc;
  }

  private fail(what: string): never {
    const errno = this.c.errno();
    throw new Error(`${what} failed: ${this.c.strerror(errno)} (errno ${errno})`);
  }
}
