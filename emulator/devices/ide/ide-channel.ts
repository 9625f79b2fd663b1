/**
 * IdeChannel: one ATA channel (primary or secondary) with a device 0 (master) and a
 * device 1 (slave) slot, as seen through its command block (8 ports, 1F0h/170h) and its
 * control block (Device Control on write, Alternate Status on read; 3F6h/376h).
 *
 * Follows ATA/ATAPI-6 (T13 1410D): 7.1 (register addressing; writes to the command block
 * go to both devices, reads come from the selected one), 7.9 (Device Control: nIEN,
 * SRST, HOB), 7.10 (Device/Head select), 7.15 (Status; reading it clears the pending
 * interrupt, Alternate Status does not), 9.2 (software reset protocol with the
 * signatures of 9.12), 8.11 (EXECUTE DEVICE DIAGNOSTIC goes to both devices), and the
 * 48-bit register FIFO of 6.20 (each register keeps its previous value, read back with
 * HOB set). Writes to any command block register clear HOB.
 *
 * Behaviour of absent devices follows QEMU hw/ide/core.c (ide_ioport_read): with no
 * device on the channel every register reads 0; with one device present, Status and
 * Error of the selected empty slot read 0 while its other registers come from a task
 * file of its own that takes the writes like a device's and is loaded at every reset
 * with the signature QEMU gives an empty slot (Sector Count 1, LBA Low 1, LBA Mid/High
 * FFh; Linux libata classifies that as "no device"). Commands to an absent device are ignored, as are writes to the command block
 * while the selected device has BSY or DRQ set (QEMU), except DEVICE RESET to an ATAPI
 * device. INTRQ is one level per channel on the injected IrqLine, released while nIEN
 * is set (the pending interrupt is kept and reappears when nIEN is cleared).
 *
 * Left out: the 8-bit data transfer feature, PDIAG-/DASP- timing (resets complete at
 * once), the floppy's 3F7h Digital Input register (not part of the IDE block).
 */
import type { AccessSize, Device, DeviceState, IoHandler, IrqLine, ResetKind } from '../device.js';
import {
  ATA_CMD, ATA_DC_HOB, ATA_DEV_OBS, ATA_DC_NIEN, ATA_DC_SRST, ATA_DEV_DEV, ATA_REG_COMMAND, ATA_REG_DATA, ATA_REG_DEVICE,
  ATA_REG_ERROR, ATA_REG_LBA_HIGH, ATA_REG_LBA_LOW, ATA_REG_LBA_MID, ATA_REG_NSECTOR, ATA_SR_BSY, ATA_SR_DRQ,
} from './ide-constants.js';
import type { IdeBusContext, IdeDevice, IdeDma } from './ide-device.js';
import { bool, int, obj, version } from '../state-check.js';

/** Sink for guest-misuse and backend-error messages (the board rate-limits). */
export type IdeLog = (message: string) => void;

/** Construction options of a channel. */
export interface IdeChannelOptions {
  /** Stable id, e.g. "ide.primary". */
  readonly id: string;
  /** INTRQ (ISA IRQ 14 or 15 in compatibility mode). */
  readonly irq: IrqLine;
  /** The channel's bus master engine, if the controller has one. */
  readonly dma?: IdeDma | null;
  /** Called each time INTRQ is asserted while enabled (sets the bus master Interrupt bit). */
  readonly onIrqRaised?: () => void;
  /** Called after each asynchronous completion (the machine wakes a halted CPU). */
  readonly onAsyncCompletion?: () => void;
  readonly log?: IdeLog;
}

/** The task file registers an empty slot keeps (QEMU's IDEState without a drive). */
interface SlotRegs {
  feature: number; hobFeature: number; nsector: number; hobNsector: number; sector: number; hobSector: number;
  lcyl: number; hobLcyl: number; hcyl: number; hobHcyl: number; select: number;
}

const EMPTY_SLOT_KEYS = ['feature', 'hobFeature', 'nsector', 'hobNsector', 'sector', 'hobSector', 'lcyl', 'hobLcyl',
  'hcyl', 'hobHcyl', 'select'] as const;

