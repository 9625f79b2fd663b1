/**
 * ScsiCdrom: an MMC-6 CD/DVD-ROM logical unit of 2048-byte blocks with a removable,
 * read-only medium (an ISO BlockBackend), as QEMU's scsi-cd presents it ("QEMU CD-ROM").
 * The reply layouts are the ATAPI drive's (`../ide/mmc-data.ts`): both drives answer
 * the same MMC commands with the same data.
 *
 * Commands: TEST UNIT READY, REQUEST SENSE, INQUIRY (VPD 00h, 80h, 83h), READ CAPACITY
 * (10) (MMC-6 §6.23) and (16), READ(6/10/12/16), READ CD (MMC-6 §6.19, user data only),
 * SEEK(10), SET CD SPEED, READ TOC/PMA/ATIP (formats 0-2), READ SUB-CHANNEL, MODE SENSE
 * (6/10) (pages 01h, 0Dh, 0Eh, 2Ah, 3Fh), MODE SELECT (accepted), GET CONFIGURATION (the
 * Core feature names the SCSI physical interface), GET EVENT STATUS NOTIFICATION
 * (polled, media class, MMC-6 §6.7), START STOP UNIT (eject/load; refused while locked),
 * PREVENT ALLOW MEDIUM REMOVAL, READ DISC INFORMATION, MECHANISM STATUS, VERIFY(10/12/
 * 16) (range check), SYNCHRONIZE CACHE, RESERVE/RELEASE. WRITE(6/10/12/16) and WRITE
 * SAME are DATA PROTECT / WRITE PROTECTED.
 *
 * Medium changes (SPC-4 §5.11, MMC-6 §4.1.6), as QEMU's scsi-cd: after `insert` the
 * first command that may report it gets UNIT ATTENTION / MEDIUM MAY HAVE CHANGED
 * (06/28/00); after a host `eject` UNIT ATTENTION / MEDIUM NOT PRESENT (06/3A/00); while
 * empty, commands that need the medium get NOT READY / MEDIUM NOT PRESENT (02/3A/00)
 * (all but INQUIRY, REQUEST SENSE, MODE SENSE/SELECT, START STOP UNIT, PREVENT ALLOW,
 * GET CONFIGURATION, GET EVENT STATUS NOTIFICATION, MECHANISM STATUS, RESERVE/RELEASE).
 * Media events queue for GET EVENT STATUS NOTIFICATION. While the guest prevents
 * removal, a guest eject fails with ILLEGAL REQUEST / MEDIUM REMOVAL PREVENTED and a
 * host `eject()` is refused (an eject-request event is queued) unless forced.
 *
 * Left out: audio, READ CD of other than user data, DVD structures, asynchronous GESN.
 */
import type { BlockBackend } from '../../storage/block-backend.js';
import {
  MEDIA_EVENT_EJECT_REQUEST, MEDIA_EVENT_MEDIA_REMOVAL, MEDIA_EVENT_NEW_MEDIA, MEDIA_EVENT_NO_CHANGE, MMC,
} from '../ide/atapi-sense.js';
import {
  CD_SECTOR_BYTES, configurationData, discInformationData, mechanismStatusData, modeSenseData, readCapacityData,
  subchannelData, tocData,
} from '../ide/mmc-data.js';
import { bool, ints } from '../state-check.js';
import { be16, be24, be32, blockRange, putBe, SAI_READ_CAPACITY_16, SCSI_OP } from './scsi-cdb.js';
import { PERIPHERAL_TYPE_CDROM } from './scsi-inquiry.js';
import { SCSI_DEFAULT_MAX_TRANSFER_BYTES, ScsiLogicalUnit, type ScsiLogicalUnitOptions } from './scsi-logical-unit.js';
import { modeSense10To6 } from './scsi-mode.js';
import { good, type ScsiResult } from './scsi-result.js';
import {
  SENSE_CODE_INCOMPATIBLE_FORMAT, SENSE_CODE_INVALID_FIELD, SENSE_CODE_INVALID_OPCODE, SENSE_CODE_LBA_OUT_OF_RANGE,
  SENSE_CODE_MEDIUM_CHANGED, SENSE_CODE_NO_MEDIUM, SENSE_CODE_READ_ERROR, SENSE_CODE_REMOVAL_PREVENTED,
  SENSE_CODE_SAVING_NOT_SUPPORTED, SENSE_CODE_UA_NO_MEDIUM, SENSE_CODE_WRITE_PROTECTED, type SenseCode,
} from './scsi-sense.js';

