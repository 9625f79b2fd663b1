/**
 * PciFunction: a reusable model of one conventional PCI function (type 0 header).
 *
 * Follows PCI Local Bus Specification 3.0: section 6.1 (configuration space layout),
 * 6.2.2 (Command), 6.2.3 (Status, RW1C error bits), 6.2.4 (cache line size, latency
 * timer, interrupt line/pin), 6.2.5 (Base Address Registers: I/O, 32-bit and 64-bit
 * memory, prefetchable, size probing by writing all-ones; expansion ROM BAR) and 6.7
 * (capabilities list). Decode rules (address 0 or a BAR that wraps counts as unmapped;
 * I/O ends below 64 KiB) and the default subsystem id 1af4:1100 follow QEMU's
 * hw/pci/pci.c, which SeaBIOS relies on to detect QEMU.
 *
 * The configuration space is 256 bytes with a per-byte write mask and a per-byte
 * write-1-to-clear mask; subclasses declare their device-specific registers with
 * `setDefault` / `setMasks` and react to writes in `onConfigUpdated`. A change of a
 * BAR's effective mapping (address, or decode enable in Command) is reported through
 * the injected `onBarChange`; INTx goes out through the injected IrqLine, gated by
 * Command.INTX_DISABLE and mirrored in Status.INTERRUPT.
 *
 * Left out: PCI Express extended config space, type 1 (bridge) headers, BIST,
 * parity/SERR generation, 64-bit BARs of 4 GiB or more, MSI/MSI-X logic (the
 * capability builder only reserves and links the structures).
 */
import type { Device, DeviceState, IrqLine, ResetKind } from '../device.js';

/** Sink for guest-misuse messages (the board rate-limits). */
export type GuestLog = (message: string) => void;

/** Kinds of address decoder a function exposes. */
export type PciBarKind = 'io' | 'mem32' | 'mem64' | 'rom';

/** Static description of one BAR. */
export interface PciBarDef {
  readonly kind: 'io' | 'mem32' | 'mem64';
  /** Power of two; at least 4 for I/O, 16 for memory; at most 2 GiB. */
  readonly sizeBytes: number;
  /** Memory BARs only: sets the prefetchable bit (bit 3). */
  readonly prefetchable?: boolean;
}

/**
 * Reports that BAR `barIndex` now decodes at `address` (or no longer decodes: `null`).
 * `barIndex` is 0..5 for BARs, `PCI_ROM_SLOT` for the expansion ROM.
 */
export type BarChangeCallback = (barIndex: number, kind: PciBarKind, address: number | null, sizeBytes: number) => void;

/** Construction options of a PCI function. */
export interface PciFunctionOptions {
  /** Stable device id for snapshots. */
  readonly id: string;
  readonly vendorId: number;
  readonly deviceId: number;
  readonly revision: number;
  /** 24-bit class code: base class << 16 | subclass << 8 | programming interface. */
  readonly classCode: number;
  /** Defaults to 0x1af4 (Red Hat), as QEMU does. */
  readonly subsystemVendorId?: number;
  /** Defaults to 0x1100 (QEMU virtual machine). */
  readonly subsystemId?: number;
  /** 0 = none, 1..4 = INTA#..INTD#. */
  readonly interruptPin?: 0 | 1 | 2 | 3 | 4;
  /** Up to six BARs; a 64-bit BAR also occupies the next slot (leave it undefined). */
  readonly bars?: ReadonlyArray<PciBarDef | null | undefined>;
  /** Size of the expansion ROM (power of two, >= 2 KiB), or none. */
  readonly romSizeBytes?: number;
  /** Whether bytes 0x40..0xff are guest-writable by default (QEMU: yes). */
  readonly deviceSpecificWritable?: boolean;
  readonly irq?: IrqLine;
  readonly onBarChange?: BarChangeCallback;
  readonly log?: GuestLog;
}

/** BAR index used for the expansion ROM in `onBarChange` (QEMU's PCI_ROM_SLOT). */
export const PCI_ROM_SLOT = 6;

/** Configuration register offsets (PCI 3.0 figure 6-1). */
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION_ID = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_LATENCY_TIMER = 0x0d;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_ROM_ADDRESS = 0x30;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

/** Command register bits. */
export const PCI_COMMAND_IO = 0x0001;
export const PCI_COMMAND_MEMORY = 0x0002;
export const PCI_COMMAND_MASTER = 0x0004;
export const PCI_COMMAND_PARITY = 0x0040;
export const PCI_COMMAND_SERR = 0x0100;
export const PCI_COMMAND_INTX_DISABLE = 0x0400;

