/**
 * Piix3Ide: the IDE function of the Intel 82371SB PIIX3 (PCI 8086:7010, revision 00h),
 * function 1 of the PIIX3 at 00:01.1 on QEMU's "pc" machine (hw/ide/piix.c).
 *
 * Follows the 82371SB datasheet section 2.3 (IDE configuration registers: class code
 * 010180h, i.e. mass storage / IDE / programming interface 80h "bus master capable,
 * both channels fixed in compatibility mode"; BMIBA at 20h, the 16-byte bus master I/O
 * block of BAR4; IDETIM at 40h-43h and SIDETIM at 44h kept as plain storage) and section
 * 2.7 for the bus master registers (see bus-master.ts, SFF-8038i). In compatibility mode
 * the channels decode the legacy ports, which the board maps: primary 1F0h-1F7h and 3F6h
 * on ISA IRQ 14, secondary 170h-177h and 376h on IRQ 15. INTx is not used (interrupt
 * pin 0), as on the real part.
 *
 * As in QEMU, the legacy ports are not gated by the PCI Command I/O enable or the
 * IDETIM IDE Decode Enable bits (SeaBIOS and every OS leave them on); bus-master DMA is
 * gated by Bus Master Enable.
 *
 * Left out: native-PCI mode (the programming interface is read-only), PIO/DMA timing
 * effects of IDETIM/SIDETIM, the PIIX4 UDMA control registers (48h-4Bh; QEMU's PIIX3
 * has none either).
 */
import type { DeviceState, IrqLine, IoHandler, ResetKind } from '../device.js';
import { type BarChangeCallback, type GuestLog, PciFunction } from '../pci/pci-function.js';
import { BusMaster, type DmaMemory } from './bus-master.js';
import { IdeChannel } from './ide-channel.js';
import type { IdeDevice } from './ide-device.js';
import { obj } from '../state-check.js';

/** Vendor and device id of the PIIX3 IDE function. */
export const PIIX3_IDE_VENDOR_ID = 0x8086;
export const PIIX3_IDE_DEVICE_ID = 0x7010;
/** Class code: IDE controller, compatibility mode both channels, bus master capable. */
export const PIIX3_IDE_CLASS_CODE = 0x010180;
/** IDE Timing registers (primary 40h-41h, secondary 42h-43h) and Slave IDE Timing. */
export const PIIX_IDETIM_PRIMARY = 0x40;
export const PIIX_IDETIM_SECONDARY = 0x42;
export const PIIX_SIDETIM = 0x44;
/** The BAR holding the bus master block (BMIBA, config 20h). */
export const PIIX3_IDE_BM_BAR = 4;

/** Construction options. */
export interface Piix3IdeOptions {
  /** Snapshot id; default "piix3-ide". */
  readonly id?: string;
  /** Primary channel INTRQ (ISA IRQ 14). */
  readonly irqPrimary: IrqLine;
  /** Secondary channel INTRQ (ISA IRQ 15). */
  readonly irqSecondary: IrqLine;
  /** Guest memory for bus-master DMA. */
  readonly memory: DmaMemory;
  /** BAR4 moved: register `busMasterIo` at the address (16 ports), or unregister it. */
  readonly onBarChange?: BarChangeCallback;
  /** Called after each asynchronous disk completion (wakes a halted CPU). */
  readonly onAsyncCompletion?: () => void;
  readonly log?: GuestLog;
}

/** The PIIX3 IDE controller (PCI function + two channels + bus master). */
export class Piix3Ide extends PciFunction {
  /** Primary (0) and secondary (1) channels. */
  readonly channels: readonly [IdeChannel, IdeChannel];
  /** The bus master engines (SFF-8038i). */
  readonly bmdma: BusMaster;
  /** Primary command block (map 8 ports at 1F0h). */
  readonly primaryIo: IoHandler;
  /** Primary control block (map 1 port at 3F6h). */
  readonly primaryCtl: IoHandler;
  /** Secondary command block (map 8 ports at 170h). */
  readonly secondaryIo: IoHandler;
  /** Secondary control block (map 1 port at 376h). */
  readonly secondaryCtl: IoHandler;
  /** The BAR4 bus master block (16 ports, wherever the BAR lands). */
  readonly busMasterIo: IoHandler;