/** Most media events kept for GET EVENT STATUS NOTIFICATION. */
const MAX_EVENTS = 4;

/** Construction options of a SCSI CD-ROM. */
export interface ScsiCdromOptions extends ScsiLogicalUnitOptions {
  /** The medium in the drive at power-on (an ISO backend), or null for an empty drive. */
  readonly medium?: BlockBackend | null;
  /** The guest ejected `medium` (START STOP UNIT); the host may close it. */
  readonly onGuestEject?: (medium: BlockBackend) => void;
  /** Largest READ transfer in bytes (default 0xFFFF x 512). */
  readonly maxTransferBytes?: number;
}

/** Commands that work without a medium (QEMU scsi-disk's list). */
const NO_MEDIUM_OK = new Set<number>([
  SCSI_OP.INQUIRY, SCSI_OP.MODE_SENSE_6, SCSI_OP.MODE_SENSE_10, SCSI_OP.MODE_SELECT_6, SCSI_OP.MODE_SELECT_10,
  SCSI_OP.RESERVE_6, SCSI_OP.RELEASE_6, SCSI_OP.RESERVE_10, SCSI_OP.RELEASE_10, SCSI_OP.START_STOP_UNIT,
  SCSI_OP.PREVENT_ALLOW_MEDIUM_REMOVAL, MMC.GET_CONFIGURATION, MMC.GET_EVENT_STATUS_NOTIFICATION,
  MMC.MECHANISM_STATUS,
]);

/** An MMC CD/DVD-ROM logical unit. */
export class ScsiCdrom extends ScsiLogicalUnit {
  readonly kind = 'cdrom' as const;
  readonly peripheralType = PERIPHERAL_TYPE_CDROM;
  readonly blockSize = CD_SECTOR_BYTES;
  readonly removable = true;
  /** Largest READ transfer in bytes. */
  readonly maxTransferBytes: number;
  private readonly onGuestEject: ((medium: BlockBackend) => void) | undefined;
  private medium: BlockBackend | null;
  private locked = false;
  private trayOpen = false;
  private events: number[] = [];

  constructor(opts: ScsiCdromOptions) {
    super(opts, 'QEMU CD-ROM');
    this.medium = opts.medium ?? null;
    this.onGuestEject = opts.onGuestEject;
    this.maxTransferBytes = opts.maxTransferBytes ?? SCSI_DEFAULT_MAX_TRANSFER_BYTES;
  }

  // ---- host API ------------------------------------------------------------------------------

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

  /** Loads `medium` (replacing any) and closes the tray: a NEW MEDIA event and UNIT ATTENTION 06/28/00. */
  insert(medium: BlockBackend): void {
    if (this.medium) this.queueEvent(MEDIA_EVENT_MEDIA_REMOVAL);
    this.medium = medium;
    this.trayOpen = false;
    this.setAttention(SENSE_CODE_MEDIUM_CHANGED);
    this.queueEvent(MEDIA_EVENT_NEW_MEDIA);
  }

  /**
   * Removes the medium as the front-panel button would: refused while the guest
   * prevents removal (an EJECT REQUEST event is queued) unless `force`. Returns whether
   * it was removed; the caller owns (and may close) the old backend.
   */
  eject(force = false): boolean {
    if (this.locked && !force) {
      this.queueEvent(MEDIA_EVENT_EJECT_REQUEST);
      return false;
    }
    this.removeMedium();
    this.setAttention(SENSE_CODE_UA_NO_MEDIUM);
    return true;
  }

  // ---- commands ------------------------------------------------------------------------------

  protected override allowsAttention(op: number): boolean {
    return op === MMC.GET_CONFIGURATION || op === MMC.GET_EVENT_STATUS_NOTIFICATION;
  }

  protected override notReady(op: number): SenseCode | null {
    return this.medium || NO_MEDIUM_OK.has(op) ? null : SENSE_CODE_NO_MEDIUM;
  }