/** Status register bits. */
export const PCI_STATUS_INTERRUPT = 0x0008;
export const PCI_STATUS_CAP_LIST = 0x0010;
/** The RW1C error bits of Status (detected parity, SERR, master/target aborts, data parity). */
export const PCI_STATUS_W1C = 0xf900;

/** Header type bit 7: the device has more than one function. */
export const PCI_HEADER_TYPE_MULTI_FUNCTION = 0x80;

const CONFIG_SIZE = 256;
const ROM_ENABLE = 0x01;
const TWO_32 = 0x1_0000_0000;

interface BarSlot {
  readonly def: PciBarDef;
  readonly reg: number;
}

interface Mapping {
  address: number | null;
}

/** The config space and BAR/INTx logic of one PCI function. */
export class PciFunction implements Device {
  /** Stable snapshot id. */
  readonly id: string;
  /** Count of guest accesses that hardware would ignore (out-of-range, read-only...). */
  guestErrors = 0;
  /** Current configuration bytes. */
  protected readonly config = new Uint8Array(CONFIG_SIZE);
  /** Power-on image restored by `reset`. */
  private readonly resetImage = new Uint8Array(CONFIG_SIZE);
  private readonly wmask = new Uint8Array(CONFIG_SIZE);
  private readonly w1cmask = new Uint8Array(CONFIG_SIZE);
  private readonly barSlots: Array<BarSlot | undefined> = [];
  private readonly romSize: number;
  private readonly mapped: Mapping[] = [];
  private readonly irq: IrqLine | undefined;
  private readonly onBarChange: BarChangeCallback | undefined;
  protected readonly log: GuestLog | undefined;
  private intx = false;
  private lastCapOffset = 0;
  private nextCapOffset = 0x40;

  constructor(opts: PciFunctionOptions) {
    this.id = opts.id;
    this.irq = opts.irq;
    this.onBarChange = opts.onBarChange;
    this.log = opts.log;
    checkRange('vendorId', opts.vendorId, 0xffff);
    checkRange('deviceId', opts.deviceId, 0xffff);
    checkRange('revision', opts.revision, 0xff);
    checkRange('classCode', opts.classCode, 0xffffff);
    const pin = opts.interruptPin ?? 0;

    this.setDefault(PCI_VENDOR_ID, 2, opts.vendorId);
    this.setDefault(PCI_DEVICE_ID, 2, opts.deviceId);
    this.setDefault(PCI_REVISION_ID, 1, opts.revision);
    this.setDefault(PCI_CLASS_PROG, 1, opts.classCode & 0xff);
    this.setDefault(PCI_CLASS_PROG + 1, 2, opts.classCode >>> 8);
    this.setDefault(PCI_SUBSYSTEM_VENDOR_ID, 2, opts.subsystemVendorId ?? 0x1af4);
    this.setDefault(PCI_SUBSYSTEM_ID, 2, opts.subsystemId ?? 0x1100);
    this.setDefault(PCI_INTERRUPT_PIN, 1, pin);

    this.setMasks(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER
      | PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
    this.setMasks(PCI_STATUS, 2, 0, PCI_STATUS_W1C);
    this.setMasks(PCI_CACHE_LINE_SIZE, 1, 0xff);
    this.setMasks(PCI_LATENCY_TIMER, 1, 0xff);
    this.setMasks(PCI_INTERRUPT_LINE, 1, 0xff);
    if (opts.deviceSpecificWritable ?? true) this.wmask.fill(0xff, 0x40, CONFIG_SIZE);

    const bars = opts.bars ?? [];
    if (bars.length > 6) throw new RangeError(`PciFunction ${this.id}: at most 6 BARs`);
    for (let i = 0; i < bars.length; i++) {
      const def = bars[i];
      if (!def) continue;
      if (this.barSlots[i]) throw new Error(`PciFunction ${this.id}: BAR ${i} is the upper half of a 64-bit BAR`);
      this.defineBar(i, def);
      if (def.kind === 'mem64') {
        if (i === 5) throw new RangeError(`PciFunction ${this.id}: a 64-bit BAR cannot start at BAR 5`);
        if (bars[i + 1]) throw new Error(`PciFunction ${this.id}: BAR ${i + 1} is the upper half of 64-bit BAR ${i}`);
      }
    }
    this.romSize = opts.romSizeBytes ?? 0;
    if (this.romSize !== 0) {
      if (!isPow2(this.romSize) || this.romSize < 2048 || this.romSize > 0x8000_0000) {
        throw new RangeError(`PciFunction ${this.id}: ROM size ${this.romSize} must be a power of two in 2 KiB..2 GiB`);
      }
      this.setMasks(PCI_ROM_ADDRESS, 4, ((~(this.romSize - 1)) & 0xfffff800 | ROM_ENABLE) >>> 0);
    }
    for (let i = 0; i <= PCI_ROM_SLOT; i++) this.mapped.push({ address: null });
  }

  // ---- configuration access (called by the bus) ----------------------------------

  /** Reads `size` bytes of configuration space at `reg` (little-endian). */
  configRead(reg: number, size: 1 | 2 | 4): number {
    if (!validAccess(reg, size)) {
      this.misuse(`config read of ${size} bytes at 0x${reg.toString(16)} outside the 256-byte space`);
      return size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    }
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v * 256) + this.config[reg + i]!;
    return v >>> 0;
  }

