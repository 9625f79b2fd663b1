/**
 * AtapiCdrom: an ATAPI CD/DVD-ROM drive with a removable medium (a read-only ISO
 * BlockBackend), the device install ISOs and the virtio-win driver ISO are read from.
 *
 * ATA side (ATA/ATAPI-6): IDENTIFY PACKET DEVICE (8.16), PACKET (8.21) with the PACKET
 * protocol of 9.8/9.9 (the 12-byte command packet is written through the Data register
 * while Sector Count holds the interrupt reason CoD=1/IO=0; data-in blocks are offered
 * with the byte count in LBA Mid/High limited by the host's byte count limit, IO=1/CoD=0
 * and an interrupt each; the end is IO=1/CoD=1 with an interrupt; the Features DMA bit
 * moves the data through the bus master instead), DEVICE RESET (8.10), SET FEATURES
 * (transfer mode), power commands, NOP. IDENTIFY DEVICE and the ATA read/write commands
 * abort and leave the ATAPI signature (9.12), which is how drivers find packet devices.
 *
 * Packet commands (SFF-8020i r2.6 / MMC-5 / SPC-3): TEST UNIT READY, REQUEST SENSE
 * (fixed format; sense key, ASC and ASCQ are kept per device from the last command and
 * cleared once reported), INQUIRY, READ CAPACITY, READ(10), READ(12), READ CD (user data
 * only), SEEK(10), READ TOC/PMA/ATIP (formats 0, 1, 2, LBA or MSF), MODE SENSE(10)
 * (pages 01h, 0Dh, 0Eh, 2Ah, 3Fh), GET CONFIGURATION, GET EVENT STATUS NOTIFICATION
 * (polled, media class), START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, READ DISC
 * INFORMATION, MECHANISM STATUS, SET CD SPEED, READ SUB-CHANNEL. Anything else is
 * CHECK CONDITION with ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE. A failed command
 * ends with ERR, the sense key in Error bits 7:4 (QEMU ide_atapi_cmd_error) and IO=CoD=1.
 *
 * Medium changes follow the MMC-5 unit-attention model as QEMU applies it (hw/ide/atapi.c,
 * ALLOW_UA and CHECK_READY command flags): while the drive is empty, commands that need a
 * medium report NOT READY / MEDIUM NOT PRESENT (3Ah); after `insert` the first command
 * other than INQUIRY, REQUEST SENSE, GET CONFIGURATION and GET EVENT STATUS NOTIFICATION
 * reports UNIT ATTENTION / NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED (28h) once.
 * Media events (new media, eject request, media removal) queue for GET EVENT STATUS
 * NOTIFICATION. PREVENT ALLOW MEDIUM REMOVAL locks the tray: a guest START STOP UNIT eject
 * then fails with ILLEGAL REQUEST / MEDIUM REMOVAL PREVENTED, and a host `eject()`
 * is refused and queues an eject-request event instead (unless forced).
 *
 * The drive's data reads go in 64 KiB backend requests; a backend error ends the command
 * with MEDIUM ERROR / UNRECOVERED READ ERROR.
 *
 * Left out: audio playback, READ CD of anything but user data, DVD structures, write
 * commands (the drive is a ROM), GESN classes other than media (operational change,
 * power, external request, multi-host, device busy report "no event available"),
 * overlapped commands and the service command.
 */
import type { BlockBackend } from '../../storage/block-backend.js';
import {
  ATA_CMD, ATA_ER_ABRT, ATA_SR_BSY, ATA_SR_DRDY, ATA_SR_DRQ, ATA_SR_DSC, ATA_SR_ERR, ATAPI_FEAT_DMA,
  ATAPI_IR_COD, ATAPI_IR_IO, SETFEAT_SET_TRANSFER_MODE,
} from './ide-constants.js';
import { IdeDevice, type IdeResetKind, STATUS_READY } from './ide-device.js';
import { atapiIdentify, TransferMode } from './identify.js';
import {
  type Asc, ASC_DATA_PHASE_ERROR, ASC_INCOMPATIBLE_FORMAT, ASC_INVALID_COMMAND_OPERATION_CODE, ASC_INVALID_FIELD_IN_CDB, ASC_LBA_OUT_OF_RANGE,
  ASC_MEDIUM_MAY_HAVE_CHANGED, ASC_MEDIUM_NOT_PRESENT, ASC_MEDIUM_REMOVAL_PREVENTED, ASC_NONE,
  ASC_SAVING_PARAMETERS_NOT_SUPPORTED, ASC_UNRECOVERED_READ_ERROR, MEDIA_EVENT_EJECT_REQUEST,
  MEDIA_EVENT_MEDIA_REMOVAL, MEDIA_EVENT_NEW_MEDIA, MEDIA_EVENT_NO_CHANGE, MMC, SENSE_ILLEGAL_REQUEST,
  SENSE_MEDIUM_ERROR, SENSE_NO_SENSE, SENSE_NOT_READY, SENSE_UNIT_ATTENTION,
} from './atapi-sense.js';
import {
  be16, be32, CD_SECTOR_BYTES, configurationData, discInformationData, inquiryData, mechanismStatusData,
  modeSenseData, readCapacityData, vpdPage, senseData, subchannelData, tocData,
} from './mmc-data.js';
import { bool, ints, obj, version } from '../state-check.js';