/** The registers of an empty slot after a reset: QEMU's ide_reset + ide_set_signature without a drive. */
function emptySlotRegs(): SlotRegs {
  return {
    feature: 0, hobFeature: 0, nsector: 1, hobNsector: 0, sector: 1, hobSector: 0,
    lcyl: 0xff, hobLcyl: 0, hcyl: 0xff, hobHcyl: 0, select: ATA_DEV_OBS,
  };
}

/** One IDE channel with two device slots. */
export class IdeChannel implements Device {
  /** Stable snapshot id. */
  readonly id: string;
  /** Command block: 8 ports (Data at offset 0, 16/32-bit; the rest byte registers). */
  readonly io: IoHandler;
  /** Control block: 1 port (Alternate Status / Device Control). */
  readonly ctl: IoHandler;
  /** Guest misuses counted by the channel itself (see also each device's count). */
  guestErrors = 0;

  private readonly irq: IrqLine;
  private readonly dma: IdeDma | null;
  private readonly onIrqRaised: (() => void) | undefined;
  private readonly onAsyncCompletion: (() => void) | undefined;
  private readonly logSink: IdeLog | undefined;
  private readonly units: [IdeDevice | null, IdeDevice | null] = [null, null];
  /** Registers of the slots without a drive. */
  private readonly empty: [SlotRegs, SlotRegs] = [emptySlotRegs(), emptySlotRegs()];
  /** Selected device (the DEV bit of the last Device/Head write). */
  private unit = 0;
  /** Last value written to Device Control. */
  private devCtl = 0;
  /** Pending interrupt (INTRQ before nIEN gating). */
  private intrq = false;
  private lineLevel = false;

  constructor(opts: IdeChannelOptions) {
    this.id = opts.id;
    this.irq = opts.irq;
    this.dma = opts.dma ?? null;
    this.onIrqRaised = opts.onIrqRaised;
    this.onAsyncCompletion = opts.onAsyncCompletion;
    this.logSink = opts.log;
    this.io = {
      minSize: 1, maxSize: 4,
      read: (offset, size) => this.ioRead(offset, size),
      write: (offset, size, value) => this.ioWrite(offset, size, value),
    };
    this.ctl = {
      minSize: 1, maxSize: 1,
      read: () => this.altStatus(),
      write: (_offset, _size, value) => this.controlWrite(value & 0xff),
    };
  }

  /** Puts `drive` in slot `unit` (0 = master, 1 = slave). Construction time only. */
  attach(unit: 0 | 1, drive: IdeDevice): void {
    if (this.units[unit]) throw new Error(`${this.id}: unit ${unit} already has a drive`);
    const ctx: IdeBusContext = {
      raiseIrq: () => this.raiseIrq(),
      dma: this.dma,
      log: (m) => this.logSink?.(m),
      asyncCompletion: () => this.onAsyncCompletion?.(),
    };
    drive.attachBus(ctx);
    drive.reset('power-on');
    this.units[unit] = drive;
  }

  /** The drive in slot `unit`, or null. */
  drive(unit: 0 | 1): IdeDevice | null {
    return this.units[unit];
  }

  /** Whether INTRQ is pending (before nIEN). */
  get interruptPending(): boolean {
    return this.intrq;
  }

  /** Resolves once no drive has a backend request in flight. */
  async settled(): Promise<void> {
    for (const d of this.units) if (d) await d.settled();
  }

  // ---- Device ----------------------------------------------------------------------------

  /** Hardware reset of the channel (RESET-): both devices, nIEN cleared, INTRQ released. */
  reset(kind: ResetKind): void {
    for (const d of this.units) d?.reset(kind);
    this.resetEmptySlots();
    this.unit = 0;
    this.devCtl = 0;
    this.intrq = false;
    this.updateLine();
  }

  /** `{ v: 1, unit, devCtl, intrq, drives: [state | null, state | null] }`. */
  saveState(): DeviceState {
    return {
      v: 1, unit: this.unit, devCtl: this.devCtl, intrq: this.intrq,
      drives: this.units.map((d) => (d ? d.saveState() : null)),
      emptySlots: this.empty.map((r) => ({ ...r })),
    };
  }

