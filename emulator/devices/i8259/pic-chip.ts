/**
 * One Intel 8259A programmable interrupt controller: registers, initialisation sequence,
 * priority resolution and end-of-interrupt handling. The master/slave pair and the
 * INTA cycle live in i8259.ts.
 *
 * Follows: Intel 8259A datasheet (order no. 231468), "Interrupt Sequence", "Initialization
 * Command Words" (ICW1-ICW4), "Operation Command Words" (OCW1-OCW3), "Fully Nested Mode",
 * "Automatic Rotation", "Specific Rotation", "Special Mask Mode", "Poll Command",
 * "Edge and Level Triggered Modes"; behaviour matches QEMU hw/intc/i8259.c, which Linux,
 * Windows and SeaBIOS are known to run on.
 * Leaves out: MCS-80/85 mode (ICW4 bit 0 = 0; the vector is formed as in 8086 mode),
 * buffered mode (ICW4 BUF/M-S: master/slave roles are fixed by wiring), and the ICW1
 * call-address interval (8080 only).
 */
import { bool, int, obj } from '../state-check.js';

/** ICW1 is recognised by A0=0 and bit 4 set. */
export const ICW1_INIT = 0x10;
/** ICW1: ICW4 needed. */
export const ICW1_IC4 = 0x01;
/** ICW1: single mode (no cascade, no ICW3). */
export const ICW1_SNGL = 0x02;
/** ICW1: level-triggered mode for all inputs. */
export const ICW1_LTIM = 0x08;
/** ICW4: 8086/8088 mode. */
export const ICW4_UPM = 0x01;
/** ICW4: automatic end of interrupt. */
export const ICW4_AEOI = 0x02;
/** ICW4: special fully nested mode. */
export const ICW4_SFNM = 0x10;
/** OCW3 is recognised by A0=0, bit 4 clear and bit 3 set. */
export const OCW3_SEL = 0x08;
/** OCW3: read register command (with RIS). */
export const OCW3_RR = 0x02;
/** OCW3: read ISR (1) or IRR (0). */
export const OCW3_RIS = 0x01;
/** OCW3: poll command. */
export const OCW3_P = 0x04;
/** OCW3: enable special mask mode change (with SMM). */
export const OCW3_ESMM = 0x40;
/** OCW3: special mask mode. */
export const OCW3_SMM = 0x20;

/** Named fields of one chip's state. */
export interface PicChipState {
  irr: number;
  imr: number;
  isr: number;
  /** Input line levels as last seen (edge detection). */
  lastIrr: number;
  /** IR level with the lowest priority is (priorityAdd - 1) & 7. */
  priorityAdd: number;
  /** Vector base (T7-T3) from ICW2. */
  irqBase: number;
  readIsr: boolean;
  poll: boolean;
  specialMask: boolean;
  /** 0: operational; 1: expecting ICW2; 2: ICW3; 3: ICW4. */
  initState: number;
  autoEoi: boolean;
  rotateOnAutoEoi: boolean;
  specialFullyNested: boolean;
  init4: boolean;
  singleMode: boolean;
  /** ICW1 LTIM: every input level-triggered. */
  ltim: boolean;
  /** Edge/level control register (PIIX ELCR): 1 = level-triggered input. */
  elcr: number;
}

/** One 8259A. Not a Device on its own: the pair saves both chips. */
export class PicChip {
  irr = 0;
  imr = 0;
  isr = 0;
  lastIrr = 0;
  priorityAdd = 0;
  irqBase = 0;
  readIsr = false;
  poll = false;
  specialMask = false;
  initState = 0;
  autoEoi = false;
  rotateOnAutoEoi = false;
  specialFullyNested = false;
  init4 = false;
  singleMode = false;
  ltim = false;
  elcr = 0;
  /** Current level of the INT output pin. */
  output = false;

  /**
   * @param isMaster the master ignores its cascade input's in-service bit in SFNM
   * @param elcrMask which ELCR bits are writable (PIIX: 0xf8 master, 0xde slave)
   * @param onOutput called when the INT pin changes
   * @param log optional logger for unsupported guest programming
   */
  constructor(
    private readonly isMaster: boolean,
    /** Writable ELCR bits. */
    readonly elcrMask: number,
    private readonly onOutput: (level: boolean) => void,
    private readonly log?: (message: string) => void,
  ) {}

