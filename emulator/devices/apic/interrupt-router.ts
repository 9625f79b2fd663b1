/**
 * The interrupt routing glue between the 8259 pair, the I/O APIC, MSI writers and the
 * local APICs: the APIC bus of a machine with N CPUs, and the INTR pin of each CPU.
 *
 * Follows: Intel SDM Vol. 3A chapter 11: 11.6.1 ICR (shorthands; INIT level de-assert
 * goes to all APICs and only synchronises arbitration IDs), 11.6.2 destination modes
 * (matching is done by each LocalApic), 11.6.2.4 lowest-priority delivery (lowest
 * arbitration priority wins; ties go to the first APIC), 11.11 message signalled
 * interrupts (address 0xFEExxxxx: destination ID 19:12, RH bit 3, DM bit 2; data:
 * vector 7:0, delivery mode 10:8, level 14, trigger mode 15); MultiProcessor
 * Specification 1.4 3.6.2.2 virtual wire mode (the 8259's INTR reaches the BSP through
 * LINT0 programmed as ExtINT, or directly while the local APIC is hardware-disabled).
 * As QEMU (target/i386 cpu_get_pic_interrupt): a local APIC interrupt is taken before
 * the 8259's; the 8259 is the source only for the BSP (the first APIC added).
 * The destination-mode bit of an MSI is honoured whatever RH says (as QEMU).
 * Leaves out: focus-processor checking for lowest priority, the APIC bus arbitration
 * timing, SMM (SMI is counted and reported through `onSmi`), interrupt remapping.
 */
import type { InterruptSource } from '../../cpu/backend.js';
import type { IoapicMessage } from '../ioapic/ioapic.js';
import type { ApicBus, ApicMessage, CpuSignal, LocalApic } from './lapic.js';
import { APIC_DM, APIC_SHORTHAND } from './lapic.js';

/** MSI address bits (SDM 11.11.1). */
export const MSI_ADDR_BASE_MASK = 0xfff0_0000;
export const MSI_ADDR_BASE = 0xfee0_0000;
export const MSI_ADDR_DEST_ID_SHIFT = 12;
export const MSI_ADDR_REDIRECTION_HINT = 1 << 3;
export const MSI_ADDR_DEST_MODE_LOGICAL = 1 << 2;
/** MSI data bits (SDM 11.11.2). */
export const MSI_DATA_VECTOR_MASK = 0xff;
export const MSI_DATA_DELIVERY_MODE_SHIFT = 8;
export const MSI_DATA_LEVEL_ASSERT = 1 << 14;
export const MSI_DATA_TRIGGER_LEVEL = 1 << 15;

/** Dependencies of the router: what it signals to the CPUs and the machine. */
export interface InterruptRouterOptions {
  /** The 8259 pair's INTR/INTA, wired to the BSP's LINT0. */
  pic?: InterruptSource;
  /** NMI for the CPU whose initial APIC ID is `apicId`: the board calls its CpuBackend.nmi(). */
  onNmi: (apicId: number) => void;
  /** INIT received (the APIC has already INIT-reset itself): the CPU enters wait-for-SIPI (SMP). */
  onInit?: (apicId: number) => void;
  /** STARTUP IPI: the CPU starts real-mode execution at vector << 12 (SMP). */
  onStartup?: (apicId: number, vector: number) => void;
  /** SMI received (no SMM: informational). */
  onSmi?: (apicId: number) => void;
  /** A new interrupt became deliverable to the CPU with `apicId`: kick/wake it. */
  onInterruptPending: (apicId: number) => void;
  /** Logs guest misuse (rate-limit there). */
  log?: (message: string) => void;
}

/** The INTR pin of one CPU: its local APIC, plus the 8259 for the BSP. */
class CpuInterruptSource implements InterruptSource {
  constructor(private readonly router: InterruptRouter, private readonly lapic: LocalApic, private readonly isBsp: boolean) {}

