/**
 * BusMaster: the SFF-8038i (revision 1.0) bus master IDE registers of a PCI IDE
 * controller, as implemented by the Intel 82371SB PIIX3 IDE function (datasheet section
 * 2.7 "Bus Master IDE I/O registers", BMIBA at config 20h): a 16-byte I/O block with, per
 * channel (primary at +0, secondary at +8), the Bus Master IDE Command register (BMICx:
 * bit 0 Start/Stop, bit 3 Read/Write Control, 1 = the bus master writes memory), the
 * Status register (BMISx: bit 0 Active, bit 1 Error and bit 2 Interrupt, both
 * write-1-to-clear, bits 5/6 Drive 0/1 DMA Capable, read/write storage, bit 7 Simplex
 * only, 0) and the Descriptor Table Pointer (BMIDTPx, dword aligned).
 *
 * The engine walks the Physical Region Descriptor table (SFF-8038i section 1.2: 8-byte
 * entries, a 32-bit even memory address, a 16-bit even byte count where 0 means 64 KiB,
 * and EOT in bit 31 of the second dword) over an injected guest-memory interface. Ends
 * of a transfer follow SFF-8038i table 2 "Interrupt/Active bit interaction": the drive
 * finished and the table is exhausted: Interrupt 1, Active 0; the table is larger than
 * the transfer: Interrupt 1, Active stays 1; the table is smaller: Interrupt 0, Active 0
 * (the drive keeps waiting; `short` to the device). A failed memory access (or bus
 * mastering disabled in the PCI Command register, which QEMU models as an unreachable
 * address space) sets Error and stops the engine; the device then ends the command with
 * an error and an interrupt. As in QEMU (hw/ide/pci.c bmdma_irq), every INTRQ the channel
 * asserts sets the Interrupt bit.
 *
 * Stopping the engine (Start 1 -> 0) clears Active; a transfer requested while stopped
 * is parked until the guest sets Start, which (re)loads the table pointer.
 *
 * Left out: PCI master/target abort reporting in the PCI Status register, the 64 KiB
 * boundary rule for PRD tables and regions (tables are read linearly as the PIIX3 does;
 * regions crossing 64 KiB are accepted), Simplex mode.
 */
import type { AccessSize, IoHandler } from '../device.js';
import type { DmaResult, IdeDma } from './ide-device.js';
import { int, obj, version } from '../state-check.js';

/** Guest-physical memory as DMA sees it; false = the access failed (unmapped, out of RAM). */
export interface DmaMemory {
  read(gpa: number, dest: Uint8Array): boolean;
  write(gpa: number, src: Uint8Array): boolean;
}

/** BMICx bits. */
export const BM_CMD_START = 0x01;
/** Read/Write Control: 1 = bus master writes to memory (a drive read). */
export const BM_CMD_WRITE_TO_MEMORY = 0x08;
/** BMISx bits. */
export const BM_STATUS_ACTIVE = 0x01;
export const BM_STATUS_ERROR = 0x02;
export const BM_STATUS_INTERRUPT = 0x04;
export const BM_STATUS_DRV0_DMA = 0x20;
export const BM_STATUS_DRV1_DMA = 0x40;
export const BM_STATUS_SIMPLEX = 0x80;

/** Register offsets within a channel's 8 bytes. */
export const BM_REG_COMMAND = 0;
export const BM_REG_STATUS = 2;
export const BM_REG_PRD_TABLE = 4;

/** Size of the I/O block (both channels). */
export const BM_IO_BYTES = 16;

const PRD_EOT = 0x8000_0000;

interface Parked {
  readonly toMemory: boolean;
  readonly buf: Uint8Array;
  readonly done: (r: DmaResult) => void;
}

/** Options shared by both channels. */
export interface BusMasterOptions {
  readonly memory: DmaMemory;
  /** Whether the PCI function has Bus Master Enable set. */
  readonly masterEnabled: () => boolean;
  readonly log?: (message: string) => void;
}

/** One channel's bus master engine. */
export class BusMasterChannel implements IdeDma {
  /** BMICx (bits 0 and 3). */
  command = 0;
  /** BMISx. */
  status = 0;
  /** BMIDTPx. */
  prdTable = 0;
  /** Guest misuses seen. */
  guestErrors = 0;

