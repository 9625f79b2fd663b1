/**
 * Local APIC (xAPIC), one per vCPU, as QEMU's "apic" on the pc machine: version 0x14
 * with 6 LVT entries (VER = 0x00050014), memory-mapped at IA32_APIC_BASE (0xFEE00000).
 *
 * Follows: Intel SDM Vol. 3A chapter 11 (numbered 10 in older editions) "Advanced
 * Programmable Interrupt Controller (APIC)":
 *   11.4.3/11.4.4 IA32_APIC_BASE (BSP bit 8, global enable bit 11, base 35:12; clearing
 *   the enable bit makes the CPU APIC-less: MMIO hidden, state back to power-up),
 *   11.4.6 local APIC ID, 11.4.8 version register, 11.4.7.1-3 power-up / INIT reset,
 *   11.4.7.2 software enable (SVR), 11.5.1 LVT (timer, thermal, perf, LINT0, LINT1,
 *   error; masks; delivery modes; LINT remote IRR), 11.5.3 ESR (write before read),
 *   11.5.4 timer (divide configuration, initial/current count, one-shot, periodic),
 *   11.5.4.1 TSC-deadline mode (IA32_TSC_DEADLINE, MSR 0x6E0), 11.6.1 ICR (delivery
 *   modes, shorthands, INIT level de-assert), 11.6.2 physical / logical (flat and cluster)
 *   destinations, 11.6.2.4 lowest priority (APR), 11.8.3 interrupt acceptance (IRR, ISR,
 *   TMR, PPR), 11.8.3.1 TPR/PPR, 11.8.5 EOI (broadcast to the I/O APIC for level-triggered
 *   vectors), 11.9 spurious interrupts.
 * QEMU hw/intc/apic.c / apic_common.c for the unspecified corners: the BSP's LINT0
 * resets to ExtINT unmasked (virtual wire, what SeaBIOS programs anyway: 0x8700), reserved
 * registers set ESR "illegal register address", sub-dword and unaligned writes are
 * ignored, fixed interrupts received while software-disabled are held in the IRR.
 * Our own choices: sub-dword reads return the addressed bytes of the dword (QEMU returns
 * 0; the SDM only allows 32-bit accesses), writes to read-only registers count as
 * illegal register addresses too; as KVM and SDM 11.5.4.1 ("a write to the LVT timer
 * register that changes the timer mode disarms the timer"), a mode change stops the
 * counter (TMICT = 0) and clears IA32_TSC_DEADLINE.
 *
 * Timer frequency: the timer counts the 1 GHz APIC bus clock (1 count per virtual
 * nanosecond before the divider), as QEMU does; TSC-deadline converts TSC ticks to
 * nanoseconds with the injected `tsc.hz` at the time the deadline is armed.
 * Delivery is synchronous: ICR and LVT delivery status bits always read 0 (idle).
 *
 * Leaves out: x2APIC (CPUID.1:ECX[21] = 0; setting IA32_APIC_BASE bit 10 is refused
 * with #GP), the CMCI LVT (0x2F0 is reserved with 6 LVTs), directed EOI / EOI broadcast
 * suppression (VER bit 24 = 0), thermal and performance-counter sources (their LVTs are
 * storage), SMI delivery (counted and logged), focus-processor checking for lowest
 * priority (SVR bit 9 is stored), the remote read of the 82489DX, checksum errors.
 */
import type { InterruptSource } from '../../cpu/backend.js';
import type { Clock, Scheduler, TimerHandle } from '../../time/clock.js';
import type { AccessSize, Device, DeviceState, IoHandler, ResetKind } from '../device.js';

/** Default physical base of the local APIC page. */
export const APIC_DEFAULT_BASE = 0xfee0_0000;
/** Size of the local APIC MMIO page. */
export const APIC_MMIO_SIZE = 0x1000;

/** IA32_APIC_BASE MSR index. */
export const MSR_IA32_APIC_BASE = 0x1b;
/** IA32_TSC_DEADLINE MSR index. */
export const MSR_IA32_TSC_DEADLINE = 0x6e0;
/** IA32_APIC_BASE bits. */
export const APIC_BASE_BSP = 1 << 8;
export const APIC_BASE_EXTD = 1 << 10;
export const APIC_BASE_EN = 1 << 11;
/** IA32_APIC_BASE address bits 31:12 (low dword) and 35:32 (high dword, MAXPHYADDR 36). */
const APIC_BASE_LO_ADDR = 0xffff_f000;
const APIC_BASE_HI_ADDR = 0xf;

/** Register offsets (SDM Table 11-1). */
export const APIC_ID = 0x020;
export const APIC_LVR = 0x030;
export const APIC_TASKPRI = 0x080;
export const APIC_ARBPRI = 0x090;
export const APIC_PROCPRI = 0x0a0;
export const APIC_EOI = 0x0b0;
export const APIC_RRR = 0x0c0;
export const APIC_LDR = 0x0d0;
export const APIC_DFR = 0x0e0;
export const APIC_SPIV = 0x0f0;
export const APIC_ISR = 0x100;
export const APIC_TMR = 0x180;
export const APIC_IRR = 0x200;
export const APIC_ESR = 0x280;
export const APIC_ICR = 0x300;
export const APIC_ICR2 = 0x310;
export const APIC_LVTT = 0x320;
export const APIC_LVTTHMR = 0x330;
export const APIC_LVTPC = 0x340;
export const APIC_LVT0 = 0x350;
export const APIC_LVT1 = 0x360;
export const APIC_LVTERR = 0x370;
export const APIC_TMICT = 0x380;
export const APIC_TMCCT = 0x390;
export const APIC_TDCR = 0x3e0;

/** Version register: version 0x14, max LVT entry 5 (6 entries), as QEMU. */
export const APIC_VERSION = 0x0005_0014;

/** SVR bits. */
export const APIC_SPIV_APIC_ENABLED = 1 << 8;
export const APIC_SPIV_FOCUS_DISABLED = 1 << 9;
const SPIV_WRITABLE = 0x3ff;

/** LVT and ICR bits. */
export const APIC_VECTOR_MASK = 0xff;
export const APIC_DM_SHIFT = 8;
export const APIC_DEST_LOGICAL = 1 << 11;
export const APIC_SEND_PENDING = 1 << 12;
export const APIC_INPUT_POLARITY = 1 << 13;
export const APIC_LVT_REMOTE_IRR = 1 << 14;
export const APIC_INT_ASSERT = 1 << 14;
export const APIC_INT_LEVELTRIG = 1 << 15;
export const APIC_LVT_MASKED = 1 << 16;
export const APIC_DEST_SHORTHAND_SHIFT = 18;
/** LVT timer mode (bits 18:17). */
export const APIC_LVT_TIMER_PERIODIC = 1 << 17;
export const APIC_LVT_TIMER_TSCDEADLINE = 2 << 17;
const APIC_LVT_TIMER_MODE = 3 << 17;