  /** The 8259 reaches this CPU's INTR (APIC hardware-disabled, or virtual wire). */
  private picRouted(): boolean {
    return this.isBsp && (!this.lapic.hardwareEnabled || this.lapic.acceptsExtInt);
  }

  hasInterrupt(): boolean {
    if (this.lapic.hasInterrupt()) return true;
    const pic = this.router.pic;
    if (pic === undefined) return false;
    // An ExtINT message runs an INTA cycle whatever the 8259 holds by then (maybe IRQ7).
    return this.lapic.extIntRequested || (this.picRouted() && pic.hasInterrupt());
  }

  acknowledge(): number {
    if (this.lapic.hasInterrupt()) return this.lapic.acknowledge();
    const pic = this.router.pic;
    if (pic !== undefined && (this.lapic.extIntRequested || this.picRouted())) {
      this.lapic.extIntAcknowledged();
      return pic.acknowledge(); // the 8259 answers its own spurious IRQ7
    }
    return this.lapic.acknowledge(); // the APIC's spurious vector
  }
}

/**
 * Routes interrupt messages to local APICs and presents each CPU's INTR pin. Construct
 * it first, pass it as `bus` to each LocalApic, then `addLapic` them (the first is the BSP).
 * The router itself is the BSP's InterruptSource.
 */
export class InterruptRouter implements ApicBus, InterruptSource {
  /** The 8259 pair (BSP LINT0), if any. */
  readonly pic: InterruptSource | undefined;
  /** MSI writes outside 0xFEExxxxx, reserved delivery modes and similar guest errors. */
  misuseCount = 0;
  /** Messages that matched no local APIC. */
  unroutedCount = 0;
  private readonly apics: LocalApic[] = [];
  private readonly sources: CpuInterruptSource[] = [];

  constructor(private readonly opts: InterruptRouterOptions) {
    this.pic = opts.pic;
  }

  /** Adds the local APIC of the next CPU (the first one added is the BSP). Throws on a duplicate APIC ID. */
  addLapic(lapic: LocalApic): void {
    if (this.apics.some((a) => a.initialApicId === lapic.initialApicId)) throw new Error(`interrupt-router: duplicate APIC id ${lapic.initialApicId}`);
    this.apics.push(lapic);
    this.sources.push(new CpuInterruptSource(this, lapic, this.apics.length === 1));
  }

  /** The local APICs, in CPU order. */
  get lapics(): readonly LocalApic[] {
    return this.apics;
  }

  /** The InterruptSource to give CPU number `cpuIndex` (0 = BSP). */
  cpu(cpuIndex: number): InterruptSource {
    const s = this.sources[cpuIndex];
    if (s === undefined) throw new RangeError(`interrupt-router: no CPU ${cpuIndex}`);
    return s;
  }

  private misuse(msg: string): void {
    this.misuseCount++;
    this.opts.log?.(`interrupt-router: ${msg}`);
  }

  // ------------------------------------------------------------------ BSP INTR

  /** @inheritdoc (for the BSP) */
  hasInterrupt(): boolean {
    return this.sources.length > 0 ? this.sources[0]!.hasInterrupt() : this.pic?.hasInterrupt() ?? false;
  }

  /** @inheritdoc (for the BSP) */
  acknowledge(): number {
    if (this.sources.length > 0) return this.sources[0]!.acknowledge();
    if (this.pic === undefined) throw new Error('interrupt-router: acknowledge with no interrupt controller');
    return this.pic.acknowledge();
  }

  /**
   * The 8259's INTR output changed (wire the I8259's `onIntr` here): drives the BSP's
   * LINT0 and, when the 8259 reaches the CPU, reports the pending interrupt.
   */
  setPicIntr(level: boolean): void {
    const bsp = this.apics[0];
    if (bsp === undefined) {
      if (level) this.opts.onInterruptPending(0);
      return;
    }
    bsp.setLint(0, level);
    if (level && !bsp.hardwareEnabled) this.opts.onInterruptPending(bsp.initialApicId);
  }

  // ------------------------------------------------------------------ message sources

