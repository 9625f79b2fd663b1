/**
 * I/O APIC compatible with the Intel 82093AA, with the version 0x20 of later chipsets
 * (ICH) and QEMU's default ioapic: 24 redirection entries and a directed-EOI register.
 *
 * Follows: Intel 82093AA I/O APIC datasheet (order 290566-001) 3.0 "Register
 * Description": IOREGSEL (offset 0x00) / IOWIN (offset 0x10), IOAPICID (0x00),
 * IOAPICVER (0x01), IOAPICARB (0x02), IOREDTBL[0:23] (0x10-0x3F, two dwords each);
 * 2.4 interrupt signals (edge inputs latched on a rising edge while unmasked, level
 * inputs with Remote IRR cleared by the local APIC's EOI message); QEMU
 * hw/intc/ioapic.c for the version-0x20 EOI register at offset 0x40.
 * Input lines carry the logical assertion level (as QEMU): the polarity bit is stored
 * and reported but does not invert the input.
 * Leaves out: the APIC serial bus (delivery is a synchronous callback, so Delivery
 * Status always reads 0), the 82093AA's ID-based arbitration (ARB reads the ID).
 */
import type { AccessSize, Device, DeviceState, IoHandler } from '../device.js';

/** Register offsets of the MMIO page. */
export const OFS_IOREGSEL = 0x00;
export const OFS_IOWIN = 0x10;
/** Directed EOI register of version 0x20 IOAPICs. */
export const OFS_EOI = 0x40;

/** Indirect register indices. */
export const REG_ID = 0x00;
export const REG_VER = 0x01;
export const REG_ARB = 0x02;
export const REG_REDTBL_BASE = 0x10;

/** Number of redirection entries (input pins). */
export const IOAPIC_NUM_PINS = 24;
/** Version reported in IOAPICVER bits 7:0. */
export const IOAPIC_VERSION = 0x20;

/** Redirection entry bits (low dword). */
export const RTE_VECTOR_MASK = 0xff;
export const RTE_DELMOD_SHIFT = 8;
export const RTE_DESTMOD_LOGICAL = 1 << 11;
export const RTE_DELIVS = 1 << 12;
export const RTE_INTPOL_LOW = 1 << 13;
export const RTE_REMOTE_IRR = 1 << 14;
export const RTE_TRIGGER_LEVEL = 1 << 15;
export const RTE_MASKED = 1 << 16;
/** Bits of the low dword software may write (delivery status and remote IRR are read-only). */
const RTE_LO_WRITABLE = 0x0001_afff;

/** Delivery modes (IOREDTBL bits 10:8). */
export const DeliveryMode = { Fixed: 0, LowestPriority: 1, SMI: 2, NMI: 4, INIT: 5, ExtINT: 7 } as const;

/** An interrupt message sent to the local APIC(s). */
export interface IoapicMessage {
  vector: number;
  /** IOREDTBL delivery mode (see DeliveryMode). */
  deliveryMode: number;
  destMode: 'physical' | 'logical';
  /** Destination field (bits 63:56): an APIC id, or a logical mask. */
  dest: number;
  trigger: 'edge' | 'level';
  /** The input pin, for tracing. */
  pin: number;
}

/** Dependencies of the IOAPIC. */
export interface IoapicOptions {
  /** Sends an interrupt message to the local APIC(s). */
  deliver: (msg: IoapicMessage) => void;
  /** APIC id after reset (must match the MADT). Default 0. */
  initialId?: number;
  /** Device id (default "ioapic"). */
  id?: string;
  /** Logs guest misuse (bad access sizes, reserved registers). */
  log?: (message: string) => void;
}

/** 82093AA-compatible I/O APIC. Map `mmio` at 0xFEC00000 (length 0x1000 or 0x100). */
export class Ioapic implements Device {
  /** @inheritdoc */
  readonly id: string;
  /** The MMIO handler (offsets within the page). */
  readonly mmio: IoHandler;
  /** Count of guest accesses a real chip would ignore or misbehave on. */
  misuseCount = 0;

  private apicId = 0;
  private ioregsel = 0;
  /** Latched requests (bit per pin). */
  private irr = 0;
  /** Current input levels (bit per pin). */
  private levels = 0;
  private readonly lo = new Array<number>(IOAPIC_NUM_PINS).fill(RTE_MASKED);
  private readonly hi = new Array<number>(IOAPIC_NUM_PINS).fill(0);

