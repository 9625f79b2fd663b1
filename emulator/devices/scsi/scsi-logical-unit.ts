/**
 * The common part of a logical unit of the SCSI target (SAM-5 §4.6.20), independent of
 * the transport that carries its commands: command entry, the unit attention condition
 * (SAM-5 §5.14, SPC-4 §5.11: established at power-on and by a reset, and by medium
 * changes on a CD-ROM; reported once as CHECK CONDITION to the first command other than
 * INQUIRY, REPORT LUNS and REQUEST SENSE (and, for MMC, GET CONFIGURATION and GET EVENT
 * STATUS NOTIFICATION, as QEMU), or as REQUEST SENSE data), REQUEST SENSE (SPC-4 §6.39,
 * fixed format) and INQUIRY (SPC-4 §6.6 with the VPD pages of `scsi-inquiry.ts`).
 *
 * Commands complete asynchronously (`execute` returns a promise) because media access
 * goes through a BlockBackend. Several commands may run at once; a command's own checks
 * happen synchronously at submission, so their order is the submission order. Sense is
 * returned with the CHECK CONDITION (autosense); nothing but a unit attention is kept
 * for a later REQUEST SENSE. Initiator errors never throw: they are CHECK CONDITION
 * results and count in `guestErrors`. Host failures of the backend are reported
 * through `onIoError` and end the command with MEDIUM ERROR.
 */
import { int, obj, version } from '../state-check.js';
import { be16, type CdbTransfer, expectedTransfer, type ScsiDeviceKind, SCSI_OP } from './scsi-cdb.js';
import {
  deviceIdentificationPage, type InquiryIdentity, standardInquiry, supportedPagesPage, unitSerialPage,
} from './scsi-inquiry.js';
import { checkCondition, good, type ScsiResult } from './scsi-result.js';
import {
  fixedSense, isResetAttention, SENSE_CODE_INVALID_FIELD, SENSE_CODE_NO_SENSE, SENSE_CODE_RESET, type SenseCode,
} from './scsi-sense.js';
import { SENSE_ILLEGAL_REQUEST } from '../ide/atapi-sense.js';

/** Default largest READ/WRITE transfer: 0xFFFF 512-byte sectors (virtio-scsi's default max_sectors). */
export const SCSI_DEFAULT_MAX_TRANSFER_BYTES = 0xffff * 512;

/** Options every logical unit takes. */
export interface ScsiLogicalUnitOptions {
  /** Stable id for logs and snapshots, e.g. "scsi0-0-0". */
  readonly id: string;
  /** Unit serial number (VPD 80h/83h); default derived from the id. */
  readonly serial?: string;
  /** INQUIRY vendor (8 characters); default "QEMU". */
  readonly vendor?: string;
  /** INQUIRY product (16 characters); default "QEMU HARDDISK" / "QEMU CD-ROM". */
  readonly product?: string;
  /** INQUIRY revision (4 characters); default "2.5+" (QEMU's). */
  readonly revision?: string;
  /** Host-side I/O error sink (the backend failed, not the guest). */
  readonly onIoError?: (error: unknown) => void;
}

/** A logical unit: a SCSI device server with its command set. */
export abstract class ScsiLogicalUnit {
  /** Stable id. */
  readonly id: string;
  /** Which command set the unit speaks. */
  abstract readonly kind: ScsiDeviceKind;
  /** Peripheral device type of INQUIRY. */
  abstract readonly peripheralType: number;
  /** Logical block size in bytes. */
  abstract readonly blockSize: number;
  /** Whether the medium is removable (INQUIRY RMB). */
  abstract readonly removable: boolean;
  /** Commands that ended in CHECK CONDITION, ILLEGAL REQUEST (the initiator's mistake). */
  guestErrors = 0;
  /** INQUIRY strings and serial. */
  protected readonly identity: InquiryIdentity;
  /** Host-side I/O error sink. */
  protected readonly onIoError: ((error: unknown) => void) | undefined;
  private attention: SenseCode | null = SENSE_CODE_RESET;

  protected constructor(opts: ScsiLogicalUnitOptions, defaultProduct: string) {
    this.id = opts.id;
    this.identity = {
      vendor: opts.vendor ?? 'QEMU',
      product: opts.product ?? defaultProduct,
      revision: opts.revision ?? '2.5+',
      serial: (opts.serial ?? `VR${opts.id.replace(/[^A-Za-z0-9]/g, '').toUpperCase()}`).slice(0, 20),
    };
    this.onIoError = opts.onIoError;
  }

  /** The pending unit attention, or null. */
  get pendingAttention(): SenseCode | null {
    return this.attention;
  }

  /** The data phase `cdb` expects (direction and bytes), for the transport's buffer checks. */
  expectedTransfer(cdb: Uint8Array): CdbTransfer {
    return expectedTransfer(cdb, this.kind, this.blockSize);
  }

  /** Executes one command; `dataOut` holds the initiator's data-out bytes (may be empty). */
  execute(cdb: Uint8Array, dataOut: Uint8Array): Promise<ScsiResult> {
    return new Promise((resolve) => resolve(this.run(cdb, dataOut)));
  }

  /** Logical unit reset (SAM-5 §6.7): establishes a reset unit attention. */
  reset(): void {
    this.attention = SENSE_CODE_RESET;
    this.resetUnit();
  }