  /** Writes `size` bytes of `value` at `reg`, honouring write and W1C masks. */
  configWrite(reg: number, size: 1 | 2 | 4, value: number): void {
    if (!validAccess(reg, size)) {
      this.misuse(`config write of ${size} bytes at 0x${reg.toString(16)} outside the 256-byte space`);
      return;
    }
    for (let i = 0; i < size; i++) {
      const r = reg + i;
      const b = (value >>> (8 * i)) & 0xff;
      const w1c = this.w1cmask[r]!;
      let cur = this.config[r]!;
      if (w1c !== 0) cur &= ~(b & w1c);
      const m = this.wmask[r]!;
      this.config[r] = ((cur & ~m) | (b & m)) & 0xff;
    }
    if (reg <= PCI_COMMAND + 1 && reg + size > PCI_COMMAND + 1) this.updateIntxLine();
    this.syncMappings();
    this.onConfigUpdated(reg, reg + size - 1);
  }

  // ---- device-facing API ---------------------------------------------------------

  /** Drives this function's INTx# (level). Ignored when the interrupt pin is 0. */
  setIntx(level: boolean): void {
    if (this.config[PCI_INTERRUPT_PIN] === 0) return;
    if (level === this.intx) return;
    this.intx = level;
    if (level) this.config[PCI_STATUS]! |= PCI_STATUS_INTERRUPT;
    else this.config[PCI_STATUS] = this.config[PCI_STATUS]! & ~PCI_STATUS_INTERRUPT;
    this.updateIntxLine();
  }

  /** The level the device asserts on INTx# (before INTX_DISABLE gating). */
  get intxLevel(): boolean {
    return this.intx;
  }

  /** The address BAR `index` (or `PCI_ROM_SLOT`) currently decodes at, or null. */
  barAddress(index: number): number | null {
    return this.mapped[index]?.address ?? null;
  }

  /** Whether the guest enabled bus mastering (DMA). */
  get busMaster(): boolean {
    return (this.config[PCI_COMMAND]! & PCI_COMMAND_MASTER) !== 0;
  }

  /** Sets or clears the multi-function bit of the header type (the bus calls this). */
  setMultiFunction(on: boolean): void {
    const v = on ? this.resetImage[PCI_HEADER_TYPE]! | PCI_HEADER_TYPE_MULTI_FUNCTION
      : this.resetImage[PCI_HEADER_TYPE]! & ~PCI_HEADER_TYPE_MULTI_FUNCTION;
    this.resetImage[PCI_HEADER_TYPE] = v;
    this.config[PCI_HEADER_TYPE] = v;
  }

  /**
   * Appends a capability structure of `lengthBytes` (>= 2) with id `capId` to the list
   * and returns its offset. Its bytes are read-only until the caller sets masks.
   * Call at construction time only.
   */
  addCapability(capId: number, lengthBytes: number, offset?: number): number {
    checkRange('capId', capId, 0xff);
    const at = offset ?? this.nextCapOffset;
    if (lengthBytes < 2 || at < 0x40 || at % 4 !== 0 || at + lengthBytes > CONFIG_SIZE) {
      throw new RangeError(`PciFunction ${this.id}: capability 0x${capId.toString(16)} at 0x${at.toString(16)}+${lengthBytes} does not fit`);
    }
    for (let r = at; r < at + lengthBytes; r++) { this.wmask[r] = 0; this.w1cmask[r] = 0; }
    this.setDefault(at, 1, capId);
    this.setDefault(at + 1, 1, 0);
    if (this.lastCapOffset === 0) this.setDefault(PCI_CAPABILITY_LIST, 1, at);
    else this.setDefault(this.lastCapOffset + 1, 1, at);
    this.lastCapOffset = at;
    this.setDefault(PCI_STATUS, 1, this.resetImage[PCI_STATUS]! | PCI_STATUS_CAP_LIST);
    this.nextCapOffset = Math.max(this.nextCapOffset, (at + lengthBytes + 3) & ~3);
    return at;
  }