  constructor(opts: Piix3IdeOptions) {
    const id = opts.id ?? 'piix3-ide';
    super({
      id, vendorId: PIIX3_IDE_VENDOR_ID, deviceId: PIIX3_IDE_DEVICE_ID, revision: 0x00,
      classCode: PIIX3_IDE_CLASS_CODE, interruptPin: 0,
      bars: [null, null, null, null, { kind: 'io', sizeBytes: 16 }],
      onBarChange: opts.onBarChange,
      log: opts.log,
    });
    // Medium DEVSEL timing and fast back-to-back capable, as the 82371SB reports (2.3.4).
    this.setDefault(0x06, 2, 0x0280);
    this.bmdma = new BusMaster(id, {
      memory: opts.memory,
      masterEnabled: () => this.busMaster,
      log: opts.log,
    });
    const mk = (n: 0 | 1, irq: IrqLine): IdeChannel => new IdeChannel({
      id: `${id}.${n === 0 ? 'primary' : 'secondary'}`,
      irq,
      dma: this.bmdma.channels[n],
      onIrqRaised: () => this.bmdma.channels[n].noteInterrupt(),
      onAsyncCompletion: opts.onAsyncCompletion,
      log: opts.log,
    });
    this.channels = [mk(0, opts.irqPrimary), mk(1, opts.irqSecondary)];
    this.primaryIo = this.channels[0].io;
    this.primaryCtl = this.channels[0].ctl;
    this.secondaryIo = this.channels[1].io;
    this.secondaryCtl = this.channels[1].ctl;
    this.busMasterIo = this.bmdma.io;
  }

  /** Attaches `drive` as device `unit` of `channel` (0 = primary). Construction time only. */
  attach(channel: 0 | 1, unit: 0 | 1, drive: IdeDevice): void {
    this.channels[channel].attach(unit, drive);
  }

  /** Resolves once no drive has a backend request in flight. */
  async settled(): Promise<void> {
    for (const c of this.channels) await c.settled();
  }

  /** Guest misuses counted by the function, channels, drives and bus master together. */
  get totalGuestErrors(): number {
    let n = this.guestErrors;
    for (const c of this.channels) {
      n += c.guestErrors;
      for (const u of [0, 1] as const) n += c.drive(u)?.guestErrors ?? 0;
    }
    for (const b of this.bmdma.channels) n += b.guestErrors;
    return n;
  }

  /** @inheritdoc */
  protected override resetDevice(kind: ResetKind): void {
    this.bmdma.reset();
    for (const c of this.channels) c.reset(kind);
  }

  /** `{ v: 1, config, intx, channels: [..], busMaster: [..] }`. */
  override saveState(): DeviceState {
    return {
      ...this.savePciState(),
      channels: this.channels.map((c) => c.saveState()),
      busMaster: this.bmdma.channels.map((b) => b.saveState()),
    };
  }

  /** Validates the whole state before applying any of it. */
  override loadState(state: unknown): void {
    const pci = this.parsePciState(state);
    const s = obj(this.id, state);
    const ch = s['channels'];
    const bm = s['busMaster'];
    if (!Array.isArray(ch) || ch.length !== 2) throw new Error(`${this.id}.channels: expected 2 entries`);
    if (!Array.isArray(bm) || bm.length !== 2) throw new Error(`${this.id}.busMaster: expected 2 entries`);
    const applyBm = this.bmdma.channels.map((b, i) => b.parseState(`${this.id}.busMaster[${i}]`, bm[i]));
    const applyCh = this.channels.map((c, i) => c.parseState(ch[i]));
    this.applyPciState(pci);
    for (const a of applyBm) a();
    for (const a of applyCh) a();
  }
}