  /** Inputs currently treated as level-triggered. */
  private levelMask(): number {
    return this.ltim ? 0xff : this.elcr;
  }

  /** Drives input IRn. */
  setInput(n: number, level: boolean): void {
    const mask = 1 << n;
    if (this.levelMask() & mask) {
      if (level) { this.irr |= mask; this.lastIrr |= mask; } else { this.irr &= ~mask; this.lastIrr &= ~mask; }
    } else if (level) {
      if ((this.lastIrr & mask) === 0) this.irr |= mask;
      this.lastIrr |= mask;
    } else {
      this.lastIrr &= ~mask;
    }
    this.update();
  }

  /** Rotated priority of the highest set bit of `mask` (0 = highest), 8 if none. */
  private priorityOf(mask: number): number {
    if (mask === 0) return 8;
    let p = 0;
    while ((mask & (1 << ((p + this.priorityAdd) & 7))) === 0) p++;
    return p;
  }

  /** The IR level that would be delivered now, or -1. */
  pending(): number {
    const p = this.priorityOf(this.irr & ~this.imr);
    if (p === 8) return -1;
    let inService = this.isr;
    // Special mask mode: masked levels do not inhibit lower-priority requests.
    if (this.specialMask) inService &= ~this.imr;
    // Special fully nested mode: a slave may interrupt while its cascade level is in service.
    if (this.specialFullyNested && this.isMaster) inService &= ~(1 << 2);
    return p < this.priorityOf(inService) ? (p + this.priorityAdd) & 7 : -1;
  }

  /** Recomputes the INT pin. */
  update(): void {
    const out = this.pending() >= 0;
    if (out !== this.output) {
      this.output = out;
      this.onOutput(out);
    }
  }