  protected override dispatch(op: number, cdb: Uint8Array): ScsiResult | Promise<ScsiResult> {
    const O = SCSI_OP;
    const sectors = this.mediumSectors ?? 0;
    switch (op) {
      case O.TEST_UNIT_READY: case MMC.SET_CD_SPEED: case O.SYNCHRONIZE_CACHE_10: case O.SYNCHRONIZE_CACHE_16:
      case O.RESERVE_6: case O.RELEASE_6: case O.RESERVE_10: case O.RELEASE_10:
      case O.MODE_SELECT_6: case O.MODE_SELECT_10:
        return good();
      case O.SEEK_10:
        return be32(cdb, 2) < sectors ? good() : this.fail(SENSE_CODE_LBA_OUT_OF_RANGE);
      case O.READ_6: case O.READ_10: case O.READ_12: case O.READ_16: {
        const { lba, count } = blockRange(cdb);
        return this.read(lba, count);
      }
      case MMC.READ_CD: {
        const sectorType = (cdb[1]! >> 2) & 0x07;
        const flags = cdb[9]!;
        if (sectorType !== 0 && sectorType !== 2) return this.fail(SENSE_CODE_INCOMPATIBLE_FORMAT);
        if (flags === 0) return good();
        if ((flags & 0xf8) !== 0x10) return this.fail(SENSE_CODE_INVALID_FIELD);
        return this.read(be32(cdb, 2), be24(cdb, 6));
      }
      case O.VERIFY_10: case O.VERIFY_12: case O.VERIFY_16: {
        if (cdb[1]! & 0x06) return this.fail(SENSE_CODE_INVALID_FIELD); // BYTCHK: no compare on a ROM
        const { lba, count } = blockRange(cdb);
        return lba + count <= sectors ? good() : this.fail(SENSE_CODE_LBA_OUT_OF_RANGE);
      }
      case O.WRITE_6: case O.WRITE_10: case O.WRITE_12: case O.WRITE_16: case O.WRITE_SAME_10: case O.WRITE_SAME_16:
        return this.fail(SENSE_CODE_WRITE_PROTECTED);
      case O.READ_CAPACITY_10:
        return good(readCapacityData(sectors));
      case O.SERVICE_ACTION_IN_16: {
        if ((cdb[1]! & 0x1f) !== SAI_READ_CAPACITY_16) return this.fail(SENSE_CODE_INVALID_FIELD);
        const b = new Uint8Array(32);
        putBe(b, 0, 8, Math.max(0, sectors - 1));
        putBe(b, 8, 4, CD_SECTOR_BYTES);
        return good(b, be32(cdb, 10));
      }
      case MMC.READ_TOC_PMA_ATIP: {
        let format = cdb[2]! & 0x0f;
        if (format === 0) format = cdb[9]! >> 6; // SFF-8020i placed the format in the control byte
        const data = tocData(format, (cdb[1]! & 0x02) !== 0, cdb[6]!, sectors);
        return data ? good(data, be16(cdb, 7)) : this.fail(SENSE_CODE_INVALID_FIELD);
      }
      case MMC.READ_SUBCHANNEL: {
        const data = subchannelData((cdb[2]! & 0x40) !== 0, cdb[3]!, (cdb[1]! & 0x02) !== 0);
        return data ? good(data, be16(cdb, 7)) : this.fail(SENSE_CODE_INVALID_FIELD);
      }
      case O.MODE_SENSE_6: case O.MODE_SENSE_10: {
        const data = modeSenseData(cdb[2]! & 0x3f, cdb[2]! >> 6, this.locked, this.medium !== null);
        if (data === 'saved') return this.fail(SENSE_CODE_SAVING_NOT_SUPPORTED);
        if (data === 'invalid' || cdb[3] !== 0) return this.fail(SENSE_CODE_INVALID_FIELD);
        return op === O.MODE_SENSE_10 ? good(data, be16(cdb, 7)) : good(modeSense10To6(data), cdb[4]!);
      }
      case MMC.GET_CONFIGURATION: {
        if (be16(cdb, 2) !== 0) return this.fail(SENSE_CODE_INVALID_FIELD); // only a starting feature of 0, as QEMU
        const data = configurationData(cdb[1]! & 0x03, 0, this.mediumSectors);
        if (!data) return this.fail(SENSE_CODE_INVALID_FIELD);
        scsiPhysicalInterface(data);
        return good(data, be16(cdb, 7));
      }
      case MMC.GET_EVENT_STATUS_NOTIFICATION:
        if (!(cdb[1]! & 0x01)) return this.fail(SENSE_CODE_INVALID_FIELD); // asynchronous operation is not supported
        return good(this.eventStatus(cdb[4]!), be16(cdb, 7));
      case O.START_STOP_UNIT:
        return this.startStop(cdb[4]!);
      case O.PREVENT_ALLOW_MEDIUM_REMOVAL:
        this.locked = (cdb[4]! & 0x01) !== 0;
        return good();
      case MMC.READ_DISC_INFORMATION:
        if (cdb[1]! & 0x07) return this.fail(SENSE_CODE_INVALID_FIELD);
        return good(discInformationData(), be16(cdb, 7));
      case MMC.MECHANISM_STATUS:
        return good(mechanismStatusData(this.trayOpen), be16(cdb, 8));
      default:
        return this.fail(SENSE_CODE_INVALID_OPCODE);
    }
  }

