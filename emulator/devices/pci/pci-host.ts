/**
 * PciHost: PCI configuration mechanism #1 as decoded by the i440FX (82441FX PMC).
 *
 * Follows PCI Local Bus Specification 3.0 section 3.2.2.3.2 (CONFIG_ADDRESS at 0CF8h:
 * enable bit 31, bus 23:16, device 15:11, function 10:8, register 7:2; CONFIG_DATA at
 * 0CFCh-0CFFh, byte/word/dword at any lane) and Intel 82441FX datasheet section 3.1
 * (CONFADD is only loaded by a doubleword write; other writes to 0CF8h-0CFBh are
 * normal I/O cycles). Like QEMU's hw/pci/pci_host.c, only dword accesses at 0CF8h
 * touch CONFADD; the byte at 0CF9h belongs to the PIIX3 Reset Control Register,
 * which the board passes in as `resetControl`.
 *
 * Left out: configuration mechanism #2, type 1 cycles to other buses (there are no
 * bridges: every bus other than 0 reads all-ones), special cycles.
 */
import type { AccessSize, Device, DeviceState, IoHandler } from '../device.js';
import type { PciBus } from './pci-bus.js';
import type { GuestLog } from './pci-function.js';

/** The byte register at 0CF9h (PIIX3 RCR), decoded by its owner. */
export interface ResetControlPort {
  read(): number;
  write(value: number): void;
}

/** Options of the configuration mechanism. */
export interface PciHostOptions {
  readonly id?: string;
  readonly resetControl?: ResetControlPort;
  readonly log?: GuestLog;
}

const CONFIG_ENABLE = 0x8000_0000;
/** Writable bits of CONFIG_ADDRESS: enable, bus, device, function, register (7:2). */
const CONFIG_ADDRESS_MASK = 0x80ff_fffc;

/** Configuration mechanism #1 over a PciBus. Register at 0CF8h (4 ports) and 0CFCh (4 ports). */
export class PciHost implements Device {
  readonly id: string;
  /** Count of ignored or malformed accesses. */
  guestErrors = 0;
  /** CONFIG_ADDRESS: register at port 0CF8h, length 4. */
  readonly addressPort: IoHandler;
  /** CONFIG_DATA: register at port 0CFCh, length 4. */
  readonly dataPort: IoHandler;
  private address = 0;
  private readonly bus: PciBus;
  private readonly rcr: ResetControlPort | undefined;
  private readonly log: GuestLog | undefined;

  constructor(bus: PciBus, opts: PciHostOptions = {}) {
    this.id = opts.id ?? 'pci-host';
    this.bus = bus;
    this.rcr = opts.resetControl;
    this.log = opts.log;
    this.addressPort = {
      minSize: 1, maxSize: 4,
      read: (offset, size) => this.readAddress(offset, size),
      write: (offset, size, value) => this.writeAddress(offset, size, value),
    };
    this.dataPort = {
      minSize: 1, maxSize: 4,
      read: (offset, size) => this.readData(offset, size),
      write: (offset, size, value) => this.writeData(offset, size, value),
    };
  }

  /** The latched CONFIG_ADDRESS value. */
  get configAddress(): number {
    return this.address;
  }

  private readAddress(offset: number, size: AccessSize): number {
    if (offset === 0 && size === 4) return this.address >>> 0;
    if (offset === 1 && size === 1 && this.rcr) return this.rcr.read() & 0xff;
    return ones(size);
  }

  private writeAddress(offset: number, size: AccessSize, value: number): void {
    if (offset === 0 && size === 4) {
      this.address = (value & CONFIG_ADDRESS_MASK) >>> 0;
      return;
    }
    if (offset === 1 && size === 1 && this.rcr) {
      this.rcr.write(value & 0xff);
      return;
    }
    // Linux's type-1 probe writes a byte to 0CFBh on purpose: a plain I/O cycle.
  }

  /** Resolves the target of a data access, or null when no configuration cycle runs. */
  private target(offset: number, size: AccessSize): { df: number; reg: number } | null {
    if (!(this.address & CONFIG_ENABLE)) return null;
    if (offset + size > 4) {
      this.misuse(`CONFIG_DATA access of ${size} bytes at lane ${offset} crosses the dword`);
      return null;
    }
    const bus = (this.address >>> 16) & 0xff;
    if (bus !== 0) return null;
    return { df: (this.address >>> 8) & 0xff, reg: (this.address & 0xfc) + offset };
  }

  private readData(offset: number, size: AccessSize): number {
    const t = this.target(offset, size);
    if (!t) return ones(size);
    return this.bus.configRead(t.df, t.reg, size);
  }

  private writeData(offset: number, size: AccessSize, value: number): void {
    const t = this.target(offset, size);
    if (!t) return;
    this.bus.configWrite(t.df, t.reg, size, value);
  }

  private misuse(message: string): void {
    this.guestErrors++;
    this.log?.(`${this.id}: ${message}`);
  }

  /** Clears CONFIG_ADDRESS. */
  reset(): void {
    this.address = 0;
  }

  /** `{ v: 1, address }`. */
  saveState(): DeviceState {
    return { v: 1, address: this.address };
  }

  /** Validates, then applies, a state from `saveState`. */
  loadState(state: unknown): void {
    if (typeof state !== 'object' || state === null) throw new TypeError(`${this.id}: state must be an object`);
    const s = state as Record<string, unknown>;
    if (s['v'] !== 1) throw new TypeError(`${this.id}: unsupported state version ${String(s['v'])}`);
    const a = s['address'];
    if (typeof a !== 'number' || !Number.isInteger(a) || a < 0 || a > 0xffffffff || (a & ~CONFIG_ADDRESS_MASK) !== 0) {
      throw new TypeError(`${this.id}: address must be a CONFIG_ADDRESS value`);
    }
    this.address = a >>> 0;
  }
}

function ones(size: AccessSize): number {
  return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
}