  // ---- subclass API -------------------------------------------------------------

  /** Sets a register's power-on value (and its current value). Construction time. */
  protected setDefault(reg: number, size: 1 | 2 | 4, value: number): void {
    for (let i = 0; i < size; i++) {
      const b = (value >>> (8 * i)) & 0xff;
      this.resetImage[reg + i] = b;
      this.config[reg + i] = b;
    }
  }

  /** Sets the write mask (and RW1C mask) of a register. Construction time. */
  protected setMasks(reg: number, size: 1 | 2 | 4, writeMask: number, w1cMask = 0): void {
    for (let i = 0; i < size; i++) {
      this.wmask[reg + i] = (writeMask >>> (8 * i)) & 0xff;
      this.w1cmask[reg + i] = (w1cMask >>> (8 * i)) & 0xff;
    }
  }

  /** Reads a config register without side effects (subclass convenience). */
  protected reg8(reg: number): number { return this.config[reg]!; }
  /** Little-endian 16-bit config register. */
  protected reg16(reg: number): number { return this.config[reg]! | (this.config[reg + 1]! << 8); }
  /** Little-endian 32-bit config register. */
  protected reg32(reg: number): number { return (this.reg16(reg) | (this.reg16(reg + 2) << 16)) >>> 0; }

  /** Sets a config byte directly (device-side updates of read-only registers). */
  protected poke8(reg: number, value: number): void { this.config[reg] = value & 0xff; }

  /**
   * Called after bytes [first, last] changed by a guest write, or [0, 255] after reset
   * and loadState. Subclasses re-derive their mappings here.
   */
  protected onConfigUpdated(_first: number, _last: number): void {
    // default: nothing
  }

  /** Subclass reset of its own (non-config) state; config is already at power-on values. */
  protected resetDevice(_kind: ResetKind): void {
    // default: nothing
  }

  /** Counts and logs a guest misuse. */
  protected misuse(message: string): void {
    this.guestErrors++;
    this.log?.(`${this.id}: ${message}`);
  }

  // ---- Device ---------------------------------------------------------------------

  /** Restores power-on configuration; reports BAR unmaps; lowers INTx. */
  reset(kind: ResetKind): void {
    this.config.set(this.resetImage);
    this.intx = false;
    this.resetDevice(kind);
    this.updateIntxLine();
    this.syncMappings();
    this.onConfigUpdated(0, CONFIG_SIZE - 1);
  }

  /** `{ v: 1, config: hex, intx }`; subclasses extend it. */
  saveState(): DeviceState {
    return this.savePciState();
  }

  /** Validates, then applies, a state from `saveState`. */
  loadState(state: unknown): void {
    const parsed = this.parsePciState(state);
    this.applyPciState(parsed);
  }

  /** The PCI part of the state, for subclasses that add fields. */
  protected savePciState(): { v: 1; config: string; intx: boolean } {
    return { v: 1, config: bytesToHex(this.config), intx: this.intx };
  }

  /** Validates a PCI state; throws on bad input without touching the device. */
  protected parsePciState(state: unknown): { config: Uint8Array; intx: boolean } {
    if (typeof state !== 'object' || state === null) throw new TypeError(`${this.id}: state must be an object`);
    const s = state as Record<string, unknown>;
    if (s['v'] !== 1) throw new TypeError(`${this.id}: unsupported state version ${String(s['v'])}`);
    const hex = s['config'];
    if (typeof hex !== 'string' || !/^[0-9a-f]{512}$/.test(hex)) throw new TypeError(`${this.id}: config must be 512 hex digits`);
    if (typeof s['intx'] !== 'boolean') throw new TypeError(`${this.id}: intx must be a boolean`);
    const config = hexToBytes(hex);
    for (let r = 0; r < 4; r++) {
      if (config[r] !== this.resetImage[r]) throw new Error(`${this.id}: state belongs to another device (vendor/device id differ)`);
    }
    return { config, intx: s['intx'] };
  }