  private readonly opts: BusMasterOptions;
  private readonly name: string;
  private nextEntryGpa = 0;
  private regionGpa = 0;
  private regionLeft = 0;
  private regionIsLast = false;
  private exhausted = false;
  private parked: Parked | null = null;

  constructor(name: string, opts: BusMasterOptions) {
    this.name = name;
    this.opts = opts;
  }

  /** @inheritdoc */
  transfer(toMemory: boolean, buf: Uint8Array, done: (result: DmaResult) => void): void {
    this.parked = { toMemory, buf, done };
    if (this.command & BM_CMD_START) this.runParked();
  }

  /** @inheritdoc */
  finish(success: boolean, inactive = false): void {
    this.parked = null;
    if (!success || inactive || this.exhausted) this.status &= ~BM_STATUS_ACTIVE;
  }

  /** @inheritdoc */
  cancel(): void {
    this.parked = null;
    this.status &= ~BM_STATUS_ACTIVE;
  }

  /** The channel asserted INTRQ. */
  noteInterrupt(): void {
    this.status |= BM_STATUS_INTERRUPT;
  }

  /** Power-on state. */
  reset(): void {
    this.command = 0;
    this.status = 0;
    this.prdTable = 0;
    this.parked = null;
    this.restartWalk();
  }

  /** Reads one register byte at `offset` (0..7). */
  readByte(offset: number): number {
    switch (offset) {
      case BM_REG_COMMAND: return this.command;
      case BM_REG_STATUS: return this.status;
      case BM_REG_PRD_TABLE: case BM_REG_PRD_TABLE + 1: case BM_REG_PRD_TABLE + 2: case BM_REG_PRD_TABLE + 3:
        return (this.prdTable >>> (8 * (offset - BM_REG_PRD_TABLE))) & 0xff;
      default: return 0; // device-specific bytes 1 and 3: reserved on the PIIX3
    }
  }

  /** Writes one register byte at `offset` (0..7). */
  writeByte(offset: number, v: number): void {
    switch (offset) {
      case BM_REG_COMMAND: return this.writeCommand(v);
      case BM_REG_STATUS:
        this.status = (this.status & ~(BM_STATUS_DRV0_DMA | BM_STATUS_DRV1_DMA))
          | (v & (BM_STATUS_DRV0_DMA | BM_STATUS_DRV1_DMA));
        this.status &= ~(v & (BM_STATUS_ERROR | BM_STATUS_INTERRUPT));
        return;
      case BM_REG_PRD_TABLE: case BM_REG_PRD_TABLE + 1: case BM_REG_PRD_TABLE + 2: case BM_REG_PRD_TABLE + 3: {
        const shift = 8 * (offset - BM_REG_PRD_TABLE);
        const mask = (0xff << shift) >>> 0;
        this.prdTable = ((this.prdTable & ~mask) | ((v << shift) & mask)) >>> 0;
        this.prdTable = (this.prdTable & 0xfffffffc) >>> 0;
        return;
      }
      default:
        return;
    }
  }

  /** `{ v: 1, command, status, prdTable }` (the PRD walk of a transfer in progress is not kept). */
  saveState(): { v: 1; command: number; status: number; prdTable: number } {
    return { v: 1, command: this.command, status: this.status, prdTable: this.prdTable };
  }

  /** Validates and returns the apply function. */
  parseState(where: string, state: unknown): () => void {
    const s = obj(where, state);
    version(where, s, 1);
    const command = int(where, s, 'command', 0, BM_CMD_START | BM_CMD_WRITE_TO_MEMORY);
    const status = int(where, s, 'status', 0, 0x7f);
    const prd = int(where, s, 'prdTable', 0, 0xffff_ffff);
    if (prd & 3) throw new Error(`${where}.prdTable: must be dword aligned`);
    return () => {
      this.command = command;
      this.status = status & ~BM_STATUS_ACTIVE;
      this.prdTable = prd;
      this.parked = null;
      this.restartWalk();
    };
  }