/** Length of an ATAPI command packet. */
export const ATAPI_PACKET_BYTES = 12;
/** Largest backend request of a drive read. */
const READ_CHUNK_BYTES = 64 * 1024;
/** Most media events kept for GET EVENT STATUS NOTIFICATION. */
const MAX_EVENTS = 4;

/** Construction options of a CD-ROM drive. */
export interface AtapiCdromOptions {
  /** Stable id for logs and snapshots, e.g. "ide1-cd0". */
  readonly id: string;
  /** The medium in the drive at power-on, if any (an ISO backend). */
  readonly medium?: BlockBackend | null;
  readonly serial?: string;
  /** IDENTIFY model string; default "VIREO DVD-ROM". */
  readonly model?: string;
  readonly firmware?: string;
  /** INQUIRY vendor (8 chars), default "VIREO". */
  readonly vendor?: string;
  /** INQUIRY product (16 chars), default "CD-ROM". */
  readonly product?: string;
  /** The guest ejected `medium` (START STOP UNIT); the host may close it. */
  readonly onGuestEject?: (medium: BlockBackend) => void;
}

/** Where the data of a data-in command comes from. */
interface DataSource {
  readonly total: number;
  /** Produces the bytes starting at `offset` (at least one); null on a read error. */
  chunk(offset: number, then: (data: Uint8Array | null) => void): void;
}

/** Commands allowed while a unit attention is pending (QEMU ALLOW_UA). */
const ALLOW_UA = new Set<number>([MMC.INQUIRY, MMC.REQUEST_SENSE, MMC.GET_CONFIGURATION, MMC.GET_EVENT_STATUS_NOTIFICATION]);
/** Commands that need a medium (QEMU CHECK_READY). */
const CHECK_READY = new Set<number>([MMC.TEST_UNIT_READY, MMC.READ_10, MMC.READ_12, MMC.READ_CD, MMC.SEEK_10,
  MMC.READ_CAPACITY, MMC.READ_TOC_PMA_ATIP, MMC.READ_SUBCHANNEL, MMC.READ_DISC_INFORMATION]);

/** An ATAPI CD/DVD-ROM drive. */
export class AtapiCdrom extends IdeDevice {
  readonly kind = 'atapi' as const;
  private readonly model: string;
  private readonly serial: string;
  private readonly firmware: string;
  private readonly vendor: string;
  private readonly product: string;
  private readonly onGuestEject: ((medium: BlockBackend) => void) | undefined;
  /** UDMA 5 selected at power-on, as QEMU's IDENTIFY PACKET DEVICE says (word 88). */
  private readonly transferMode = new TransferMode('udma', 5);
  private medium: BlockBackend | null;
  private senseKey = SENSE_NO_SENSE;
  private asc = 0;
  private ascq = 0;
  private unitAttention = false;
  private locked = false;
  private trayOpen = false;
  private events: number[] = [];
  /** Byte count limit and DMA flag of the current PACKET command. */
  private byteCountLimit = 0xfffe;
  private packetDma = false;

  constructor(opts: AtapiCdromOptions) {
    super(opts.id);
    this.medium = opts.medium ?? null;
    this.model = opts.model ?? 'VIREO DVD-ROM';
    this.serial = opts.serial ?? `VR${opts.id.replace(/[^A-Za-z0-9]/g, '').toUpperCase()}`.slice(0, 20);
    this.firmware = opts.firmware ?? '1.0';
    this.vendor = opts.vendor ?? 'VIREO';
    this.product = opts.product ?? 'CD-ROM';
    this.onGuestEject = opts.onGuestEject;
  }

