/**
 * PciBus: bus 0 of a conventional PCI hierarchy: 32 device slots of 8 functions each,
 * configuration dispatch, and INTx wiring.
 *
 * Follows PCI Local Bus Specification 3.0 section 3.2.2.3 (configuration transactions:
 * a function that is not present does not claim the cycle, the host bridge then
 * returns all-ones, 6.1) and 6.2.1 (header type bit 7: multi-function device; the bus
 * sets it on function 0 as soon as a sibling is added). INTx# lines are wire-ORed per
 * interrupt router input (PIRQ): the board supplies the slot/pin -> PIRQ mapping
 * (PIIX3's swizzle on the pc machine) and receives PIRQ level changes.
 *
 * Left out: PCI-to-PCI bridges and secondary buses, hot-plug.
 */
import type { IrqLine } from '../device.js';

/** What the bus needs from a function: its configuration space. */
export interface PciConfigTarget {
  configRead(reg: number, size: 1 | 2 | 4): number;
  configWrite(reg: number, size: 1 | 2 | 4, value: number): void;
  setMultiFunction(on: boolean): void;
}

/** Options of a PCI bus. */
export interface PciBusOptions {
  /** Interrupt router input (0-based PIRQ index) for INTx `pin` (0 = INTA#) of device `slot`. */
  readonly mapIntx: (slot: number, pin: number) => number;
  /** Number of router inputs (4 on PIIX). */
  readonly pirqCount?: number;
  /** Called when the wired-OR level of a PIRQ changes. */
  readonly onPirqLevel?: (pirq: number, level: boolean) => void;
}

/** One populated function, as listed by `PciBus.functions()`. */
export interface PciBusEntry {
  readonly device: number;
  readonly fn: number;
  readonly target: PciConfigTarget;
}

/** Makes a devfn number from a device (slot) and function. */
export function devfn(device: number, fn: number): number {
  return ((device & 0x1f) << 3) | (fn & 7);
}

/** Bus 0 of one machine. */
export class PciBus {
  private readonly slots: Array<PciConfigTarget | undefined> = new Array<PciConfigTarget | undefined>(256).fill(undefined);
  private readonly mapIntx: (slot: number, pin: number) => number;
  private readonly onPirqLevel: ((pirq: number, level: boolean) => void) | undefined;
  /** Asserted sources per PIRQ, keyed by devfn * 4 + pin. */
  private readonly asserted: Array<Set<number>>;

  constructor(opts: PciBusOptions) {
    this.mapIntx = opts.mapIntx;
    this.onPirqLevel = opts.onPirqLevel;
    const n = opts.pirqCount ?? 4;
    this.asserted = Array.from({ length: n }, () => new Set<number>());
  }

  /** Places `target` at device `device` (0..31), function `fn` (0..7). Throws if taken. */
  add(device: number, fn: number, target: PciConfigTarget): void {
    if (!Number.isInteger(device) || device < 0 || device > 31 || !Number.isInteger(fn) || fn < 0 || fn > 7) {
      throw new RangeError(`PciBus: no slot ${device}.${fn} (device 0..31, function 0..7)`);
    }
    const df = devfn(device, fn);
    if (this.slots[df]) throw new Error(`PciBus: ${hex2(device)}.${fn} is already populated`);
    this.slots[df] = target;
    this.updateMultiFunction(device);
  }

  /** The function at `device`.`fn`, if any. */
  at(device: number, fn: number): PciConfigTarget | undefined {
    return this.slots[devfn(device, fn)];
  }

  /** All populated functions in devfn order. */
  functions(): PciBusEntry[] {
    const out: PciBusEntry[] = [];
    for (let df = 0; df < 256; df++) {
      const t = this.slots[df];
      if (t) out.push({ device: df >> 3, fn: df & 7, target: t });
    }
    return out;
  }

  /** Configuration read of `size` bytes at `reg` of function `df`; all-ones if absent. */
  configRead(df: number, reg: number, size: 1 | 2 | 4): number {
    const t = this.slots[df & 0xff];
    if (!t) return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    return t.configRead(reg, size);
  }

  /** Configuration write; dropped if no function answers. */
  configWrite(df: number, reg: number, size: 1 | 2 | 4, value: number): void {
    this.slots[df & 0xff]?.configWrite(reg, size, value);
  }

  /**
   * The IrqLine to give the function at `device`.`fn` for its INTx pin `pin`
   * (1 = INTA# .. 4 = INTD#, the value of its Interrupt Pin register).
   */
  intxLine(device: number, fn: number, pin: 1 | 2 | 3 | 4): IrqLine {
    const pirq = this.mapIntx(device, pin - 1);
    if (!Number.isInteger(pirq) || pirq < 0 || pirq >= this.asserted.length) {
      throw new RangeError(`PciBus: mapIntx(${device}, ${pin - 1}) gave ${pirq}, not a PIRQ index`);
    }
    const key = devfn(device, fn) * 4 + (pin - 1);
    const set = (level: boolean): void => this.setSource(pirq, key, level);
    return { set, pulse: () => { set(true); set(false); } };
  }

  /** The wired-OR level of router input `pirq`. */
  pirqLevel(pirq: number): boolean {
    return (this.asserted[pirq]?.size ?? 0) > 0;
  }

  private setSource(pirq: number, key: number, level: boolean): void {
    const s = this.asserted[pirq]!;
    const before = s.size > 0;
    if (level) s.add(key);
    else s.delete(key);
    const after = s.size > 0;
    if (before !== after) this.onPirqLevel?.(pirq, after);
  }

  private updateMultiFunction(device: number): void {
    let siblings = 0;
    for (let fn = 1; fn < 8; fn++) if (this.slots[devfn(device, fn)]) siblings++;
    this.slots[devfn(device, 0)]?.setMultiFunction(siblings > 0);
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