  private writeCommand(v: number): void {
    const was = this.command;
    this.command = v & (BM_CMD_START | BM_CMD_WRITE_TO_MEMORY);
    if (!(was & BM_CMD_START) && (v & BM_CMD_START)) {
      this.restartWalk();
      this.status |= BM_STATUS_ACTIVE;
      this.runParked();
    } else if ((was & BM_CMD_START) && !(v & BM_CMD_START)) {
      this.status &= ~BM_STATUS_ACTIVE;
    }
  }

  private restartWalk(): void {
    this.nextEntryGpa = this.prdTable;
    this.regionGpa = 0;
    this.regionLeft = 0;
    this.regionIsLast = false;
    this.exhausted = false;
  }

  private runParked(): void {
    const p = this.parked;
    if (!p) return;
    this.parked = null;
    const r = this.move(p);
    if (r !== 'ok') this.status &= ~BM_STATUS_ACTIVE;
    if (r === 'error') this.status |= BM_STATUS_ERROR;
    p.done(r);
  }

  private move(p: Parked): DmaResult {
    const mem = this.opts.memory;
    if (!this.opts.masterEnabled()) {
      this.misuse('DMA with Bus Master Enable clear in the PCI Command register');
      return 'error';
    }
    if (((this.command & BM_CMD_WRITE_TO_MEMORY) !== 0) !== p.toMemory) {
      this.misuse(`Read/Write Control says ${p.toMemory ? 'memory read' : 'memory write'} but the drive ${p.toMemory ? 'reads' : 'writes'}`);
    }
    const entry = new Uint8Array(8);
    let pos = 0;
    while (pos < p.buf.length) {
      if (this.regionLeft === 0) {
        if (this.exhausted) return 'short';
        if (!mem.read(this.nextEntryGpa, entry)) {
          this.misuse(`PRD entry at 0x${this.nextEntryGpa.toString(16)} is not in memory`);
          return 'error';
        }
        const addr = (entry[0]! | entry[1]! << 8 | entry[2]! << 16 | entry[3]! << 24) >>> 0;
        const hi = (entry[4]! | entry[5]! << 8 | entry[6]! << 16 | entry[7]! << 24) >>> 0;
        const count = hi & 0xfffe;
        this.regionGpa = (addr & 0xfffffffe) >>> 0;
        this.regionLeft = count === 0 ? 0x10000 : count;
        this.regionIsLast = (hi & PRD_EOT) !== 0;
        this.nextEntryGpa = (this.nextEntryGpa + 8) >>> 0;
      }
      const n = Math.min(this.regionLeft, p.buf.length - pos);
      const part = p.buf.subarray(pos, pos + n);
      const ok = p.toMemory ? mem.write(this.regionGpa, part) : mem.read(this.regionGpa, part);
      if (!ok) {
        this.misuse(`DMA to unbacked guest memory at 0x${this.regionGpa.toString(16)}`);
        return 'error';
      }
      pos += n;
      this.regionGpa += n;
      this.regionLeft -= n;
      if (this.regionLeft === 0 && this.regionIsLast) this.exhausted = true;
    }
    return 'ok';
  }

  private misuse(message: string): void {
    this.guestErrors++;
    this.opts.log?.(`${this.name}: ${message}`);
  }
}

/** The 16-byte bus master block of both channels. */
export class BusMaster {
  /** Primary (0) and secondary (1) engines. */
  readonly channels: readonly [BusMasterChannel, BusMasterChannel];
  /** The I/O handler for BAR4 (16 ports, any access size). */
  readonly io: IoHandler;

  constructor(id: string, opts: BusMasterOptions) {
    this.channels = [new BusMasterChannel(`${id}.bm0`, opts), new BusMasterChannel(`${id}.bm1`, opts)];
    this.io = {
      minSize: 1, maxSize: 4,
      read: (offset, size) => this.read(offset, size),
      write: (offset, size, value) => this.write(offset, size, value),
    };
  }

  /** Power-on state of both engines. */
  reset(): void {
    for (const c of this.channels) c.reset();
  }

  private read(offset: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      const b = o < BM_IO_BYTES ? this.channels[o >> 3]!.readByte(o & 7) : 0xff;
      v |= b << (8 * i);
    }
    return v >>> 0;
  }

  private write(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      if (o < BM_IO_BYTES) this.channels[o >> 3]!.writeByte(o & 7, (value >>> (8 * i)) & 0xff);
    }
  }
}