/** Delivery modes (ICR / LVT bits 10:8, IOAPIC and MSI alike). */
export const APIC_DM = { Fixed: 0, LowestPriority: 1, SMI: 2, NMI: 4, INIT: 5, StartUp: 6, ExtINT: 7 } as const;

/** ICR destination shorthands (bits 19:18). */
export const APIC_SHORTHAND = { None: 0, Self: 1, AllIncludingSelf: 2, AllExcludingSelf: 3 } as const;

/** ESR bits (SDM Figure 11-9). */
export const APIC_ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
export const APIC_ESR_RECV_ILLEGAL_VECTOR = 1 << 6;
export const APIC_ESR_ILLEGAL_REGISTER = 1 << 7;

/** Names of the six LVT entries, in register order (0x320..0x370). */
export const LVT_NAMES = ['timer', 'thermal', 'perf', 'lint0', 'lint1', 'error'] as const;
/** One of the LVT entries. */
export type LvtName = (typeof LVT_NAMES)[number];
const LVT_TIMER = 0, LVT_LINT0 = 3, LVT_ERROR = 5;
/** Writable bits per LVT entry (delivery status and remote IRR are read-only). */
const LVT_WRITABLE = [0x000300ff, 0x000107ff, 0x000107ff, 0x0001a7ff, 0x0001a7ff, 0x000100ff] as const;

/** Writable ICR bits: vector, delivery mode, dest mode, level, trigger, shorthand. */
const ICR_LO_WRITABLE = 0x000c_cfff;

/** Nanoseconds per timer count before the divider (1 GHz APIC bus clock). */
export const APIC_BUS_NS = 1;

/** An interrupt message on the APIC bus (IPI, I/O APIC message or MSI). */
export interface ApicMessage {
  vector: number;
  /** One of APIC_DM. */
  deliveryMode: number;
  destMode: 'physical' | 'logical';
  /** 8-bit physical APIC ID or logical destination (0xFF: broadcast). */
  dest: number;
  trigger: 'edge' | 'level';
  /** ICR Level bit (false only for INIT level de-assert); true for other sources. */
  assert: boolean;
  /** One of APIC_SHORTHAND (ICR only; None for other sources). */
  shorthand: number;
}

/** What a local APIC signals to its CPU outside the INTR path. */
export type CpuSignal = 'nmi' | 'init' | 'startup' | 'smi';

/** The APIC bus a local APIC sits on (implemented by InterruptRouter). */
export interface ApicBus {
  /** Routes an IPI written to `from`'s ICR to its destination(s). */
  sendIpi(from: LocalApic, msg: ApicMessage): void;
  /** `apic` received an NMI, INIT, STARTUP (with `vector`) or SMI for its CPU. */
  cpuSignal(apic: LocalApic, signal: CpuSignal, vector: number): void;
  /** `apic` has an interrupt the CPU can take now (kick/wake it). */
  interruptPending(apic: LocalApic): void;
}

/** Out-parameter of `readMsr`: the two dwords of a 64-bit MSR. */
export interface MsrValue {
  lo: number;
  hi: number;
}

/**
 * The CPU's view of the APIC's MSRs (IA32_APIC_BASE 0x1B, IA32_TSC_DEADLINE 0x6E0).
 * The CPU calls these from RDMSR/WRMSR for exactly the indices in `APIC_MSRS`;
 * `false` means the CPU raises #GP(0).
 */
export interface ApicMsrAccess {
  /** Reads MSR `index` into `out`; false -> #GP. */
  readMsr(index: number, out: MsrValue): boolean;
  /** Writes MSR `index` = hi:lo; false (reserved bits, unsupported value) -> #GP. */
  writeMsr(index: number, lo: number, hi: number): boolean;
}

/** The MSR indices the CPU forwards to `ApicMsrAccess`. */
export const APIC_MSRS: readonly number[] = [MSR_IA32_APIC_BASE, MSR_IA32_TSC_DEADLINE];

/** The time-stamp counter, for TSC-deadline mode. */
export interface TscSource {
  /** The current TSC of this CPU (ticks). */
  read(): number;
  /** TSC ticks per second. */
  readonly hz: number;
}

/** Dependencies of a local APIC. */
export interface LocalApicOptions {
  /** The initial APIC ID (CPUID.1:EBX[31:24], the MADT's id); the CPU's identity on the bus. */
  apicId: number;
  /** This is the bootstrap processor (IA32_APIC_BASE bit 8; LINT0 resets to ExtINT). */
  bsp: boolean;
  clock: Clock;
  scheduler: Scheduler;
  /** The bus this APIC sends IPIs and CPU signals to. */
  bus: ApicBus;
  /** EOI of a level-triggered vector: the board calls the I/O APIC's `eoi(vector)`. */
  eoiBroadcast?: (vector: number) => void;
  /** TSC for TSC-deadline mode; without it the mode is not offered (LVT bit 18 reserved). */
  tsc?: TscSource;
  /** IA32_APIC_BASE changed: the board (re)maps the 4 KiB page at `gpa` or unmaps it when disabled. */
  onBaseChange?: (gpa: number, enabled: boolean) => void;
  /** Device id (default `lapic.<apicId>`). */
  id?: string;
  /** Logs guest misuse (rate-limit there). */
  log?: (message: string) => void;
}

/** Index of the highest set bit of a 256-bit register, or -1. */
function highestBit(r: Uint32Array): number {
  for (let i = 7; i >= 0; i--) {
    const w = r[i]!;
    if (w !== 0) return i * 32 + 31 - Math.clz32(w);
  }
  return -1;
}

function testBit(r: Uint32Array, v: number): boolean {
  return (r[v >> 5]! & (1 << (v & 31))) !== 0;
}

function setBit(r: Uint32Array, v: number, on: boolean): void {
  if (on) r[v >> 5]! |= 1 << (v & 31);
  else r[v >> 5]! &= ~(1 << (v & 31));
}

/** Divide value of TDCR bits 3,1:0 (SDM Figure 11-10). */
function divisorOf(tdcr: number): number {
  const code = (tdcr & 3) | ((tdcr & 8) >> 1);
  return code === 7 ? 1 : 2 << code;
}

/** A local APIC: MMIO page handler, INTR source of its CPU, MSRs and timer. */
export class LocalApic implements Device, InterruptSource, ApicMsrAccess {
  /** @inheritdoc */
  readonly id: string;
  /** The initial APIC ID (the CPU's identity; the guest may rewrite the ID register). */
  readonly initialApicId: number;
  /** The MMIO handler for the 4 KiB page at `baseGpa` (offsets within the page). */
  readonly mmio: IoHandler;
  /** Count of guest accesses a real APIC would ignore, reject or flag in the ESR. */
  misuseCount = 0;
  /** INTA cycles that returned the spurious vector. */
  spuriousCount = 0;
  /** SMIs received (not delivered: no SMM). */
  smiCount = 0;

