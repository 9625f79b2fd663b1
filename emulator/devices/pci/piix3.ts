/**
 * Piix3: function 0 of the Intel 82371SB PIIX3, the PCI-to-ISA bridge 8086:7000 at
 * 00:01.0 of QEMU's "pc" machine, reduced to what firmware and OSes use there.
 *
 * Follows the Intel 82371FB/SB (PIIX/PIIX3) datasheet: section 2.2.11 PIRQRC[A:D]
 * at 60h-63h (bit 7 IRQROUTEEN#: 1 = not routed; bits 3:0 the ISA IRQ; IRQ 0, 1, 2, 8
 * and 13 are reserved and route nowhere), and 2.5 the Reset Control Register at
 * 0CF9h (bit 1 SRST system reset, bit 2 RCPU: writing 1 resets). Power-on values of
 * the other registers follow QEMU's hw/isa/piix.c so firmware sees the same bytes.
 * The slot/pin -> PIRQ swizzle is QEMU pc's pci_slot_get_pirq, which SeaBIOS
 * (pci_slot_get_irq) and QEMU's ACPI _PRT assume.
 *
 * PCI INTx levels arrive per PIRQ (from PciBus) and leave as ISA IRQ levels through
 * the injected `setIsaIrq`; several PIRQs on one ISA IRQ are wire-ORed.
 * Left out: the ISA bus itself (DMA, PIC, PIT, RTC live in their own devices), ELCR
 * (owned by the i8259 model), APIC chip select, the top-of-memory and mouse/serial
 * IRQ registers (kept as plain storage), IDE/USB functions (own files).
 */
import { type GuestLog, PciFunction } from './pci-function.js';

/** PIRQRC[A] register offset; B, C, D follow. */
export const PIIX_PIRQRC = 0x60;
/** Number of PCI interrupt router inputs. */
export const PIIX_NUM_PIRQS = 4;
/** PIRQRC bit 7: routing disabled. */
export const PIRQ_ROUTE_DISABLE = 0x80;

/** RCR bits. */
export const RCR_SRST = 0x02;
export const RCR_RCPU = 0x04;

/** ISA IRQs a PIRQ may be routed to (datasheet: 0, 1, 2, 8, 13 are reserved). */
const ROUTABLE_IRQS = 0b1101_1110_1111_1000;

/**
 * QEMU pc's PCI slot swizzle: PIRQ index (0 = PIRQA) for INTx `pin` (0 = INTA#) of a
 * function in device slot `slot`: (pin + slot - 1) mod 4.
 */
export function piix3SlotToPirq(slot: number, pin: number): number {
  return (pin + slot - 1) & 3;
}

/** Construction options. */
export interface Piix3Options {
  readonly id?: string;
  /** Drives ISA IRQ `irq` (0..15) of the PIC/IOAPIC inputs. */
  readonly setIsaIrq: (irq: number, level: boolean) => void;
  /** Told when PIRQ `pirq`'s routing changes (e.g. to reprogram KVM's irq routing). */
  readonly onPirqRouteChange?: (pirq: number, isaIrq: number | null) => void;
  /** A guest reset through 0CF9h; `hard` when SRST was set. */
  readonly onResetRequest?: (hard: boolean) => void;
  readonly log?: GuestLog;
}

/** The PIIX3 ISA bridge function. */
export class Piix3 extends PciFunction {
  /** The Reset Control Register at 0CF9h (hand it to PciHost as `resetControl`). */
  readonly resetControl: { read(): number; write(value: number): void };
  private readonly setIsaIrq: (irq: number, level: boolean) => void;
  private readonly onPirqRouteChange: ((pirq: number, isaIrq: number | null) => void) | undefined;
  private readonly onResetRequest: ((hard: boolean) => void) | undefined;
  private readonly pirqLevels = [false, false, false, false];
  private readonly reportedRoute: Array<number | null> = [null, null, null, null];
  /** Bit k set: we currently drive ISA IRQ k high. */
  private driven = 0;
  private rcr = 0;