  constructor(private readonly opts: IoapicOptions) {
    this.id = opts.id ?? 'ioapic';
    this.apicId = (opts.initialId ?? 0) & 0x0f;
    this.mmio = {
      minSize: 1,
      maxSize: 4,
      read: (offset: number, size: AccessSize) => this.mmioRead(offset, size),
      write: (offset: number, size: AccessSize, value: number) => this.mmioWrite(offset, size, value),
    };
  }

  private misuse(msg: string): void {
    this.misuseCount++;
    this.opts.log?.(`${this.id}: ${msg}`);
  }

  private mmioRead(offset: number, size: AccessSize): number {
    const reg = offset & 0xff;
    if (reg === OFS_IOREGSEL) return size === 4 ? this.ioregsel : this.ioregsel & (size === 1 ? 0xff : 0xffff);
    if (reg === OFS_IOWIN) {
      if (size !== 4) { this.misuse(`IOWIN read of ${size} bytes (must be 32-bit)`); return 0; }
      return this.readRegister(this.ioregsel);
    }
    return 0;
  }

  private mmioWrite(offset: number, size: AccessSize, value: number): void {
    const reg = offset & 0xff;
    if (reg === OFS_IOREGSEL) { this.ioregsel = value & 0xff; return; }
    if (reg === OFS_IOWIN) {
      if (size !== 4) { this.misuse(`IOWIN write of ${size} bytes (must be 32-bit)`); return; }
      this.writeRegister(this.ioregsel, value >>> 0);
      return;
    }
    if (reg === OFS_EOI) { this.eoi(value & 0xff); return; }
    this.misuse(`write to reserved offset 0x${reg.toString(16)}`);
  }

  /** Reads an indirect register (as through IOWIN). */
  readRegister(index: number): number {
    switch (index) {
      case REG_ID: return (this.apicId << 24) >>> 0;
      case REG_VER: return ((IOAPIC_NUM_PINS - 1) << 16) | IOAPIC_VERSION;
      case REG_ARB: return (this.apicId << 24) >>> 0;
      default: {
        const n = (index - REG_REDTBL_BASE) >> 1;
        if (index < REG_REDTBL_BASE || n >= IOAPIC_NUM_PINS) { this.misuse(`read of reserved register 0x${index.toString(16)}`); return 0; }
        return (index & 1 ? this.hi[n]! : this.lo[n]!) >>> 0;
      }
    }
  }

  /** Writes an indirect register (as through IOWIN). */
  writeRegister(index: number, value: number): void {
    if (index === REG_ID) { this.apicId = (value >>> 24) & 0x0f; return; }
    if (index === REG_VER || index === REG_ARB) { this.misuse(`write to read-only register 0x${index.toString(16)}`); return; }
    const n = (index - REG_REDTBL_BASE) >> 1;
    if (index < REG_REDTBL_BASE || n >= IOAPIC_NUM_PINS) { this.misuse(`write to reserved register 0x${index.toString(16)}`); return; }
    if (index & 1) { this.hi[n] = (value & 0xff00_0000) >>> 0; return; }
    let lo = (this.lo[n]! & ~RTE_LO_WRITABLE) | (value & RTE_LO_WRITABLE);
    // Edge-triggered entries never hold Remote IRR.
    if (!(lo & RTE_TRIGGER_LEVEL)) lo &= ~RTE_REMOTE_IRR;
    this.lo[n] = lo >>> 0;
    this.service();
  }

  /**
   * Drives input `pin` to `level`. Edge entries latch a request on a rising edge while
   * unmasked (masked edges are lost, 82093AA 3.2.4); level entries follow the line.
   */
  setIrq(pin: number, level: boolean): void {
    if (!Number.isInteger(pin) || pin < 0 || pin >= IOAPIC_NUM_PINS) throw new Error(`${this.id}: no input pin ${pin}`);
    const mask = 1 << pin;
    const was = (this.levels & mask) !== 0;
    this.levels = level ? this.levels | mask : this.levels & ~mask;
    const lo = this.lo[pin]!;
    if (lo & RTE_TRIGGER_LEVEL) {
      // Level entries sample the input itself (see service()).
      if (level) this.service();
      else this.irr &= ~mask;
    } else if (level && !was && !(lo & RTE_MASKED)) {
      this.irr |= mask;
      this.service();
    }
  }