  private apicBaseLo = 0;
  private apicBaseHi = 0;
  private apicIdReg = 0;
  private tpr = 0;
  private ldr = 0;
  private dfr = 0xffff_ffff;
  private svr = 0xff;
  private readonly irr = new Uint32Array(8);
  private readonly isr = new Uint32Array(8);
  private readonly tmr = new Uint32Array(8);
  /** ESR as last latched by a write. */
  private esr = 0;
  /** Errors detected since the last ESR write. */
  private esrPending = 0;
  private icrLo = 0;
  private icrHi = 0;
  private readonly lvt = new Uint32Array(6);
  private tdcr = 0;
  private initialCount = 0;
  /** LINT0/LINT1 input levels. */
  private readonly lint = [false, false];
  /** An ExtINT message arrived: the next INTA cycle goes to the 8259. */
  private extInt = false;

  // Timer: the count was `countAtStart` at `countStartNs` (0 = stopped).
  private countStartNs = 0;
  private countAtStart = 0;
  /** Whether the current one-shot count's expiry has been delivered (or there is no count). */
  private countDelivered = true;
  private timerHandle: TimerHandle | undefined;
  /** Virtual time `timerHandle` fires at (meaningful while it is set). */
  private timerDueNs = 0;
  // TSC-deadline: the MSR (exact dwords) and the armed virtual deadline.
  private tscDeadlineLo = 0;
  private tscDeadlineHi = 0;
  private tscDeadlineNs = -1;

  constructor(private readonly opts: LocalApicOptions) {
    if (!Number.isInteger(opts.apicId) || opts.apicId < 0 || opts.apicId > 0xfe) throw new RangeError(`lapic: bad APIC id ${opts.apicId}`);
    if (opts.tsc !== undefined && !(opts.tsc.hz > 0)) throw new RangeError('lapic: tsc.hz must be positive');
    this.initialApicId = opts.apicId;
    this.id = opts.id ?? `lapic.${opts.apicId}`;
    this.mmio = {
      minSize: 1,
      maxSize: 4,
      read: (offset: number, size: AccessSize) => this.mmioRead(offset, size),
      write: (offset: number, size: AccessSize, value: number) => this.mmioWrite(offset, size, value),
    };
    this.powerOn();
  }

  // ------------------------------------------------------------------ status

  /** IA32_APIC_BASE[11]: the APIC exists for the CPU (CPUID.1:EDX[9] follows it). */
  get hardwareEnabled(): boolean {
    return (this.apicBaseLo & APIC_BASE_EN) !== 0;
  }

  /** SVR[8] (and the hardware enable): the APIC delivers interrupts. */
  get softwareEnabled(): boolean {
    return this.hardwareEnabled && (this.svr & APIC_SPIV_APIC_ENABLED) !== 0;
  }

  /** Guest-physical base of the MMIO page (IA32_APIC_BASE bits 35:12). */
  get baseGpa(): number {
    return ((this.apicBaseLo & APIC_BASE_LO_ADDR) >>> 0) + (this.apicBaseHi & APIC_BASE_HI_ADDR) * 0x1_0000_0000;
  }

  /** The current APIC ID register value (bits 31:24). */
  get apicId(): number {
    return this.apicIdReg;
  }

  /** LINT0 is unmasked with ExtINT delivery: the 8259's INTR reaches the CPU (virtual wire). */
  get acceptsExtInt(): boolean {
    const l = this.lvt[LVT_LINT0]!;
    return this.hardwareEnabled && !(l & APIC_LVT_MASKED) && ((l >> APIC_DM_SHIFT) & 7) === APIC_DM.ExtINT;
  }

  /** An ExtINT message is waiting for its INTA cycle at the 8259. */
  get extIntRequested(): boolean {
    return this.extInt && this.hardwareEnabled;
  }

  /** The router ran the INTA cycle of an ExtINT message at the 8259. */
  extIntAcknowledged(): void {
    this.extInt = false;
  }

  /** True when TSC-deadline timer mode is offered (CPUID.1:ECX[24]). */
  get tscDeadlineSupported(): boolean {
    return this.opts.tsc !== undefined;
  }

  /** TPR (bits 7:0). */
  get taskPriority(): number {
    return this.tpr;
  }

  /** MOV from CR8 (64-bit mode): TPR[7:4] (SDM 11.8.6). */
  readCr8(): number {
    return this.tpr >> 4;
  }

  /** MOV to CR8 (64-bit mode): TPR[7:4] = value[3:0], TPR[3:0] = 0 (SDM 11.8.6). */
  writeCr8(value: number): void {
    this.tpr = (value & 0xf) << 4;
    this.notifyIfPending();
  }

  /** The processor priority (SDM 11.8.3.1). */
  processorPriority(): number {
    const isrv = Math.max(highestBit(this.isr), 0);
    return (this.tpr & 0xf0) >= (isrv & 0xf0) ? this.tpr : isrv & 0xf0;
  }

  /** The arbitration priority (SDM 11.6.2.4), used for lowest-priority delivery. */
  arbitrationPriority(): number {
    const isrv = Math.max(highestBit(this.isr), 0);
    const irrv = Math.max(highestBit(this.irr), 0);
    if ((this.tpr & 0xf0) >= (irrv & 0xf0) && (this.tpr & 0xf0) > (isrv & 0xf0)) return this.tpr;
    return Math.max(this.tpr & 0xf0, isrv & 0xf0, irrv & 0xf0);
  }

  /** Whether vector `v` is set in IRR / ISR / TMR (for tests and debugging). */
  bits(v: number): { irr: boolean; isr: boolean; tmr: boolean } {
    return { irr: testBit(this.irr, v), isr: testBit(this.isr, v), tmr: testBit(this.tmr, v) };
  }

  /** Current value of LVT entry `name` (for the router and tests). */
  lvtEntry(name: LvtName): number {
    return this.lvt[LVT_NAMES.indexOf(name)]! >>> 0;
  }

  private misuse(msg: string): void {
    this.misuseCount++;
    this.opts.log?.(`${this.id}: ${msg}`);
  }

  // ------------------------------------------------------------------ InterruptSource

  /** @inheritdoc The highest IRR vector is above the PPR's priority class (SDM 11.8.3). */
  hasInterrupt(): boolean {
    if (!this.softwareEnabled) return false;
    const v = highestBit(this.irr);
    return v >= 0 && (v & 0xf0) > (this.processorPriority() & 0xf0);
  }

  /**
   * @inheritdoc Moves the highest deliverable IRR vector to the ISR and returns it; if
   * nothing is deliverable any more (TPR raised since `hasInterrupt`), returns the
   * spurious vector without touching the ISR (SDM 11.9).
   */
  acknowledge(): number {
    if (!this.hasInterrupt()) {
      this.spuriousCount++;
      return this.svr & 0xff;
    }
    const v = highestBit(this.irr);
    setBit(this.irr, v, false);
    setBit(this.isr, v, true);
    return v;
  }