  /** The chip's part of an INTA cycle for level `irq`. */
  intack(irq: number): void {
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.priorityAdd = (irq + 1) & 7;
    } else {
      this.isr |= 1 << irq;
    }
    // A level-triggered request stays in IRR while its line is high.
    if (!(this.levelMask() & (1 << irq))) this.irr &= ~(1 << irq);
    this.update();
  }

  /** Clears everything ICW1 clears (datasheet: "Initialization Command Words"); ELCR survives. */
  private initReset(): void {
    this.lastIrr = 0;
    this.irr &= this.elcr;
    this.imr = 0;
    this.isr = 0;
    this.priorityAdd = 0;
    this.irqBase = 0;
    this.readIsr = false;
    this.poll = false;
    this.specialMask = false;
    this.initState = 0;
    this.autoEoi = false;
    this.rotateOnAutoEoi = false;
    this.specialFullyNested = false;
    this.init4 = false;
    this.singleMode = false;
    this.ltim = false;
    this.update();
  }

  /** Device reset: as ICW1, plus ELCR and IRR cleared. */
  reset(): void {
    this.elcr = 0;
    this.irr = 0;
    this.initReset();
  }

  /** A write to the command port (A0=0) or data port (A0=1). */
  write(a0: number, val: number): void {
    if (a0 === 0) this.writeCommand(val);
    else this.writeData(val);
  }

  private writeCommand(val: number): void {
    if (val & ICW1_INIT) {
      this.initReset();
      this.initState = 1;
      this.init4 = (val & ICW1_IC4) !== 0;
      this.singleMode = (val & ICW1_SNGL) !== 0;
      this.ltim = (val & ICW1_LTIM) !== 0;
      return;
    }
    if (val & OCW3_SEL) {
      if (val & OCW3_P) this.poll = true;
      if (val & OCW3_RR) this.readIsr = (val & OCW3_RIS) !== 0;
      if (val & OCW3_ESMM) this.specialMask = (val & OCW3_SMM) !== 0;
      this.update();
      return;
    }
    // OCW2: R SL EOI in bits 7-5, L2-L0 in bits 2-0.
    const cmd = val >> 5;
    switch (cmd) {
      case 0: // rotate in AEOI mode: clear
      case 4: // rotate in AEOI mode: set
        this.rotateOnAutoEoi = cmd === 4;
        break;
      case 1: // non-specific EOI
      case 5: { // rotate on non-specific EOI
        const p = this.priorityOf(this.isr);
        if (p !== 8) {
          const irq = (p + this.priorityAdd) & 7;
          this.isr &= ~(1 << irq);
          if (cmd === 5) this.priorityAdd = (irq + 1) & 7;
          this.update();
        }
        break;
      }
      case 3: // specific EOI
        this.isr &= ~(1 << (val & 7));
        this.update();
        break;
      case 6: // set priority: L2-L0 becomes the lowest
        this.priorityAdd = (val + 1) & 7;
        this.update();
        break;
      case 7: // rotate on specific EOI
        this.isr &= ~(1 << (val & 7));
        this.priorityAdd = ((val & 7) + 1) & 7;
        this.update();
        break;
      default: // 2: no operation
        break;
    }
  }

  private writeData(val: number): void {
    switch (this.initState) {
      case 0: // OCW1
        this.imr = val;
        this.update();
        break;
      case 1: // ICW2
        this.irqBase = val & 0xf8;
        this.initState = this.singleMode ? (this.init4 ? 3 : 0) : 2;
        break;
      case 2: // ICW3: cascade wiring is fixed by the board
        this.initState = this.init4 ? 3 : 0;
        break;
      default: // ICW4
        if ((val & ICW4_UPM) === 0) this.log?.('i8259: ICW4 selects MCS-80/85 mode; treated as 8086 mode');
        this.specialFullyNested = (val & ICW4_SFNM) !== 0;
        this.autoEoi = (val & ICW4_AEOI) !== 0;
        this.initState = 0;
        break;
    }
  }

  /** A read of the command port (IRR/ISR, or poll) or the data port (IMR). */
  read(a0: number): number {
    if (this.poll) {
      // Poll command: the read is an INTA without the vector (datasheet "Poll Command").
      this.poll = false;
      const irq = this.pending();
      if (irq < 0) return 0;
      this.intack(irq);
      return irq | 0x80;
    }
    if (a0 === 0) return this.readIsr ? this.isr : this.irr;
    return this.imr;
  }

  /** Plain state. */
  save(): PicChipState {
    return {
      irr: this.irr, imr: this.imr, isr: this.isr, lastIrr: this.lastIrr, priorityAdd: this.priorityAdd,
      irqBase: this.irqBase, readIsr: this.readIsr, poll: this.poll, specialMask: this.specialMask,
      initState: this.initState, autoEoi: this.autoEoi, rotateOnAutoEoi: this.rotateOnAutoEoi,
      specialFullyNested: this.specialFullyNested, init4: this.init4, singleMode: this.singleMode,
      ltim: this.ltim, elcr: this.elcr,
    };
  }

  /** Validates untrusted data into a PicChipState without touching the chip. */
  static validate(where: string, raw: unknown): PicChipState {
    const s = obj(where, raw);
    const b = (k: string) => int(where, s, k, 0, 0xff);
    return {
      irr: b('irr'), imr: b('imr'), isr: b('isr'), lastIrr: b('lastIrr'),
      priorityAdd: int(where, s, 'priorityAdd', 0, 7), irqBase: b('irqBase'),
      readIsr: bool(where, s, 'readIsr'), poll: bool(where, s, 'poll'), specialMask: bool(where, s, 'specialMask'),
      initState: int(where, s, 'initState', 0, 3), autoEoi: bool(where, s, 'autoEoi'),
      rotateOnAutoEoi: bool(where, s, 'rotateOnAutoEoi'), specialFullyNested: bool(where, s, 'specialFullyNested'),
      init4: bool(where, s, 'init4'), singleMode: bool(where, s, 'singleMode'), ltim: bool(where, s, 'ltim'),
      elcr: b('elcr'),
    };
  }

  /** Applies a validated state; the output pin is recomputed without notifying (the pair syncs it). */
  apply(s: PicChipState): void {
    Object.assign(this, s);
    this.elcr &= this.elcrMask;
    this.output = this.pending() >= 0;
  }
}