  protected override resetUnit(): void {
    this.locked = false;
  }

  protected override saveUnit(): Record<string, unknown> {
    return { locked: this.locked, trayOpen: this.trayOpen, events: [...this.events], mediumPresent: this.medium !== null };
  }

  /** The medium is a host handle: if the saved presence differs, the guest is told the medium changed. */
  protected override parseUnit(s: Record<string, unknown>): () => void {
    const locked = bool(this.id, s, 'locked');
    const trayOpen = bool(this.id, s, 'trayOpen');
    const events = ints(this.id, s, 'events', 0, 3, 0, MAX_EVENTS);
    const present = bool(this.id, s, 'mediumPresent');
    return () => {
      this.locked = locked;
      this.trayOpen = trayOpen;
      this.events = [...events];
      if (present !== (this.medium !== null)) {
        this.trayOpen = this.medium === null;
        this.queueEvent(this.medium ? MEDIA_EVENT_NEW_MEDIA : MEDIA_EVENT_MEDIA_REMOVAL);
        this.setAttention(this.medium ? SENSE_CODE_MEDIUM_CHANGED : SENSE_CODE_UA_NO_MEDIUM);
      }
    };
  }

  // ---- internals -----------------------------------------------------------------------------

  private async read(lba: number, count: number): Promise<ScsiResult> {
    const medium = this.medium;
    const sectors = this.mediumSectors ?? 0;
    if (!medium) return this.fail(SENSE_CODE_NO_MEDIUM);
    if (count * CD_SECTOR_BYTES > this.maxTransferBytes) return this.fail(SENSE_CODE_INVALID_FIELD);
    if (lba + count > sectors) return this.fail(SENSE_CODE_LBA_OUT_OF_RANGE);
    if (count === 0) return good();
    const buf = new Uint8Array(count * CD_SECTOR_BYTES);
    return (await this.io(() => medium.read(lba * CD_SECTOR_BYTES, buf), SENSE_CODE_READ_ERROR)) ?? good(buf);
  }

  /** START STOP UNIT with LOEJ (MMC-6 §6.39): eject (unless locked) or close the tray. */
  private startStop(flags: number): ScsiResult {
    const loej = (flags & 0x02) !== 0;
    const start = (flags & 0x01) !== 0;
    if (loej && !start) {
      if (this.locked) return this.fail(SENSE_CODE_REMOVAL_PREVENTED);
      const old = this.medium;
      this.removeMedium();
      if (old) this.onGuestEject?.(old);
    } else if (loej && start) {
      this.trayOpen = false;
    }
    return good();
  }

  private removeMedium(): void {
    if (this.medium) this.queueEvent(MEDIA_EVENT_MEDIA_REMOVAL);
    this.medium = null;
    this.trayOpen = true;
  }

  /** GET EVENT STATUS NOTIFICATION data (MMC-6 §6.7.2): header and, if requested, the media event. */
  private eventStatus(classes: number): Uint8Array {
    const mediaClass = 0x10;
    if (!(classes & mediaClass)) {
      const b = new Uint8Array(4);
      b[2] = 0x80; // NEA: no requested class is supported
      b[3] = mediaClass;
      return b;
    }
    const b = new Uint8Array(8);
    putBe(b, 0, 2, 4); // event data length
    b[2] = 0x04; // notification class: media
    b[3] = mediaClass;
    b[4] = this.events.shift() ?? MEDIA_EVENT_NO_CHANGE;
    b[5] = (this.trayOpen ? 0x01 : 0) | (this.medium ? 0x02 : 0); // door open, media present
    return b;
  }

  private queueEvent(code: number): void {
    if (this.events.length >= MAX_EVENTS) this.events.shift();
    this.events.push(code);
  }
}

/**
 * Sets the Core feature's physical interface standard to 1 (SCSI family, MMC-6 §5.3.2
 * table 92) in GET CONFIGURATION data built for ATAPI.
 */
function scsiPhysicalInterface(data: Uint8Array): void {
  for (let at = 8; at + 4 <= data.length; at += 4 + data[at + 3]!) {
    if (be16(data, at) === 0x0001 && at + 8 <= data.length) { putBe(data, at + 4, 4, 1); return; }
  }
}