  // ---- host API -------------------------------------------------------------------------

  /** The medium in the drive, or null. */
  get currentMedium(): BlockBackend | null {
    return this.medium;
  }

  /** Whether the guest locked the tray (PREVENT ALLOW MEDIUM REMOVAL). */
  get removalPrevented(): boolean {
    return this.locked;
  }

  /** Number of 2048-byte blocks of the medium, or null without one. */
  get mediumSectors(): number | null {
    return this.medium ? Math.floor(this.medium.sizeBytes / CD_SECTOR_BYTES) : null;
  }

  /**
   * Loads `medium` (replacing any present one) and closes the tray: the guest sees a
   * NEW MEDIA event and one UNIT ATTENTION.
   */
  insert(medium: BlockBackend): void {
    if (this.medium) this.queueEvent(MEDIA_EVENT_MEDIA_REMOVAL);
    this.medium = medium;
    this.trayOpen = false;
    this.unitAttention = true;
    this.queueEvent(MEDIA_EVENT_NEW_MEDIA);
  }

  /**
   * Removes the medium as the front-panel button would. Refused while the guest prevents
   * removal (an EJECT REQUEST event is queued instead) unless `force` is set. Returns
   * whether the medium was removed; the caller owns (and may close) the old backend.
   */
  eject(force = false): boolean {
    if (this.locked && !force) {
      this.queueEvent(MEDIA_EVENT_EJECT_REQUEST);
      return false;
    }
    if (this.medium) this.queueEvent(MEDIA_EVENT_MEDIA_REMOVAL);
    this.medium = null;
    this.trayOpen = true;
    return true;
  }

  /** The 512 bytes IDENTIFY PACKET DEVICE returns now. */
  identifyData(): Uint8Array {
    return atapiIdentify({ model: this.model, serial: this.serial, firmware: this.firmware, transferMode: this.transferMode });
  }

  // ---- ATA commands ---------------------------------------------------------------------------

  /** @inheritdoc */
  executeCommand(cmd: number): void {
    const C = ATA_CMD;
    if (cmd === C.DEVICE_RESET) {
      this.reset('device-reset');
      return;
    }
    this.beginCommand();
    switch (cmd) {
      case C.PACKET: return this.packetCommand();
      case C.IDENTIFY_PACKET_DEVICE:
        this.pioIn(this.identifyData(), () => { this.status = STATUS_READY; });
        return;
      case C.SET_FEATURES:
        if (this.feature === SETFEAT_SET_TRANSFER_MODE) {
          if (!this.transferMode.select(this.nsector)) return this.abort(`transfer mode 0x${this.nsector.toString(16)}`);
          return this.completeOk();
        }
        return this.completeOk(); // other subcommands are accepted and have no effect on a ROM drive
      case C.CHECK_POWER_MODE: this.nsector = 0xff; return this.completeOk();
      case C.IDLE: case C.IDLE_IMMEDIATE: case C.STANDBY: case C.STANDBY_IMMEDIATE: case C.SLEEP:
        return this.completeOk();
      case C.IDENTIFY_DEVICE: case C.READ_SECTORS: case C.READ_SECTORS_NORETRY: case C.READ_SECTORS_EXT:
      case C.READ_DMA: case C.READ_DMA_EXT: case C.READ_MULTIPLE: case C.READ_MULTIPLE_EXT:
        // Drivers probe with these: abort with the ATAPI signature in place (ATA-6 9.12).
        this.setSignature();
        return this.completeError(ATA_ER_ABRT);
      default:
        return this.abort(`unsupported ATA command 0x${cmd.toString(16)} for a packet device`);
    }
  }

  private abort(why: string): void {
    this.misuse(`${why}: aborted`);
    this.completeError(ATA_ER_ABRT);
  }

  private packetCommand(): void {
    this.packetDma = (this.feature & ATAPI_FEAT_DMA) !== 0;
    let bcl = (this.hcyl << 8) | this.lcyl;
    // 0 is what hosts send for commands without data (Linux does for TEST UNIT READY);
    // a PIO data phase then uses the largest limit.
    if (bcl === 0) bcl = 0xfffe;
    bcl = Math.max(2, bcl & 0xfffe);
    this.byteCountLimit = bcl;
    this.nsector = (this.nsector & ~0x07) | ATAPI_IR_COD;
    const cdb = new Uint8Array(ATAPI_PACKET_BYTES);
    this.pioOut(cdb, () => {
      this.status = ATA_SR_BSY | ATA_SR_DRDY;
      this.runPacket(cdb);
    }, false, STATUS_READY);
  }