  // ------------------------------------------------------------------ message reception

  /** True when this APIC is a target of `dest` in `destMode` (SDM 11.6.2). */
  matchesDestination(dest: number, destMode: 'physical' | 'logical'): boolean {
    if (!this.hardwareEnabled) return false;
    dest &= 0xff;
    if (dest === 0xff) return true;
    if (destMode === 'physical') return dest === this.apicIdReg;
    const ldrId = this.ldr >>> 24;
    if ((this.dfr >>> 28) === 0xf) return (ldrId & dest) !== 0; // flat model
    // Cluster model: cluster in bits 7:4 (15 = all clusters), members in 3:0.
    return ((dest >> 4) === (ldrId >> 4) || (dest >> 4) === 0xf) && (ldrId & dest & 0x0f) !== 0;
  }

  /**
   * Accepts a message routed to this APIC (Fixed/LowestPriority into the IRR, NMI, INIT,
   * STARTUP, SMI to the CPU). INIT level de-assert is filtered out by the router.
   */
  receive(deliveryMode: number, vector: number, trigger: 'edge' | 'level'): void {
    if (!this.hardwareEnabled) return;
    switch (deliveryMode) {
      case APIC_DM.Fixed:
      case APIC_DM.LowestPriority:
        this.acceptFixed(vector & 0xff, trigger === 'level');
        return;
      case APIC_DM.NMI: this.opts.bus.cpuSignal(this, 'nmi', 0); return;
      case APIC_DM.SMI:
        this.smiCount++;
        this.opts.log?.(`${this.id}: SMI received (no SMM, ignored)`);
        this.opts.bus.cpuSignal(this, 'smi', 0);
        return;
      case APIC_DM.INIT:
        this.initReset();
        this.opts.bus.cpuSignal(this, 'init', 0);
        return;
      case APIC_DM.StartUp: this.opts.bus.cpuSignal(this, 'startup', vector & 0xff); return;
      case APIC_DM.ExtINT:
        // An ExtINT message (e.g. an I/O APIC pin in ExtINT mode): the CPU's next INTA
        // cycle is answered by the 8259 (the router does it).
        this.extInt = true;
        this.opts.bus.interruptPending(this);
        return;
      default:
        this.misuse(`message with reserved delivery mode ${deliveryMode}`);
    }
  }

  /** Sets the vector in the IRR (and the TMR for level), or flags an illegal vector. */
  private acceptFixed(vector: number, level: boolean): void {
    if (vector < 16) { this.error(APIC_ESR_RECV_ILLEGAL_VECTOR); return; }
    setBit(this.irr, vector, true);
    setBit(this.tmr, vector, level);
    this.notifyIfPending();
  }

  private notifyIfPending(): void {
    if (this.hasInterrupt()) this.opts.bus.interruptPending(this);
  }

  /** Records an error in the ESR and raises the error LVT for a newly seen error. */
  private error(bit: number): void {
    const fresh = (this.esrPending & bit) === 0;
    this.esrPending |= bit;
    const l = this.lvt[LVT_ERROR]!;
    if (fresh && !(l & APIC_LVT_MASKED)) {
      const v = l & 0xff;
      if (v < 16) this.esrPending |= APIC_ESR_RECV_ILLEGAL_VECTOR;
      else this.acceptFixed(v, false);
    }
  }

  /** Delivers LVT entry `n` locally (SDM 11.5.1). */
  private deliverLvt(n: number): void {
    const l = this.lvt[n]!;
    if (l & APIC_LVT_MASKED || !this.hardwareEnabled) return;
    const mode = n === LVT_TIMER || n === LVT_ERROR ? APIC_DM.Fixed : (l >> APIC_DM_SHIFT) & 7;
    const level = (n === 3 || n === 4) && (l & APIC_INT_LEVELTRIG) !== 0 && mode === APIC_DM.Fixed;
    if (mode === APIC_DM.ExtINT) { this.opts.bus.interruptPending(this); return; }
    if (mode === APIC_DM.StartUp || mode === APIC_DM.LowestPriority) { this.misuse(`LVT ${LVT_NAMES[n]} with invalid delivery mode ${mode}`); return; }
    if (level) this.lvt[n] = l | APIC_LVT_REMOTE_IRR;
    this.receive(mode, l & 0xff, level ? 'level' : 'edge');
  }

  /**
   * Drives the LINT0 (`pin` 0) or LINT1 (`pin` 1) input. Fixed/NMI/INIT/SMI entries
   * deliver on a rising edge (level-triggered Fixed entries while asserted with remote
   * IRR clear); ExtINT is level-sensitive and read by the router from the 8259 itself.
   */
  setLint(pin: 0 | 1, level: boolean): void {
    const was = this.lint[pin]!;
    this.lint[pin] = level;
    const n = LVT_LINT0 + pin;
    const l = this.lvt[n]!;
    const mode = (l >> APIC_DM_SHIFT) & 7;
    if (mode === APIC_DM.ExtINT) { if (level) this.deliverLvt(n); return; }
    const levelTrig = mode === APIC_DM.Fixed && (l & APIC_INT_LEVELTRIG) !== 0;
    if (levelTrig ? level && !(l & APIC_LVT_REMOTE_IRR) : level && !was) this.deliverLvt(n);
  }

  // ------------------------------------------------------------------ EOI

  private eoi(): void {
    const v = highestBit(this.isr);
    if (v < 0) return; // EOI with nothing in service: ignored (Linux may do this)
    setBit(this.isr, v, false);
    if (testBit(this.tmr, v)) {
      setBit(this.tmr, v, false);
      // Level LINT entries with this vector: clear remote IRR, re-sample the input.
      for (const pin of [0, 1] as const) {
        const n = LVT_LINT0 + pin;
        const l = this.lvt[n]!;
        if (l & APIC_LVT_REMOTE_IRR && (l & 0xff) === v) {
          this.lvt[n] = l & ~APIC_LVT_REMOTE_IRR;
          if (this.lint[pin]) this.setLint(pin, true);
        }
      }
      this.opts.eoiBroadcast?.(v);
    }
    this.notifyIfPending();
  }

  // ------------------------------------------------------------------ MMIO

  private mmioRead(offset: number, size: AccessSize): number {
    if (!this.hardwareEnabled) return size === 4 ? 0xffff_ffff : (1 << (size * 8)) - 1;
    const reg = offset & 0xff0;
    const sub = offset & 0xf;
    if (sub + size > 4) {
      this.misuse(`read of ${size} bytes at 0x${offset.toString(16)} crosses the register`);
      return 0;
    }
    const dword = this.readRegister(reg);
    const shifted = dword >>> (sub * 8);
    return size === 4 ? shifted >>> 0 : shifted & ((1 << (size * 8)) - 1);
  }