  /** Applies a validated PCI state and re-derives mappings and the INTx line. */
  protected applyPciState(p: { config: Uint8Array; intx: boolean }): void {
    this.config.set(p.config);
    this.intx = this.config[PCI_INTERRUPT_PIN] !== 0 && p.intx;
    this.updateIntxLine();
    this.syncMappings();
    this.onConfigUpdated(0, CONFIG_SIZE - 1);
  }

  // ---- internals --------------------------------------------------------------------

  private defineBar(i: number, def: PciBarDef): void {
    const reg = PCI_BASE_ADDRESS_0 + 4 * i;
    const size = def.sizeBytes;
    if (!isPow2(size) || size > 0x8000_0000 || size < (def.kind === 'io' ? 4 : 16) || (def.kind === 'io' && size > 0x10000)) {
      throw new RangeError(`PciFunction ${this.id}: BAR ${i} size ${size} is not a valid ${def.kind} BAR size`);
    }
    this.barSlots[i] = { def, reg };
    const addrMask = (~(size - 1)) >>> 0;
    if (def.kind === 'io') {
      this.setDefault(reg, 4, 0x1);
      this.setMasks(reg, 4, (addrMask & 0xfffffffc) >>> 0);
    } else {
      const flags = (def.kind === 'mem64' ? 0x4 : 0) | (def.prefetchable ? 0x8 : 0);
      this.setDefault(reg, 4, flags);
      this.setMasks(reg, 4, (addrMask & 0xfffffff0) >>> 0);
      if (def.kind === 'mem64') this.setMasks(reg + 4, 4, 0xffffffff);
    }
  }

  private effectiveAddress(index: number): number | null {
    const cmd = this.reg16(PCI_COMMAND);
    if (index === PCI_ROM_SLOT) {
      if (this.romSize === 0 || !(cmd & PCI_COMMAND_MEMORY)) return null;
      const raw = this.reg32(PCI_ROM_ADDRESS);
      if (!(raw & ROM_ENABLE)) return null;
      const addr = (raw & 0xfffff800) >>> 0;
      return addr === 0 || addr + this.romSize > TWO_32 ? null : addr;
    }
    const slot = this.barSlots[index];
    if (!slot) return null;
    const size = slot.def.sizeBytes;
    const raw = this.reg32(slot.reg);
    switch (slot.def.kind) {
      case 'io': {
        if (!(cmd & PCI_COMMAND_IO)) return null;
        const addr = (raw & 0xfffffffc) >>> 0;
        return addr === 0 || addr + size > 0x10000 ? null : addr;
      }
      case 'mem32': {
        if (!(cmd & PCI_COMMAND_MEMORY)) return null;
        const addr = (raw & 0xfffffff0) >>> 0;
        return addr === 0 || addr + size > TWO_32 ? null : addr;
      }
      case 'mem64': {
        if (!(cmd & PCI_COMMAND_MEMORY)) return null;
        const hi = this.reg32(slot.reg + 4);
        // Beyond 2^52 the address is no longer exact in a double; such a BAR (e.g. in
        // the middle of an all-ones size probe) decodes nowhere.
        if (hi >= 0x10_0000) return null;
        const addr = hi * TWO_32 + ((raw & 0xfffffff0) >>> 0);
        return addr === 0 ? null : addr;
      }
    }
  }

  private syncMappings(): void {
    for (let i = 0; i <= PCI_ROM_SLOT; i++) {
      const m = this.mapped[i]!;
      const addr = this.effectiveAddress(i);
      if (addr === m.address) continue;
      m.address = addr;
      if (i === PCI_ROM_SLOT) this.onBarChange?.(i, 'rom', addr, this.romSize);
      else {
        const def = this.barSlots[i]!.def;
        this.onBarChange?.(i, def.kind, addr, def.sizeBytes);
      }
    }
  }

  private updateIntxLine(): void {
    if (!this.irq) return;
    const disabled = (this.reg16(PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE) !== 0;
    this.irq.set(this.intx && !disabled);
  }
}

function validAccess(reg: number, size: number): boolean {
  return Number.isInteger(reg) && reg >= 0 && reg + size <= CONFIG_SIZE;
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && n <= 0x8000_0000 && (n & (n - 1)) === 0;
}

function checkRange(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`PciFunction: ${name} ${v} out of range 0..${max}`);
}

/** Lower-case hex encoding of `bytes` (state serialisation). */
export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Decodes an even-length hex string; the caller validated its characters. */
export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}