  // ---- packet commands ---------------------------------------------------------------------------

  /** Executes one command packet (exposed for tests that bypass the ATA layer). */
  runPacket(cdb: Uint8Array): void {
    const op = cdb[0]!;
    if (op !== MMC.REQUEST_SENSE) this.setSense(SENSE_NO_SENSE, ASC_NONE);
    if (this.unitAttention && !ALLOW_UA.has(op)) {
      this.unitAttention = false;
      return this.checkCondition(SENSE_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED);
    }
    if (CHECK_READY.has(op) && !this.medium) return this.checkCondition(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
    const invalid = (): void => this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
    switch (op) {
      case MMC.TEST_UNIT_READY: case MMC.SET_CD_SPEED: case MMC.SEEK_10:
        return this.packetDone();
      case MMC.REQUEST_SENSE: {
        let data: Uint8Array;
        if (this.unitAttention) {
          this.unitAttention = false;
          data = senseData(SENSE_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED.asc, ASC_MEDIUM_MAY_HAVE_CHANGED.ascq);
        } else {
          data = senseData(this.senseKey, this.asc, this.ascq);
        }
        this.setSense(SENSE_NO_SENSE, ASC_NONE);
        return this.reply(data, cdb[4]!);
      }
      case MMC.INQUIRY:
        if (cdb[1]! & 0x01) {
          const vpd = vpdPage(cdb[2]!, be16(cdb, 3), this.serial, this.model);
          if (vpd === 'short') return this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_DATA_PHASE_ERROR);
          return vpd ? this.reply(vpd, be16(cdb, 3)) : invalid();
        }
        return this.reply(inquiryData({ vendor: this.vendor, product: this.product, revision: this.firmware }), be16(cdb, 3));
      case MMC.READ_CAPACITY:
        return this.reply(readCapacityData(this.mediumSectors ?? 0), 8);
      case MMC.READ_10:
        return this.read(be32(cdb, 2), be16(cdb, 7));
      case MMC.READ_12:
        return this.read(be32(cdb, 2), be32(cdb, 6));
      case MMC.READ_CD: {
        const sectorType = (cdb[1]! >> 2) & 0x07;
        const flags = cdb[9]!;
        const count = (cdb[6]! << 16) | be16(cdb, 7);
        if (sectorType !== 0 && sectorType !== 2) return this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_INCOMPATIBLE_FORMAT);
        if (flags === 0) return this.packetDone();
        if ((flags & 0xf8) !== 0x10) return invalid();
        return this.read(be32(cdb, 2), count);
      }
      case MMC.READ_TOC_PMA_ATIP: {
        let format = cdb[2]! & 0x0f;
        if (format === 0) format = cdb[9]! >> 6; // SFF-8020i placed the format in the control byte
        const data = tocData(format, (cdb[1]! & 0x02) !== 0, cdb[6]!, this.mediumSectors ?? 0);
        return data ? this.reply(data, be16(cdb, 7)) : invalid();
      }
      case MMC.MODE_SENSE_10: {
        const data = modeSenseData(cdb[2]! & 0x3f, cdb[2]! >> 6, this.locked, this.medium !== null);
        if (data === 'saved') return this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_SAVING_PARAMETERS_NOT_SUPPORTED);
        if (data === 'invalid') return invalid();
        return this.reply(data, be16(cdb, 7));
      }
      case MMC.GET_CONFIGURATION: {
        if (be16(cdb, 2) !== 0) return invalid(); // QEMU: only a starting feature of 0
        const data = configurationData(cdb[1]! & 0x03, be16(cdb, 2), this.mediumSectors);
        return data ? this.reply(data, be16(cdb, 7)) : invalid();
      }
      case MMC.GET_EVENT_STATUS_NOTIFICATION:
        if (!(cdb[1]! & 0x01)) return invalid(); // asynchronous notification is not supported
        return this.reply(this.eventStatus(cdb[4]!), be16(cdb, 7));
      case MMC.START_STOP_UNIT:
        return this.startStopUnit(cdb[4]!);
      case MMC.PREVENT_ALLOW_MEDIUM_REMOVAL:
        this.locked = (cdb[4]! & 0x01) !== 0;
        return this.packetDone();
      case MMC.READ_DISC_INFORMATION:
        if (cdb[1]! & 0x07) return invalid();
        return this.reply(discInformationData(), be16(cdb, 7));
      case MMC.MECHANISM_STATUS:
        return this.reply(mechanismStatusData(this.trayOpen), be16(cdb, 8));
      case MMC.READ_SUBCHANNEL: {
        const data = subchannelData((cdb[2]! & 0x40) !== 0, cdb[3]!, (cdb[1]! & 0x02) !== 0);
        return data ? this.reply(data, be16(cdb, 7)) : invalid();
      }
      default:
        this.misuse(`unsupported packet command 0x${op.toString(16)}`);
        return this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_INVALID_COMMAND_OPERATION_CODE);
    }
  }

  private startStopUnit(flags: number): void {
    const loej = (flags & 0x02) !== 0;
    const start = (flags & 0x01) !== 0;
    if (loej && !start) {
      if (this.locked) return this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
      const old = this.medium;
      this.eject(true);
      if (old) this.onGuestEject?.(old);
    } else if (loej && start) {
      this.trayOpen = false;
    }
    this.packetDone();
  }

  private eventStatus(classes: number): Uint8Array {
    if (!(classes & 0x10)) {
      // Event data length counts the bytes after the 4-byte header, as QEMU fills it in.
      const b = new Uint8Array(4);
      b[2] = 0x80; // NEA: none of the requested classes is supported
      b[3] = 0x10; // supported: media
      return b;
    }
    const b = new Uint8Array(8);
    b[1] = 4;
    b[2] = 0x04; // media class
    b[3] = 0x10;
    b[4] = this.events.shift() ?? MEDIA_EVENT_NO_CHANGE;
    b[5] = (this.trayOpen ? 0x01 : 0) | (this.medium ? 0x02 : 0);
    return b;
  }

  private queueEvent(code: number): void {
    if (this.events.length >= MAX_EVENTS) this.events.shift();
    this.events.push(code);
  }

  private setSense(key: number, a: Asc): void {
    this.senseKey = key;
    this.asc = a.asc;
    this.ascq = a.ascq;
  }

  // ---- data-in and completion -------------------------------------------------------------------

  private read(lba: number, count: number): void {
    const sectors = this.mediumSectors ?? 0;
    if (lba + count > sectors) {
      this.misuse(`read of blocks ${lba}+${count} beyond the ${sectors}-block medium`);
      return this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
    }
    const medium = this.medium!;
    const total = count * CD_SECTOR_BYTES;
    this.dataIn({
      total,
      chunk: (offset, then) => {
        const buf = new Uint8Array(Math.min(READ_CHUNK_BYTES, total - offset));
        this.backendIo(() => medium.read(lba * CD_SECTOR_BYTES + offset, buf), (err) => then(err ? null : buf));
      },
    });
  }

  /** Returns `data` truncated to the allocation length. */
  private reply(data: Uint8Array, allocationLength: number): void {
    const d = data.subarray(0, Math.min(data.length, allocationLength));
    this.dataIn({ total: d.length, chunk: (offset, then) => then(d.subarray(offset)) });
  }

  private dataIn(src: DataSource): void {
    if (src.total === 0) return this.packetDone();
    if (this.packetDma) this.dmaIn(src, 0);
    else this.pioInFrom(src, 0);
  }

  private pioInFrom(src: DataSource, offset: number): void {
    this.status = ATA_SR_BSY | ATA_SR_DRDY;
    src.chunk(offset, (data) => {
      if (!data) return this.checkCondition(SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR);
      this.offerBlock(src, offset, data, 0);
    });
  }

  private offerBlock(src: DataSource, base: number, data: Uint8Array, pos: number): void {
    let n = Math.min(data.length - pos, this.byteCountLimit);
    if (n < data.length - pos) n &= ~1; // a block that is not the last has an even length
    this.lcyl = n & 0xff;
    this.hcyl = (n >>> 8) & 0xff;
    this.nsector = (this.nsector & ~0x07) | ATAPI_IR_IO;
    this.pioIn(data.subarray(pos, pos + n), () => {
      const next = pos + n;
      if (base + next >= src.total) this.packetDone();
      else if (next < data.length) this.offerBlock(src, base, data, next);
      else this.pioInFrom(src, base + next);
    }, true, ATA_SR_DRDY | ATA_SR_DSC);
  }

  private dmaIn(src: DataSource, offset: number): void {
    // BSY while the medium is read; then DRDY, DSC and DRQ until the bus master has moved
    // the data, which is what QEMU shows between the packet and the bus master start
    // (ide_atapi_cmd_reply / ide_atapi_cmd_read_dma).
    this.status = ATA_SR_BSY | ATA_SR_DRDY | ATA_SR_DSC;
    this.dmaActive = true;
    src.chunk(offset, (data) => {
      this.status = ATA_SR_DRDY | ATA_SR_DSC | ATA_SR_DRQ;
      if (!data) {
        this.dmaActive = false;
        this.bus?.dma?.finish(false);
        return this.checkCondition(SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR);
      }
      this.dmaTransfer(true, data, (r) => {
        if (r === 'short') return this.dmaShort();
        if (r === 'error') {
          this.dmaActive = false;
          this.bus?.dma?.finish(false);
          return this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_NONE);
        }
        const next = offset + data.length;
        if (next < src.total) return this.dmaIn(src, next);
        this.dmaActive = false;
        // QEMU ends an ATAPI DMA command with Active clear even when the PRD table was
        // larger than the data (ide_atapi_cmd_read_dma_cb; unlike ATA commands).
        this.bus?.dma?.finish(true, true);
        this.packetDone();
      });
    });
  }

  /** Command completed: IO=1, CoD=1, DRDY, INTRQ. */
  private packetDone(): void {
    this.nsector = (this.nsector & ~0x07) | ATAPI_IR_IO | ATAPI_IR_COD;
    this.completeOk();
  }

  /** CHECK CONDITION: the sense is kept for REQUEST SENSE; ERR with the key in Error. */
  private checkCondition(key: number, a: Asc): void {
    this.setSense(key, a);
    this.nsector = (this.nsector & ~0x07) | ATAPI_IR_IO | ATAPI_IR_COD;
    this.completeError(key << 4);
    this.status = ATA_SR_DRDY | ATA_SR_ERR;
  }

  // ---- reset and state -------------------------------------------------------------------------------

  /** @inheritdoc */
  protected resetSettings(kind: IdeResetKind): void {
    this.byteCountLimit = 0xfffe;
    this.packetDma = false;
    if (kind === 'power-on' || kind === 'hard') {
      this.transferMode.reset();
      this.locked = false;
      this.setSense(SENSE_NO_SENSE, ASC_NONE);
      this.unitAttention = false;
      this.events = [];
    }
  }

  /** `{ v: 1, kind: 'atapi', regs, sense: [key, asc, ascq], unitAttention, locked, trayOpen, events, mediumPresent, transferMode }`. */
  saveState(): Record<string, unknown> {
    return {
      v: 1, kind: 'atapi', regs: this.saveRegs(), sense: [this.senseKey, this.asc, this.ascq],
      unitAttention: this.unitAttention, locked: this.locked, trayOpen: this.trayOpen, events: [...this.events],
      mediumPresent: this.medium !== null, transferMode: this.transferMode.save(),
    };
  }

  /**
   * @inheritdoc
   * The medium itself is a host handle: when the saved presence differs from the drive's
   * current medium, the guest is told the medium changed.
   */
  parseState(state: unknown): () => boolean {
    const where = this.id;
    const s = obj(where, state);
    version(where, s, 1);
    if (s['kind'] !== 'atapi') throw new Error(`${where}.kind: the state is not an ATAPI drive's`);
    const regs = this.parseRegs(`${where}.regs`, obj(`${where}.regs`, s['regs']));
    const sense = ints(where, s, 'sense', 0, 0xff, 3, 3);
    if (sense[0]! > 0x0f) throw new Error(`${where}.sense: bad sense key`);
    const ua = bool(where, s, 'unitAttention');
    const locked = bool(where, s, 'locked');
    const trayOpen = bool(where, s, 'trayOpen');
    const events = ints(where, s, 'events', 0, 3, 0, MAX_EVENTS);
    const present = bool(where, s, 'mediumPresent');
    const tm = this.transferMode.parse(`${where}.transferMode`, s['transferMode']);
    return () => {
      this.senseKey = sense[0]!; this.asc = sense[1]!; this.ascq = sense[2]!;
      this.unitAttention = ua; this.locked = locked; this.trayOpen = trayOpen; this.events = [...events];
      tm();
      if (present !== (this.medium !== null)) {
        this.unitAttention = this.medium !== null;
        this.trayOpen = this.medium === null;
        this.queueEvent(this.medium ? MEDIA_EVENT_NEW_MEDIA : MEDIA_EVENT_MEDIA_REMOVAL);
      }
      this.byteCountLimit = 0xfffe;
      this.packetDma = false;
      return regs();
    };
  }
}