  /** An I/O APIC redirection-table message (wire the Ioapic's `deliver` here). */
  deliverFromIoapic(msg: IoapicMessage): void {
    this.route({
      vector: msg.vector, deliveryMode: msg.deliveryMode, destMode: msg.destMode, dest: msg.dest,
      trigger: msg.trigger, assert: true, shorthand: APIC_SHORTHAND.None,
    }, undefined);
  }

  /**
   * A message-signalled interrupt: a DWORD write of `data` to guest-physical `address`
   * (the board forwards writes to 0xFEE00000-0xFEEFFFFF from PCI masters here).
   */
  deliverMsi(address: number, data: number): void {
    address >>>= 0;
    if ((address & MSI_ADDR_BASE_MASK) >>> 0 !== MSI_ADDR_BASE) {
      this.misuse(`MSI to 0x${address.toString(16)} (not 0xFEExxxxx) dropped`);
      return;
    }
    const mode = (data >> MSI_DATA_DELIVERY_MODE_SHIFT) & 7;
    const level = (data & MSI_DATA_TRIGGER_LEVEL) !== 0;
    if (level && !(data & MSI_DATA_LEVEL_ASSERT)) return; // a de-assert message carries no interrupt
    this.route({
      vector: data & MSI_DATA_VECTOR_MASK,
      deliveryMode: mode,
      destMode: address & MSI_ADDR_DEST_MODE_LOGICAL ? 'logical' : 'physical',
      dest: (address >>> MSI_ADDR_DEST_ID_SHIFT) & 0xff,
      trigger: level ? 'level' : 'edge',
      assert: true,
      shorthand: APIC_SHORTHAND.None,
    }, undefined);
  }

  // ------------------------------------------------------------------ ApicBus

  /** @inheritdoc */
  sendIpi(from: LocalApic, msg: ApicMessage): void {
    this.route(msg, from);
  }

  /** @inheritdoc */
  cpuSignal(apic: LocalApic, signal: CpuSignal, vector: number): void {
    const id = apic.initialApicId;
    switch (signal) {
      case 'nmi': this.opts.onNmi(id); return;
      case 'init': this.opts.onInit?.(id); return;
      case 'startup': this.opts.onStartup?.(id, vector); return;
      case 'smi': this.opts.onSmi?.(id); return;
    }
  }

  /** @inheritdoc */
  interruptPending(apic: LocalApic): void {
    this.opts.onInterruptPending(apic.initialApicId);
  }

  // ------------------------------------------------------------------ routing

  /** The APICs a message reaches (SDM 11.6.1 shorthands, 11.6.2 destinations). */
  private targets(msg: ApicMessage, from: LocalApic | undefined): LocalApic[] {
    switch (msg.shorthand) {
      case APIC_SHORTHAND.Self: return from !== undefined && from.hardwareEnabled ? [from] : [];
      case APIC_SHORTHAND.AllIncludingSelf: return this.apics.filter((a) => a.hardwareEnabled);
      case APIC_SHORTHAND.AllExcludingSelf: return this.apics.filter((a) => a !== from && a.hardwareEnabled);
      default: return this.apics.filter((a) => a.matchesDestination(msg.dest, msg.destMode));
    }
  }

  private route(msg: ApicMessage, from: LocalApic | undefined): void {
    if (msg.deliveryMode === APIC_DM.INIT && !msg.assert && msg.trigger === 'level') {
      // INIT level de-assert: arbitration-ID synchronisation only (nothing to model).
      return;
    }
    if (msg.deliveryMode === 3) { this.misuse('message with reserved delivery mode 3 dropped'); return; }
    let targets = this.targets(msg, from);
    if (targets.length === 0) {
      this.unroutedCount++;
      return;
    }
    if (msg.deliveryMode === APIC_DM.LowestPriority && targets.length > 1) {
      let best = targets[0]!;
      for (const a of targets) if (a.arbitrationPriority() < best.arbitrationPriority()) best = a;
      targets = [best];
    }
    for (const a of targets) a.receive(msg.deliveryMode, msg.vector, msg.trigger);
  }
}