  /** Snapshot: `{ v: 1, attention: [key, asc, ascq] | null, ...unit fields }`. */
  saveState(): Record<string, unknown> {
    const a = this.attention;
    return { v: 1, attention: a ? [a.key, a.asc, a.ascq] : null, ...this.saveUnit() };
  }

  /** Validates `state` and returns a function that applies it (nothing changes before). */
  parseState(state: unknown): () => void {
    const s = obj(this.id, state);
    version(this.id, s, 1);
    let attention: SenseCode | null = null;
    const a = s['attention'];
    if (a !== null) {
      if (!Array.isArray(a) || a.length !== 3) throw new Error(`${this.id}.attention: expected null or [key, asc, ascq]`);
      const f = { key: a[0] as unknown, asc: a[1] as unknown, ascq: a[2] as unknown };
      attention = { key: int(this.id, f, 'key', 0, 0x0f), asc: int(this.id, f, 'asc', 0, 0xff), ascq: int(this.id, f, 'ascq', 0, 0xff) };
    }
    const unit = this.parseUnit(s);
    return () => { this.attention = attention; unit(); };
  }

  // ---- for the device types ------------------------------------------------------------

  /** Runs a command that passed the unit attention and readiness checks. */
  protected abstract dispatch(op: number, cdb: Uint8Array, dataOut: Uint8Array): ScsiResult | Promise<ScsiResult>;

  /** VPD pages beyond 00h, 80h and 83h, and their data. */
  protected vpdPage(_page: number): Uint8Array | null {
    return null;
  }

  /** The VPD page codes `vpdPage` answers. */
  protected extraVpdPages(): readonly number[] {
    return [];
  }

  /** Commands that do not report (nor clear) a pending unit attention, beyond INQUIRY. */
  protected allowsAttention(_op: number): boolean {
    return false;
  }

  /** Why the unit cannot run `op` now (NOT READY), or null. */
  protected notReady(_op: number): SenseCode | null {
    return null;
  }

  /** Device-type part of a reset. */
  protected resetUnit(): void { /* nothing by default */ }

  /** Device-type snapshot fields. */
  protected saveUnit(): Record<string, unknown> {
    return {};
  }

  /** Validates device-type snapshot fields; returns their applier. */
  protected parseUnit(_s: Record<string, unknown>): () => void {
    return () => undefined;
  }

  /** Establishes a unit attention; a pending reset attention is kept (SAM-5 §5.14 precedence). */
  protected setAttention(code: SenseCode): void {
    if (this.attention && isResetAttention(this.attention) && !isResetAttention(code)) return;
    this.attention = code;
  }

  /** CHECK CONDITION for `code`, counted as a guest error when it is an ILLEGAL REQUEST. */
  protected fail(code: SenseCode): ScsiResult {
    if (code.key === SENSE_ILLEGAL_REQUEST) this.guestErrors++;
    return checkCondition(code);
  }

  /** Runs `op` on the backend; a rejection is a host I/O error reported as `code`. */
  protected async io(op: () => Promise<void>, code: SenseCode): Promise<ScsiResult | null> {
    try {
      await op();
      return null;
    } catch (e) {
      this.onIoError?.(e);
      return checkCondition(code);
    }
  }

  // ---- common commands ------------------------------------------------------------------

  private run(cdb: Uint8Array, dataOut: Uint8Array): ScsiResult | Promise<ScsiResult> {
    const op = cdb[0] ?? 0;
    if (op === SCSI_OP.REQUEST_SENSE) return this.requestSense(cdb);
    if (op === SCSI_OP.INQUIRY) return this.inquiry(cdb);
    if (this.attention && !this.allowsAttention(op)) {
      const a = this.attention;
      this.attention = null;
      return checkCondition(a);
    }
    const nr = this.notReady(op);
    if (nr) return checkCondition(nr);
    return this.dispatch(op, cdb, dataOut);
  }

  /** REQUEST SENSE (SPC-4 §6.39): the pending unit attention (cleared), else the current condition. */
  private requestSense(cdb: Uint8Array): ScsiResult {
    if (cdb[1]! & 0x01) return this.fail(SENSE_CODE_INVALID_FIELD); // DESC: descriptor format not supported
    let code = this.attention;
    this.attention = null;
    code ??= this.notReady(SCSI_OP.REQUEST_SENSE) ?? SENSE_CODE_NO_SENSE;
    return good(fixedSense(code), cdb[4]!);
  }

  /** INQUIRY (SPC-4 §6.6): standard data, or a VPD page with EVPD. */
  private inquiry(cdb: Uint8Array): ScsiResult {
    const evpd = (cdb[1]! & 0x01) !== 0;
    const pageCode = cdb[2]!;
    const alloc = be16(cdb, 3);
    if ((cdb[1]! & 0x02) || (!evpd && pageCode !== 0)) return this.fail(SENSE_CODE_INVALID_FIELD); // CMDDT, page without EVPD
    if (!evpd) return good(standardInquiry(this.peripheralType, this.removable, this.identity), alloc);
    let data: Uint8Array | null;
    switch (pageCode) {
      case 0x00: data = supportedPagesPage(this.peripheralType, [0x00, 0x80, 0x83, ...this.extraVpdPages()]); break;
      case 0x80: data = unitSerialPage(this.peripheralType, this.identity); break;
      case 0x83: data = deviceIdentificationPage(this.peripheralType, this.identity); break;
      default: data = this.vpdPage(pageCode);
    }
    return data ? good(data, alloc) : this.fail(SENSE_CODE_INVALID_FIELD);
  }
}