  private mmioWrite(offset: number, size: AccessSize, value: number): void {
    if (!this.hardwareEnabled) return;
    if (size !== 4 || (offset & 0xf) !== 0) {
      this.misuse(`write of ${size} bytes at 0x${offset.toString(16)} (registers take aligned 32-bit writes)`);
      return;
    }
    this.writeRegister(offset & 0xff0, value >>> 0);
  }

  /** Reads the 32-bit register at `reg` (a 16-byte aligned offset), as through MMIO. */
  readRegister(reg: number): number {
    switch (reg) {
      case APIC_ID: return (this.apicIdReg << 24) >>> 0;
      case APIC_LVR: return APIC_VERSION;
      case APIC_TASKPRI: return this.tpr;
      case APIC_ARBPRI: return this.arbitrationPriority();
      case APIC_PROCPRI: return this.processorPriority();
      case APIC_EOI: return 0;
      case APIC_RRR: return 0;
      case APIC_LDR: return this.ldr >>> 0;
      case APIC_DFR: return this.dfr >>> 0;
      case APIC_SPIV: return this.svr;
      case APIC_ESR: return this.esr;
      case APIC_ICR: return this.icrLo;
      case APIC_ICR2: return this.icrHi >>> 0;
      case APIC_TMICT: return this.initialCount >>> 0;
      case APIC_TMCCT: return this.currentCount();
      case APIC_TDCR: return this.tdcr;
      default:
        if (reg >= APIC_ISR && reg < APIC_ISR + 0x80) return this.isr[(reg - APIC_ISR) >> 4]! >>> 0;
        if (reg >= APIC_TMR && reg < APIC_TMR + 0x80) return this.tmr[(reg - APIC_TMR) >> 4]! >>> 0;
        if (reg >= APIC_IRR && reg < APIC_IRR + 0x80) return this.irr[(reg - APIC_IRR) >> 4]! >>> 0;
        if (reg >= APIC_LVTT && reg <= APIC_LVTERR) return this.lvt[(reg - APIC_LVTT) >> 4]! >>> 0;
        this.misuse(`read of reserved register 0x${reg.toString(16)}`);
        this.error(APIC_ESR_ILLEGAL_REGISTER);
        return 0;
    }
  }

  /** Writes the 32-bit register at `reg` (a 16-byte aligned offset), as through MMIO. */
  writeRegister(reg: number, value: number): void {
    value >>>= 0;
    switch (reg) {
      case APIC_ID: this.apicIdReg = value >>> 24; return;
      case APIC_TASKPRI:
        this.tpr = value & 0xff;
        this.notifyIfPending();
        return;
      case APIC_EOI: this.eoi(); return;
      case APIC_LDR: this.ldr = (value & 0xff00_0000) >>> 0; return;
      case APIC_DFR: this.dfr = (value | 0x0fff_ffff) >>> 0; return;
      case APIC_SPIV: this.writeSvr(value); return;
      case APIC_ESR:
        // Write-before-read: a write latches the errors seen since the previous write.
        this.esr = this.esrPending;
        this.esrPending = 0;
        return;
      case APIC_ICR:
        this.icrLo = value & ICR_LO_WRITABLE;
        this.sendIcr();
        return;
      case APIC_ICR2: this.icrHi = (value & 0xff00_0000) >>> 0; return;
      case APIC_TMICT: this.catchUpTimer(); this.writeInitialCount(value); return;
      case APIC_TDCR: {
        this.catchUpTimer();
        this.rebaseCounter();
        this.tdcr = value & 0xb;
        this.armCounter();
        return;
      }
      default:
        if (reg >= APIC_LVTT && reg <= APIC_LVTERR) { this.writeLvt((reg - APIC_LVTT) >> 4, value); return; }
        if (reg === APIC_LVR || reg === APIC_ARBPRI || reg === APIC_PROCPRI || reg === APIC_RRR || reg === APIC_TMCCT ||
          (reg >= APIC_ISR && reg < APIC_IRR + 0x80)) {
          this.misuse(`write to read-only register 0x${reg.toString(16)}`);
        } else {
          this.misuse(`write to reserved register 0x${reg.toString(16)}`);
        }
        this.error(APIC_ESR_ILLEGAL_REGISTER);
    }
  }

  private writeSvr(value: number): void {
    const wasEnabled = (this.svr & APIC_SPIV_APIC_ENABLED) !== 0;
    this.svr = value & SPIV_WRITABLE;
    if (wasEnabled && !(this.svr & APIC_SPIV_APIC_ENABLED)) {
      // SDM 11.4.7.2: software disable sets every LVT mask bit.
      for (let n = 0; n < 6; n++) this.lvt[n] = this.lvt[n]! | APIC_LVT_MASKED;
    }
    this.notifyIfPending();
  }

  private writeLvt(n: number, value: number): void {
    if (n === LVT_TIMER) this.catchUpTimer();
    const old = this.lvt[n]!;
    let writable: number = LVT_WRITABLE[n]!;
    if (n === LVT_TIMER && this.tscDeadlineSupported) writable |= APIC_LVT_TIMER_TSCDEADLINE;
    let v = (old & APIC_LVT_REMOTE_IRR) | (value & writable);
    if (n === LVT_TIMER && (v & APIC_LVT_TIMER_MODE) === APIC_LVT_TIMER_MODE) {
      this.misuse('LVT timer mode 11b is reserved (kept periodic)');
      v &= ~APIC_LVT_TIMER_TSCDEADLINE;
    }
    if (n === LVT_TIMER && (value & APIC_LVT_TIMER_TSCDEADLINE) && !this.tscDeadlineSupported) this.misuse('LVT timer TSC-deadline mode not offered');
    if (!(this.svr & APIC_SPIV_APIC_ENABLED)) v |= APIC_LVT_MASKED; // SDM 11.4.7.2
    if (n === 3 || n === 4) {
      // Remote IRR only stands for level-triggered Fixed entries.
      if (!(v & APIC_INT_LEVELTRIG) || ((v >> APIC_DM_SHIFT) & 7) !== APIC_DM.Fixed) v &= ~APIC_LVT_REMOTE_IRR;
    }
    if (n === LVT_TIMER) {
      const oldMode = old & APIC_LVT_TIMER_MODE;
      const newMode = v & APIC_LVT_TIMER_MODE;
      if (oldMode !== newMode) {
        // SDM 11.5.4.1: a mode change disarms the timer (KVM also clears TMICT).
        this.disarmDeadline(true);
        this.countAtStart = 0;
        this.countDelivered = true;
        this.initialCount = 0;
      }
      this.lvt[n] = v >>> 0;
      this.armCounter();
      return;
    }
    this.lvt[n] = v >>> 0;
    // An unmasked LINT entry samples its input (level-sensitive ExtINT / level Fixed).
    if ((n === 3 || n === 4) && (old & APIC_LVT_MASKED) && !(v & APIC_LVT_MASKED) && this.lint[n - 3]) {
      const mode = (v >> APIC_DM_SHIFT) & 7;
      if (mode === APIC_DM.ExtINT || (mode === APIC_DM.Fixed && (v & APIC_INT_LEVELTRIG))) this.setLint((n - 3) as 0 | 1, true);
    }
  }