  constructor(opts: Piix3Options) {
    super({
      id: opts.id ?? 'piix3',
      vendorId: 0x8086, deviceId: 0x7000, revision: 0x00, classCode: 0x060100,
      log: opts.log,
    });
    this.setIsaIrq = opts.setIsaIrq;
    this.onPirqRouteChange = opts.onPirqRouteChange;
    this.onResetRequest = opts.onResetRequest;
    this.resetControl = {
      read: () => this.rcr,
      write: (v) => this.writeRcr(v),
    };
    // Power-on values as QEMU 7.2 presents them after reset (piix3_reset, then the
    // generic PCI reset clears the writable Command bits, so Command reads 0).
    this.setDefault(0x06, 2, 0x0200);
    this.setDefault(0x4c, 1, 0x4d);
    this.setDefault(0x4e, 1, 0x03);
    for (let i = 0; i < PIIX_NUM_PIRQS; i++) {
      this.setDefault(PIIX_PIRQRC + i, 1, PIRQ_ROUTE_DISABLE);
      this.setMasks(PIIX_PIRQRC + i, 1, 0x8f);
    }
    this.setDefault(0x69, 1, 0x02);
    this.setDefault(0x70, 1, 0x80);
    this.setDefault(0x76, 1, 0x0c);
    this.setDefault(0x77, 1, 0x0c);
    this.setDefault(0x78, 1, 0x02);
    this.setDefault(0xa0, 1, 0x08);
    this.setDefault(0xa8, 1, 0x0f);
  }

  /** The ISA IRQ PIRQ `pirq` (0 = PIRQA) is routed to, or null. */
  routePirq(pirq: number): number | null {
    if (!Number.isInteger(pirq) || pirq < 0 || pirq >= PIIX_NUM_PIRQS) return null;
    const v = this.reg8(PIIX_PIRQRC + pirq);
    if (v & PIRQ_ROUTE_DISABLE) return null;
    const irq = v & 0x0f;
    return (ROUTABLE_IRQS >> irq) & 1 ? irq : null;
  }

  /** Input from the PCI bus: the wired-OR level of PIRQ `pirq` changed. */
  setPirqLevel(pirq: number, level: boolean): void {
    if (!Number.isInteger(pirq) || pirq < 0 || pirq >= PIIX_NUM_PIRQS) {
      throw new RangeError(`Piix3: no PIRQ ${pirq}`);
    }
    this.pirqLevels[pirq] = level;
    this.updateIsaLevels();
  }

  protected override onConfigUpdated(first: number, last: number): void {
    if (first > PIIX_PIRQRC + 3 || last < PIIX_PIRQRC) return;
    for (let p = 0; p < PIIX_NUM_PIRQS; p++) {
      const v = this.reg8(PIIX_PIRQRC + p);
      const route = this.routePirq(p);
      if (!(v & PIRQ_ROUTE_DISABLE) && route === null) {
        this.misuse(`PIRQ${'ABCD'[p]} routed to reserved IRQ ${v & 0x0f}; treated as not routed`);
      }
      if (route !== this.reportedRoute[p]) {
        this.reportedRoute[p] = route;
        this.onPirqRouteChange?.(p, route);
      }
    }
    this.updateIsaLevels();
  }

  protected override resetDevice(): void {
    this.rcr = 0;
  }

  private updateIsaLevels(): void {
    let want = 0;
    for (let p = 0; p < PIIX_NUM_PIRQS; p++) {
      if (!this.pirqLevels[p]) continue;
      const irq = this.routePirq(p);
      if (irq !== null) want |= 1 << irq;
    }
    const changed = want ^ this.driven;
    if (changed === 0) return;
    this.driven = want;
    for (let irq = 0; irq < 16; irq++) {
      if ((changed >> irq) & 1) this.setIsaIrq(irq, ((want >> irq) & 1) === 1);
    }
  }

  private writeRcr(v: number): void {
    if (v & RCR_RCPU) {
      this.onResetRequest?.((v & RCR_SRST) !== 0);
      return;
    }
    this.rcr = v & RCR_SRST;
  }

  /** PCI state plus the RCR. */
  override saveState(): { v: 1; config: string; intx: boolean; rcr: number } {
    return { ...this.savePciState(), rcr: this.rcr };
  }

  /** Validates, then applies, a state from `saveState`. */
  override loadState(state: unknown): void {
    const p = this.parsePciState(state);
    const rcr = (state as Record<string, unknown>)['rcr'];
    if (rcr !== 0 && rcr !== RCR_SRST) throw new TypeError(`${this.id}: rcr must be 0 or 2`);
    this.rcr = rcr;
    this.applyPciState(p);
  }
}
