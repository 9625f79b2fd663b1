/**
 * The PC/AT interrupt controller pair: two Intel 8259A chips, the slave's INT output
 * cascaded into the master's IR2, as wired in the IBM PC/AT and the PIIX south bridge.
 * Exposes the CPU's INTR pin as an InterruptSource and 16 IRQ inputs.
 *
 * Follows: Intel 8259A datasheet (231468), "Cascading" and "Interrupt Sequence" (the
 * INTA cycle: the master resolves, the slave supplies the vector when the master's
 * winning level is the cascade input); spurious interrupts read IR7 of the chip that saw
 * its request vanish (vector base+7, no ISR bit set), as in the datasheet's note on
 * IR7 default and QEMU hw/intc/i8259.c pic_read_irq. Chip details: pic-chip.ts. ELCR:
 * elcr.ts.
 * Leaves out: more than one slave, buffered mode, MCS-80/85 mode; IRQ2 input from
 * devices (it is the cascade; the board routes IRQ9 for it as on the PC/AT).
 */
import type { InterruptSource } from '../../cpu/backend.js';
import type { AccessSize, Device, DeviceState, IoHandler, IrqLine, ResetKind } from '../device.js';
import { irqLine } from '../device.js';
import { ElcrHandler, ELCR1_MASK, ELCR2_MASK } from './elcr.js';
import { PicChip } from './pic-chip.js';
import { obj, version } from '../state-check.js';

/** The master's input the slave is cascaded into. */
export const CASCADE_IRQ = 2;

/** Dependencies of I8259. */
export interface I8259Options {
  /** Called when INTR (the master's INT output) changes: the machine kicks the CPU on true. */
  onIntr?: (level: boolean) => void;
  /** Optional logger for guest misuse and unsupported programming (rate-limit there). */
  log?: (message: string) => void;
  /** Device id (default "i8259"). */
  id?: string;
}

/** Master + slave 8259A. */
export class I8259 implements Device, InterruptSource {
  /** @inheritdoc */
  readonly id: string;
  /** The master chip (IRQ0-7). */
  readonly master: PicChip;
  /** The slave chip (IRQ8-15). */
  readonly slave: PicChip;
  /** Master ports (register at 0x20, length 2). */
  readonly masterIo: IoHandler;
  /** Slave ports (register at 0xa0, length 2). */
  readonly slaveIo: IoHandler;
  /** ELCR1/ELCR2 (register at 0x4d0, length 2). */
  readonly elcrIo: IoHandler;
  /** INTA cycles that produced a spurious vector (IRQ7 or IRQ15). */
  spuriousCount = 0;
  private readonly onIntr: ((level: boolean) => void) | undefined;
  private readonly lines: IrqLine[];

  constructor(opts: I8259Options = {}) {
    this.id = opts.id ?? 'i8259';
    this.onIntr = opts.onIntr;
    this.master = new PicChip(true, ELCR1_MASK, (level) => this.onIntr?.(level), opts.log);
    this.slave = new PicChip(false, ELCR2_MASK, (level) => this.master.setInput(CASCADE_IRQ, level), opts.log);
    this.masterIo = chipHandler(this.master);
    this.slaveIo = chipHandler(this.slave);
    this.elcrIo = new ElcrHandler([this.master, this.slave]);
    this.lines = Array.from({ length: 16 }, (_, n) => irqLine((level) => this.setIrq(n, level)));
  }

  /** Drives IRQ input `n` (0-15). Throws on a bad number (a board bug). */
  setIrq(n: number, level: boolean): void {
    if (!Number.isInteger(n) || n < 0 || n > 15) throw new RangeError(`i8259: no IRQ input ${n}`);
    if (n < 8) this.master.setInput(n, level);
    else this.slave.setInput(n - 8, level);
  }

  /** An IrqLine for input `n`, for the board to hand to a device. */
  irq(n: number): IrqLine {
    const l = this.lines[n];
    if (l === undefined) throw new RangeError(`i8259: no IRQ input ${n}`);
    return l;
  }

  /** @inheritdoc */
  hasInterrupt(): boolean {
    return this.master.output;
  }

  /** @inheritdoc */
  acknowledge(): number {
    const irq = this.master.pending();
    if (irq < 0) {
      // The request went away before INTA: the master answers with IR7.
      this.spuriousCount++;
      return (this.master.irqBase + 7) & 0xff;
    }
    let vector: number;
    if (irq === CASCADE_IRQ) {
      const irq2 = this.slave.pending();
      if (irq2 >= 0) {
        this.slave.intack(irq2);
        vector = this.slave.irqBase + irq2;
      } else {
        this.spuriousCount++;
        vector = this.slave.irqBase + 7;
      }
    } else {
      vector = this.master.irqBase + irq;
    }
    this.master.intack(irq);
    return vector & 0xff;
  }

  /** @inheritdoc */
  reset(_kind: ResetKind): void {
    this.slave.reset();
    this.master.reset();
    this.spuriousCount = 0;
  }

  /** @inheritdoc */
  saveState(): DeviceState {
    return { v: 1, master: this.master.save(), slave: this.slave.save() };
  }

  /** @inheritdoc */
  loadState(state: unknown): void {
    const s = obj(this.id, state);
    version(this.id, s, 1);
    const m = PicChip.validate(`${this.id}.master`, s.master);
    const sl = PicChip.validate(`${this.id}.slave`, s.slave);
    const before = this.master.output;
    this.slave.apply(sl);
    this.master.apply(m);
    if (this.master.output !== before) this.onIntr?.(this.master.output);
  }
}

function chipHandler(chip: PicChip): IoHandler {
  return {
    minSize: 1,
    maxSize: 1,
    read: (offset: number, _size: AccessSize) => chip.read(offset & 1),
    write: (offset: number, _size: AccessSize, value: number) => chip.write(offset & 1, value & 0xff),
  };
}