  /** Sends the IPI described by the ICR (SDM 11.6.1). */
  private sendIcr(): void {
    const lo = this.icrLo;
    const mode = (lo >> APIC_DM_SHIFT) & 7;
    const vector = lo & 0xff;
    const shorthand = (lo >> APIC_DEST_SHORTHAND_SHIFT) & 3;
    const msg: ApicMessage = {
      vector,
      deliveryMode: mode,
      destMode: lo & APIC_DEST_LOGICAL ? 'logical' : 'physical',
      dest: this.icrHi >>> 24,
      trigger: lo & APIC_INT_LEVELTRIG ? 'level' : 'edge',
      assert: (lo & APIC_INT_ASSERT) !== 0,
      shorthand,
    };
    if ((mode === APIC_DM.Fixed || mode === APIC_DM.LowestPriority) && vector < 16) {
      this.error(APIC_ESR_SEND_ILLEGAL_VECTOR);
      return;
    }
    if (mode === 3 || mode === APIC_DM.ExtINT) { this.misuse(`ICR with reserved delivery mode ${mode}`); return; }
    if (shorthand === APIC_SHORTHAND.Self && mode !== APIC_DM.Fixed) {
      this.misuse(`ICR self shorthand with delivery mode ${mode} (only Fixed is valid)`);
      return;
    }
    this.opts.bus.sendIpi(this, msg);
  }

  // ------------------------------------------------------------------ timer

  private get divisor(): number {
    return divisorOf(this.tdcr);
  }

  private get timerMode(): number {
    return this.lvt[LVT_TIMER]! & APIC_LVT_TIMER_MODE;
  }

  private writeInitialCount(value: number): void {
    if (this.timerMode === APIC_LVT_TIMER_TSCDEADLINE) return; // ignored (SDM 11.5.4.1)
    this.initialCount = value;
    this.countStartNs = this.opts.clock.nowNs();
    this.countAtStart = value;
    this.countDelivered = false;
    this.armCounter();
  }

  /** Elapsed timer counts and nanoseconds into the current count since the start. */
  private elapsed(now: number): { ticks: number; phaseNs: number } {
    const ns = Math.max(0, now - this.countStartNs);
    const per = this.divisor * APIC_BUS_NS;
    return { ticks: Math.floor(ns / per), phaseNs: ns % per };
  }

  /** The current count (TMCCT). */
  currentCount(): number {
    if (this.countAtStart === 0) return 0;
    const t = this.elapsed(this.opts.clock.nowNs()).ticks;
    if (t < this.countAtStart) return this.countAtStart - t;
    if (this.timerMode !== APIC_LVT_TIMER_PERIODIC || this.initialCount === 0) return 0;
    return this.initialCount - ((t - this.countAtStart) % this.initialCount);
  }

  /** Restarts the count bookkeeping at the current time (divider or mode changes). */
  private rebaseCounter(): void {
    if (this.countAtStart === 0) return;
    const now = this.opts.clock.nowNs();
    const cur = this.currentCount();
    if (cur === 0 && !this.countDelivered) {
      // The one-shot count ran out just now, before its expiry was delivered: deliver it.
      this.timerHandle?.cancel();
      this.timerHandle = undefined;
      this.counterExpired(this.countStartNs + this.countAtStart * this.divisor * APIC_BUS_NS);
      return;
    }
    const phase = this.elapsed(now).phaseNs;
    this.countAtStart = cur;
    this.countStartNs = now - phase;
  }

  /** (Re)schedules the next count expiry from the bookkeeping. */
  private armCounter(): void {
    this.timerHandle?.cancel();
    this.timerHandle = undefined;
    if (this.countAtStart === 0 || this.timerMode === APIC_LVT_TIMER_TSCDEADLINE) return;
    const now = this.opts.clock.nowNs();
    const per = this.divisor * APIC_BUS_NS;
    const t = this.elapsed(now).ticks;
    let deadline: number;
    if (t < this.countAtStart) deadline = this.countStartNs + this.countAtStart * per;
    else if (this.timerMode !== APIC_LVT_TIMER_PERIODIC || this.initialCount === 0) {
      // A one-shot count that ran out before this (re)arm but was never delivered (a tiny
      // count and host-paced time that moved on while the write was handled; Linux writes
      // TMICT=62 for "as soon as possible") still fires, at the next clock advance.
      if (this.countDelivered) return;
      deadline = this.countStartNs + this.countAtStart * per;
    } else deadline = this.countStartNs + (this.countAtStart + (Math.floor((t - this.countAtStart) / this.initialCount) + 1) * this.initialCount) * per;
    this.timerDueNs = deadline;
    this.timerHandle = this.opts.scheduler.at(deadline, () => this.counterExpired(deadline));
  }

  /**
   * Delivers a timer expiry that is already due in virtual time but whose callback has not
   * run yet. Timers fire when the run loop advances the clock, between CPU chunks, while
   * register reads see time move within a chunk; so a guest can reprogram the timer after
   * its count ran out and before the expiry was delivered. On hardware the interrupt was
   * raised when the count reached zero (SDM 11.5.4), so it must not be lost to the
   * rewrite: every change of the timer's registers calls this first. (Linux in APIC mode
   * with one CPU slept forever in its ATA probe: a one-shot expiry was cancelled by an LVT
   * timer write and never delivered.)
   */
  private catchUpTimer(): void {
    if (this.timerHandle === undefined || this.timerDueNs > this.opts.clock.nowNs()) return;
    this.timerHandle.cancel();
    this.timerHandle = undefined;
    if (this.timerMode === APIC_LVT_TIMER_TSCDEADLINE) this.deadlineExpired();
    else this.counterExpired(this.timerDueNs);
  }

  private counterExpired(deadline: number): void {
    this.timerHandle = undefined;
    this.countDelivered = true;
    this.deliverLvt(LVT_TIMER);
    if (this.timerMode !== APIC_LVT_TIMER_PERIODIC || this.initialCount === 0) return;
    const per = this.divisor * APIC_BUS_NS;
    let next = deadline + this.initialCount * per;
    const now = this.opts.clock.nowNs();
    if (next <= now) next += Math.ceil((now - next + 1) / (this.initialCount * per)) * this.initialCount * per; // late: skip
    this.timerDueNs = next;
    this.timerHandle = this.opts.scheduler.at(next, () => this.counterExpired(next));
  }

  private disarmDeadline(clearMsr: boolean): void {
    this.timerHandle?.cancel();
    this.timerHandle = undefined;
    this.tscDeadlineNs = -1;
    if (clearMsr) { this.tscDeadlineLo = 0; this.tscDeadlineHi = 0; }
  }