  /**
   * End of interrupt for `vector`, as broadcast by a local APIC for level-triggered
   * vectors: clears Remote IRR of matching level entries and re-delivers those whose
   * input is still asserted.
   */
  eoi(vector: number): void {
    let any = false;
    for (let n = 0; n < IOAPIC_NUM_PINS; n++) {
      const lo = this.lo[n]!;
      if ((lo & RTE_VECTOR_MASK) !== vector || !(lo & RTE_TRIGGER_LEVEL) || !(lo & RTE_REMOTE_IRR)) continue;
      this.lo[n] = (lo & ~RTE_REMOTE_IRR) >>> 0;
      any = true;
    }
    if (any) this.service();
  }

  /** Delivers every pending, unmasked request that may go now. */
  private service(): void {
    for (let n = 0; n < IOAPIC_NUM_PINS; n++) {
      const mask = 1 << n;
      const lo = this.lo[n]!;
      if (lo & RTE_MASKED) continue;
      const level = (lo & RTE_TRIGGER_LEVEL) !== 0;
      if (level) {
        // A level entry requests service while its input is asserted and Remote IRR is clear.
        if (!(this.levels & mask) || (lo & RTE_REMOTE_IRR)) continue;
        // NMI/SMI/INIT/ExtINT messages are not EOIed: Remote IRR is only set for Fixed and
        // LowestPriority; the others are sent once per assertion like QEMU (no storm).
        const delmod = (lo >> RTE_DELMOD_SHIFT) & 7;
        if (delmod === DeliveryMode.Fixed || delmod === DeliveryMode.LowestPriority) this.lo[n] = (lo | RTE_REMOTE_IRR) >>> 0;
        else if (this.irr & mask) continue;
        else this.irr |= mask;
      } else {
        if (!(this.irr & mask)) continue;
        this.irr &= ~mask;
      }
      this.opts.deliver(this.message(n));
    }
  }

  private message(n: number): IoapicMessage {
    const lo = this.lo[n]!;
    return {
      vector: lo & RTE_VECTOR_MASK,
      deliveryMode: (lo >> RTE_DELMOD_SHIFT) & 7,
      destMode: lo & RTE_DESTMOD_LOGICAL ? 'logical' : 'physical',
      dest: this.hi[n]! >>> 24,
      trigger: lo & RTE_TRIGGER_LEVEL ? 'level' : 'edge',
      pin: n,
    };
  }

  /** The 64-bit redirection entry of `pin` as [low, high] dwords (for debugging/tests). */
  entry(pin: number): [number, number] {
    return [this.lo[pin]! >>> 0, this.hi[pin]! >>> 0];
  }

  /** @inheritdoc */
  reset(_kind: 'power-on' | 'hard'): void {
    this.apicId = (this.opts.initialId ?? 0) & 0x0f;
    this.ioregsel = 0;
    this.irr = 0;
    this.lo.fill(RTE_MASKED);
    this.hi.fill(0);
    // Input levels belong to the devices driving the pins: keep them.
  }

  /** @inheritdoc */
  saveState(): DeviceState {
    return {
      v: 1,
      apicId: this.apicId,
      ioregsel: this.ioregsel,
      irr: this.irr >>> 0,
      levels: this.levels >>> 0,
      redirLo: [...this.lo],
      redirHi: [...this.hi],
    };
  }

  /** @inheritdoc */
  loadState(state: unknown): void {
    const s = state as Record<string, unknown> | null;
    if (typeof s !== 'object' || s === null || s.v !== 1) throw new Error(`${this.id}: state must be { v: 1, ... }`);
    const int = (k: string, max: number): number => {
      const v = s[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new Error(`${this.id}: state.${k} must be an integer in 0..${max}`);
      return v;
    };
    const arr = (k: string): number[] => {
      const v = s[k];
      if (!Array.isArray(v) || v.length !== IOAPIC_NUM_PINS || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffff_ffff)) {
        throw new Error(`${this.id}: state.${k} must be ${IOAPIC_NUM_PINS} dwords`);
      }
      return v as number[];
    };
    const apicId = int('apicId', 0x0f);
    const ioregsel = int('ioregsel', 0xff);
    const pinMask = 2 ** IOAPIC_NUM_PINS - 1;
    const irr = int('irr', pinMask);
    const levels = int('levels', pinMask);
    const lo = arr('redirLo');
    const hi = arr('redirHi');
    this.apicId = apicId;
    this.ioregsel = ioregsel;
    this.irr = irr;
    this.levels = levels;
    for (let n = 0; n < IOAPIC_NUM_PINS; n++) {
      this.lo[n] = lo[n]! & (RTE_LO_WRITABLE | RTE_REMOTE_IRR);
      this.hi[n] = (hi[n]! & 0xff00_0000) >>> 0;
    }
  }
}