  /** Validates everything first, then applies. Drives must match the attached ones. */
  loadState(state: unknown): void {
    const apply = this.parseState(state);
    apply();
  }

  /** Validation half of `loadState`, for the controller that owns several channels. */
  parseState(state: unknown): () => void {
    const where = this.id;
    const s = obj(where, state);
    version(where, s, 1);
    const unit = int(where, s, 'unit', 0, 1);
    const devCtl = int(where, s, 'devCtl', 0, 0xff);
    const intrq = bool(where, s, 'intrq');
    const drives = s['drives'];
    if (!Array.isArray(drives) || drives.length !== 2) throw new Error(`${where}.drives: expected an array of 2 entries`);
    // Optional: states saved before empty slots had registers load with reset values.
    const emptySlots: SlotRegs[] = [emptySlotRegs(), emptySlotRegs()];
    const es = s['emptySlots'];
    if (es !== undefined) {
      if (!Array.isArray(es) || es.length !== 2) throw new Error(`${where}.emptySlots: expected an array of 2 entries`);
      es.forEach((e: unknown, i) => {
        const o = obj(`${where}.emptySlots[${i}]`, e);
        for (const k of EMPTY_SLOT_KEYS) emptySlots[i]![k] = int(`${where}.emptySlots[${i}]`, o, k, 0, 0xff);
      });
    }
    const applies: Array<(() => boolean) | null> = [];
    for (let i = 0; i < 2; i++) {
      const d = this.units[i];
      const ds: unknown = drives[i];
      if ((ds === null) !== (d === null)) throw new Error(`${where}.drives[${i}]: the state does not match the attached drive`);
      applies.push(d && ds !== null ? d.parseState(ds) : null);
    }
    return () => {
      this.unit = unit;
      this.devCtl = devCtl;
      this.intrq = intrq;
      this.empty[0] = emptySlots[0]!;
      this.empty[1] = emptySlots[1]!;
      for (const a of applies) if (a && a()) this.intrq = true;
      this.lineLevel = !(this.intrq && !(this.devCtl & ATA_DC_NIEN)); // force the line to be driven
      this.updateLine();
    };
  }

  // ---- register access ---------------------------------------------------------------------

  private ioRead(offset: number, size: AccessSize): number {
    if (offset === ATA_REG_DATA) {
      if (size === 1) { this.misuse('byte read of the Data register'); return 0xff; }
      const d = this.selected();
      if (!d) { this.misuse('data read from an absent device'); return 0; }
      return d.readData(size);
    }
    let v = 0;
    for (let i = 0; i < size; i++) {
      const r = offset + i;
      v |= (r <= 7 ? this.readReg(r) : 0xff) << (8 * i);
    }
    if (size > 1) this.misuse(`${size}-byte read of register ${offset}`);
    return v >>> 0;
  }

  private ioWrite(offset: number, size: AccessSize, value: number): void {
    if (offset === ATA_REG_DATA) {
      if (size === 1) { this.misuse('byte write of the Data register'); return; }
      const d = this.selected();
      if (!d) { this.misuse('data write to an absent device'); return; }
      d.writeData(size, value);
      return;
    }
    if (size > 1) this.misuse(`${size}-byte write of register ${offset}`);
    for (let i = 0; i < size; i++) {
      const r = offset + i;
      if (r <= 7) this.writeReg(r, (value >>> (8 * i)) & 0xff);
    }
  }

  private readReg(reg: number): number {
    const d = this.selected();
    const any = this.units[0] !== null || this.units[1] !== null;
    if (!any) {
      if (reg === ATA_REG_COMMAND) this.clearIrq();
      return 0;
    }
    const hob = (this.devCtl & ATA_DC_HOB) !== 0;
    const tf: SlotRegs = d ?? this.empty[this.unit]!;
    switch (reg) {
      case ATA_REG_ERROR: return d ? (hob ? d.hobFeature : d.error) : 0;
      case ATA_REG_NSECTOR: return hob ? tf.hobNsector : tf.nsector;
      case ATA_REG_LBA_LOW: return hob ? tf.hobSector : tf.sector;
      case ATA_REG_LBA_MID: return hob ? tf.hobLcyl : tf.lcyl;
      case ATA_REG_LBA_HIGH: return hob ? tf.hobHcyl : tf.hcyl;
      case ATA_REG_DEVICE: return tf.select;
      default:
        this.clearIrq();
        return d ? d.status : 0;
    }
  }