  private writeTscDeadline(lo: number, hi: number): void {
    this.catchUpTimer();
    if (this.timerMode !== APIC_LVT_TIMER_TSCDEADLINE) return; // ignored in other modes
    const tsc = this.opts.tsc;
    if (tsc === undefined) return;
    this.disarmDeadline(false);
    this.tscDeadlineLo = lo >>> 0;
    this.tscDeadlineHi = hi >>> 0;
    if (this.tscDeadlineLo === 0 && this.tscDeadlineHi === 0) return; // 0 disarms
    const deadlineTsc = this.tscDeadlineHi * 0x1_0000_0000 + this.tscDeadlineLo;
    const delta = deadlineTsc - tsc.read();
    if (delta <= 0) { this.deadlineExpired(); return; }
    const ns = Math.ceil((delta * 1e9) / tsc.hz);
    if (!(ns < 2 ** 52)) return; // centuries away: never fires within a run
    this.armDeadlineAt(this.opts.clock.nowNs() + ns);
  }

  private armDeadlineAt(ns: number): void {
    this.tscDeadlineNs = ns;
    this.timerDueNs = ns;
    this.timerHandle = this.opts.scheduler.at(ns, () => this.deadlineExpired());
  }

  private deadlineExpired(): void {
    this.timerHandle = undefined;
    this.tscDeadlineNs = -1;
    this.tscDeadlineLo = 0;
    this.tscDeadlineHi = 0;
    this.deliverLvt(LVT_TIMER);
  }

  // ------------------------------------------------------------------ MSRs

  /** @inheritdoc */
  readMsr(index: number, out: MsrValue): boolean {
    if (index === MSR_IA32_APIC_BASE) {
      out.lo = this.apicBaseLo >>> 0;
      out.hi = this.apicBaseHi;
      return true;
    }
    if (index === MSR_IA32_TSC_DEADLINE && this.tscDeadlineSupported) {
      const armed = this.timerMode === APIC_LVT_TIMER_TSCDEADLINE;
      out.lo = armed ? this.tscDeadlineLo : 0;
      out.hi = armed ? this.tscDeadlineHi : 0;
      return true;
    }
    return false;
  }

  /** @inheritdoc */
  writeMsr(index: number, lo: number, hi: number): boolean {
    lo >>>= 0; hi >>>= 0;
    if (index === MSR_IA32_TSC_DEADLINE && this.tscDeadlineSupported) {
      if (this.hardwareEnabled) this.writeTscDeadline(lo, hi);
      return true;
    }
    if (index !== MSR_IA32_APIC_BASE) return false;
    if ((lo & ~(APIC_BASE_LO_ADDR | APIC_BASE_EN | APIC_BASE_BSP)) !== 0 || (hi & ~APIC_BASE_HI_ADDR) !== 0) {
      this.misuse(`IA32_APIC_BASE write 0x${hi.toString(16)}_${lo.toString(16).padStart(8, '0')} sets reserved or x2APIC bits (#GP)`);
      return false;
    }
    const wasEnabled = this.hardwareEnabled;
    const oldBase = this.baseGpa;
    // BSP is read-only.
    this.apicBaseLo = ((lo & ~APIC_BASE_BSP) | (this.apicBaseLo & APIC_BASE_BSP)) >>> 0;
    this.apicBaseHi = hi;
    const enabled = this.hardwareEnabled;
    if (wasEnabled && !enabled) {
      // SDM 11.4.3: the CPU becomes APIC-less; re-enabling finds power-up state.
      this.resetRegisters(true);
    }
    if (wasEnabled !== enabled || oldBase !== this.baseGpa) this.opts.onBaseChange?.(this.baseGpa, enabled);
    return true;
  }

  // ------------------------------------------------------------------ reset and state

  private powerOn(): void {
    this.apicBaseLo = (APIC_DEFAULT_BASE | APIC_BASE_EN | (this.opts.bsp ? APIC_BASE_BSP : 0)) >>> 0;
    this.apicBaseHi = 0;
    this.apicIdReg = this.initialApicId;
    this.resetRegisters(false);
  }

  /** Power-up register state except IA32_APIC_BASE and (if `keepId`) the ID (SDM 11.4.7.1/3). */
  private resetRegisters(keepId: boolean): void {
    this.disarmDeadline(true);
    if (!keepId) this.apicIdReg = this.initialApicId;
    this.tpr = 0;
    this.ldr = 0;
    this.dfr = 0xffff_ffff;
    this.svr = 0xff;
    this.irr.fill(0); this.isr.fill(0); this.tmr.fill(0);
    this.extInt = false;
    this.esr = 0; this.esrPending = 0;
    this.icrLo = 0; this.icrHi = 0;
    this.lvt.fill(APIC_LVT_MASKED);
    // QEMU apic_reset_common: the BIOS would program the BSP's LINT0 for virtual wire.
    if (this.opts.bsp) this.lvt[LVT_LINT0] = APIC_DM.ExtINT << APIC_DM_SHIFT;
    this.tdcr = 0;
    this.initialCount = 0;
    this.countAtStart = 0;
    this.countDelivered = true;
    this.countStartNs = this.opts.clock.nowNs();
  }

  /** INIT reset (INIT IPI or INIT delivery): power-up state except APIC ID and base. */
  initReset(): void {
    this.resetRegisters(true);
  }

  /** @inheritdoc */
  reset(_kind: ResetKind): void {
    const wasEnabled = this.hardwareEnabled;
    const oldBase = this.baseGpa;
    this.powerOn();
    if (!wasEnabled || oldBase !== this.baseGpa) this.opts.onBaseChange?.(this.baseGpa, true);
  }

  /** @inheritdoc */
  saveState(): DeviceState {
    const now = this.opts.clock.nowNs();
    const counting = this.countAtStart !== 0 && this.currentCount() !== 0;
    return {
      v: 1,
      apicBaseLo: this.apicBaseLo >>> 0,
      apicBaseHi: this.apicBaseHi,
      apicId: this.apicIdReg,
      tpr: this.tpr,
      ldr: this.ldr >>> 0,
      dfr: this.dfr >>> 0,
      svr: this.svr,
      irr: [...this.irr],
      isr: [...this.isr],
      tmr: [...this.tmr],
      esr: this.esr,
      esrPending: this.esrPending,
      icrLo: this.icrLo,
      icrHi: this.icrHi >>> 0,
      lvt: Object.fromEntries(LVT_NAMES.map((name, n) => [name, this.lvt[n]! >>> 0])),
      tdcr: this.tdcr,
      initialCount: this.initialCount >>> 0,
      // The running count and how far into the current count we are, relative to now.
      currentCount: counting ? this.currentCount() : 0,
      countPhaseNs: counting ? this.elapsed(now).phaseNs : 0,
      tscDeadlineLo: this.tscDeadlineLo,
      tscDeadlineHi: this.tscDeadlineHi,
      tscDeadlineInNs: this.tscDeadlineNs < 0 ? -1 : Math.max(0, this.tscDeadlineNs - now),
      lint0: this.lint[0]!,
      lint1: this.lint[1]!,
      extInt: this.extInt,
    };
  }

  /** @inheritdoc */
  loadState(state: unknown): void {
    const where = this.id;
    if (typeof state !== 'object' || state === null || Array.isArray(state)) throw new Error(`${where}: state must be an object`);
    const s = state as Record<string, unknown>;
    if (s.v !== 1) throw new Error(`${where}: unsupported state version ${String(s.v)} (expected 1)`);
    const int = (o: Record<string, unknown>, k: string, min: number, max: number): number => {
      const x = o[k];
      if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) throw new Error(`${where}: state.${k} must be an integer in [${min}, ${max}], got ${JSON.stringify(x)}`);
      return x;
    };
    const u32 = (o: Record<string, unknown>, k: string, mask = 0xffff_ffff): number => {
      const x = int(o, k, 0, 0xffff_ffff);
      if ((x & ~mask) !== 0) throw new Error(`${where}: state.${k} has bits outside 0x${mask.toString(16)}`);
      return x;
    };
    const bool = (k: string): boolean => {
      const x = s[k];
      if (typeof x !== 'boolean') throw new Error(`${where}: state.${k} must be a boolean`);
      return x;
    };
    const reg256 = (k: string): number[] => {
      const x = s[k];
      if (!Array.isArray(x) || x.length !== 8 || !x.every((w) => typeof w === 'number' && Number.isInteger(w) && w >= 0 && w <= 0xffff_ffff)) {
        throw new Error(`${where}: state.${k} must be 8 dwords`);
      }
      return x as number[];
    };
    const apicBaseLo = u32(s, 'apicBaseLo', APIC_BASE_LO_ADDR | APIC_BASE_EN | APIC_BASE_BSP);
    if (((apicBaseLo & APIC_BASE_BSP) !== 0) !== this.opts.bsp) throw new Error(`${where}: state.apicBaseLo BSP bit does not match this CPU`);
    const apicBaseHi = u32(s, 'apicBaseHi', APIC_BASE_HI_ADDR);
    const apicId = int(s, 'apicId', 0, 0xff);
    const tpr = int(s, 'tpr', 0, 0xff);
    const ldr = u32(s, 'ldr', 0xff00_0000);
    const dfr = u32(s, 'dfr');
    if ((dfr & 0x0fff_ffff) !== 0x0fff_ffff) throw new Error(`${where}: state.dfr bits 27:0 must be ones`);
    const svr = u32(s, 'svr', SPIV_WRITABLE);
    const irr = reg256('irr'), isr = reg256('isr'), tmr = reg256('tmr');
    const esr = u32(s, 'esr', 0xff), esrPending = u32(s, 'esrPending', 0xff);
    const icrLo = u32(s, 'icrLo', ICR_LO_WRITABLE), icrHi = u32(s, 'icrHi', 0xff00_0000);
    const lvtObj = s.lvt;
    if (typeof lvtObj !== 'object' || lvtObj === null || Array.isArray(lvtObj)) throw new Error(`${where}: state.lvt must be an object`);
    const lvt = LVT_NAMES.map((name, n) => {
      let mask: number = LVT_WRITABLE[n]!;
      if (n === LVT_TIMER && this.tscDeadlineSupported) mask |= APIC_LVT_TIMER_TSCDEADLINE;
      if (n === 3 || n === 4) mask |= APIC_LVT_REMOTE_IRR;
      return u32(lvtObj as Record<string, unknown>, name, mask);
    });
    if ((lvt[LVT_TIMER]! & APIC_LVT_TIMER_MODE) === APIC_LVT_TIMER_MODE) throw new Error(`${where}: state.lvt.timer has the reserved mode 11b`);
    const tdcr = u32(s, 'tdcr', 0xb);
    const initialCount = u32(s, 'initialCount');
    const currentCount = u32(s, 'currentCount');
    const countPhaseNs = int(s, 'countPhaseNs', 0, divisorOf(tdcr) * APIC_BUS_NS - 1);
    const tscDeadlineLo = u32(s, 'tscDeadlineLo'), tscDeadlineHi = u32(s, 'tscDeadlineHi');
    const tscDeadlineInNs = int(s, 'tscDeadlineInNs', -1, 2 ** 52);
    const lint0 = bool('lint0'), lint1 = bool('lint1'), extInt = bool('extInt');
    const tscMode = (lvt[LVT_TIMER]! & APIC_LVT_TIMER_MODE) === APIC_LVT_TIMER_TSCDEADLINE;
    if (!tscMode && (currentCount !== 0) && currentCount > Math.max(initialCount, 0) && (lvt[LVT_TIMER]! & APIC_LVT_TIMER_MODE) === APIC_LVT_TIMER_PERIODIC) {
      throw new Error(`${where}: state.currentCount exceeds initialCount in periodic mode`);
    }
    if (tscMode ? currentCount !== 0 : tscDeadlineInNs !== -1 || tscDeadlineLo !== 0 || tscDeadlineHi !== 0) {
      throw new Error(`${where}: state mixes counter and TSC-deadline timer state`);
    }

    // Validated: apply.
    this.timerHandle?.cancel();
    this.timerHandle = undefined;
    const now = this.opts.clock.nowNs();
    const wasEnabled = this.hardwareEnabled;
    const oldBase = this.baseGpa;
    this.apicBaseLo = apicBaseLo; this.apicBaseHi = apicBaseHi;
    this.apicIdReg = apicId; this.tpr = tpr; this.ldr = ldr; this.dfr = dfr; this.svr = svr;
    this.irr.set(irr); this.isr.set(isr); this.tmr.set(tmr);
    this.esr = esr; this.esrPending = esrPending;
    this.icrLo = icrLo; this.icrHi = icrHi;
    this.lvt.set(lvt);
    this.tdcr = tdcr;
    this.initialCount = initialCount;
    this.countAtStart = currentCount;
    this.countDelivered = currentCount === 0;
    this.countStartNs = now - (currentCount !== 0 ? countPhaseNs : 0);
    this.tscDeadlineLo = tscDeadlineLo; this.tscDeadlineHi = tscDeadlineHi;
    this.tscDeadlineNs = -1;
    this.lint[0] = lint0; this.lint[1] = lint1;
    this.extInt = extInt;
    // Post-load: re-arm the timers relative to the current virtual time.
    if (tscMode) { if (tscDeadlineInNs >= 0) this.armDeadlineAt(now + tscDeadlineInNs); }
    else this.armCounter();
    if (wasEnabled !== this.hardwareEnabled || oldBase !== this.baseGpa) this.opts.onBaseChange?.(this.baseGpa, this.hardwareEnabled);
  }
}