  private writeReg(reg: number, v: number): void {
    this.devCtl &= ~ATA_DC_HOB;
    const sel = this.selected();
    if (reg === ATA_REG_COMMAND) {
      this.clearIrq();
      this.command(v);
      return;
    }
    if (sel && (sel.status & (ATA_SR_BSY | ATA_SR_DRQ))) {
      this.misuse(`write of register ${reg} while the device is busy (status 0x${sel.status.toString(16)})`);
      return;
    }
    for (let u = 0; u < 2; u++) {
      const d: SlotRegs = this.units[u] ?? this.empty[u]!;
      switch (reg) {
        case ATA_REG_ERROR: d.hobFeature = d.feature; d.feature = v; break;
        case ATA_REG_NSECTOR: d.hobNsector = d.nsector; d.nsector = v; break;
        case ATA_REG_LBA_LOW: d.hobSector = d.sector; d.sector = v; break;
        case ATA_REG_LBA_MID: d.hobLcyl = d.lcyl; d.lcyl = v; break;
        case ATA_REG_LBA_HIGH: d.hobHcyl = d.hcyl; d.hcyl = v; break;
        case ATA_REG_DEVICE: d.select = u === 0 ? v & ~ATA_DEV_DEV : v | ATA_DEV_DEV; break;
      }
    }
    if (reg === ATA_REG_DEVICE) this.unit = (v & ATA_DEV_DEV) ? 1 : 0;
  }

  private command(cmd: number): void {
    const d = this.selected();
    if (cmd === ATA_CMD.EXECUTE_DEVICE_DIAGNOSTIC && (this.units[0] || this.units[1])) {
      // Addressed to both devices; device 0 reports for the pair (ATA-6 8.11, table 26).
      for (const u of this.units) u?.diagnose(0x01);
      this.raiseIrq();
      return;
    }
    if (!d) return; // ignored, as QEMU does; drivers probe empty slots this way

    if (d.status & (ATA_SR_BSY | ATA_SR_DRQ)) {
      if (!(cmd === ATA_CMD.DEVICE_RESET && d.kind === 'atapi')) {
        this.misuse(`command 0x${cmd.toString(16)} while busy (status 0x${d.status.toString(16)})`);
        return;
      }
    }
    d.executeCommand(cmd);
  }

  private altStatus(): number {
    const d = this.selected();
    if (!d) return 0;
    return d.status;
  }

  private controlWrite(v: number): void {
    const was = this.devCtl;
    this.devCtl = v;
    if (!(was & ATA_DC_SRST) && (v & ATA_DC_SRST)) {
      for (const d of this.units) d?.holdInReset();
      this.intrq = false;
    } else if ((was & ATA_DC_SRST) && !(v & ATA_DC_SRST)) {
      for (const d of this.units) d?.reset('srst');
      this.resetEmptySlots();
      this.unit = 0;
    }
    this.updateLine();
  }

  private resetEmptySlots(): void {
    for (let u = 0; u < 2; u++) if (!this.units[u]) this.empty[u] = emptySlotRegs();
  }

  private selected(): IdeDevice | null {
    return this.units[this.unit];
  }

  private raiseIrq(): void {
    this.intrq = true;
    if (!(this.devCtl & ATA_DC_NIEN)) this.onIrqRaised?.();
    this.updateLine();
  }

  private clearIrq(): void {
    if (!this.intrq) return;
    this.intrq = false;
    this.updateLine();
  }

  private updateLine(): void {
    const level = this.intrq && !(this.devCtl & ATA_DC_NIEN);
    if (level === this.lineLevel) return;
    this.lineLevel = level;
    this.irq.set(level);
  }

  private misuse(message: string): void {
    this.guestErrors++;
    this.logSink?.(`${this.id}: ${message}`);
  }
}
