/**
 * ScsiBus: the targets of one SCSI domain (SAM-5 §4.6) and their logical units, with
 * the commands a target answers itself (QEMU's "target requests"):
 *
 * - REPORT LUNS (SPC-4 §6.33) always, whatever the addressed LUN: LUN 0 and every
 *   logical unit of the target, in peripheral addressing below 256 and flat addressing
 *   above (SAM-5 §4.7.7), SELECT REPORT 00h/02h (01h: no well-known LUNs).
 * - Any command to a LUN without a logical unit on a present target (SPC-4 §5.10 /
 *   SAM-5 §5.9.5): INQUIRY returns peripheral qualifier 011b, type 1Fh; REQUEST SENSE
 *   returns LOGICAL UNIT NOT SUPPORTED as data; everything else is CHECK CONDITION,
 *   ILLEGAL REQUEST / LOGICAL UNIT NOT SUPPORTED (05/25/00).
 *
 * A target with no logical unit at all does not exist: the transport reports it (virtio
 * VIRTIO_SCSI_S_BAD_TARGET) without asking the bus to execute anything.
 */
import { be32, type CdbTransfer, expectedTransfer, SCSI_OP } from './scsi-cdb.js';
import { notPresentInquiry } from './scsi-inquiry.js';
import type { ScsiLogicalUnit } from './scsi-logical-unit.js';
import { checkCondition, good, type ScsiResult } from './scsi-result.js';
import { fixedSense, SENSE_CODE_INVALID_FIELD, SENSE_CODE_LUN_NOT_SUPPORTED } from './scsi-sense.js';

/** Largest target id (virtio-scsi's max_target default). */
export const SCSI_MAX_TARGET = 255;
/** Largest LUN (14-bit flat addressing, virtio-scsi's max_lun). */
export const SCSI_MAX_LUN = 16383;

/** One logical unit and its address. */
export interface ScsiBusUnit {
  readonly target: number;
  readonly lun: number;
  readonly unit: ScsiLogicalUnit;
}

/** The targets and logical units of one SCSI domain. */
export class ScsiBus {
  private readonly targets = new Map<number, Map<number, ScsiLogicalUnit>>();
  private readonly list: readonly ScsiBusUnit[];

  /** Throws (a host configuration bug) on duplicate or out-of-range addresses. */
  constructor(units: readonly ScsiBusUnit[]) {
    for (const u of units) {
      if (!Number.isInteger(u.target) || u.target < 0 || u.target > SCSI_MAX_TARGET) throw new RangeError(`ScsiBus: target ${u.target} out of range 0..${SCSI_MAX_TARGET}`);
      if (!Number.isInteger(u.lun) || u.lun < 0 || u.lun > SCSI_MAX_LUN) throw new RangeError(`ScsiBus: LUN ${u.lun} out of range 0..${SCSI_MAX_LUN}`);
      let t = this.targets.get(u.target);
      if (!t) { t = new Map(); this.targets.set(u.target, t); }
      if (t.has(u.lun)) throw new Error(`ScsiBus: two logical units at target ${u.target} LUN ${u.lun}`);
      t.set(u.lun, u.unit);
    }
    this.list = [...units].sort((a, b) => a.target - b.target || a.lun - b.lun);
  }

  /** Every logical unit, by target then LUN. */
  get units(): readonly ScsiBusUnit[] {
    return this.list;
  }

  /** Whether `target` has at least one logical unit. */
  hasTarget(target: number): boolean {
    return this.targets.has(target);
  }

  /** The logical unit at (`target`, `lun`), if any. */
  unit(target: number, lun: number): ScsiLogicalUnit | undefined {
    return this.targets.get(target)?.get(lun);
  }

  /** The data phase `cdb` expects at (`target`, `lun`). */
  expectedTransfer(target: number, lun: number, cdb: Uint8Array): CdbTransfer {
    const u = this.unit(target, lun);
    if (u && cdb[0] !== SCSI_OP.REPORT_LUNS) return u.expectedTransfer(cdb);
    return expectedTransfer(cdb, 'disk', 512);
  }

  /** Executes `cdb` at (`target`, `lun`) of a present target. */
  execute(target: number, lun: number, cdb: Uint8Array, dataOut: Uint8Array): Promise<ScsiResult> {
    const op = cdb[0] ?? 0;
    if (op === SCSI_OP.REPORT_LUNS) return Promise.resolve(this.reportLuns(target, cdb));
    const u = this.unit(target, lun);
    if (u) return u.execute(cdb, dataOut);
    switch (op) {
      case SCSI_OP.INQUIRY:
        if (cdb[1]! & 0x03) return Promise.resolve(checkCondition(SENSE_CODE_LUN_NOT_SUPPORTED));
        return Promise.resolve(good(notPresentInquiry(), (cdb[3]! << 8) | cdb[4]!));
      case SCSI_OP.REQUEST_SENSE:
        return Promise.resolve(good(fixedSense(SENSE_CODE_LUN_NOT_SUPPORTED), cdb[4]!));
      default:
        return Promise.resolve(checkCondition(SENSE_CODE_LUN_NOT_SUPPORTED));
    }
  }

  /** Logical unit reset of every unit (a bus reset). */
  reset(): void {
    for (const u of this.list) u.unit.reset();
  }

  private reportLuns(target: number, cdb: Uint8Array): ScsiResult {
    const select = cdb[2]!;
    const alloc = be32(cdb, 6);
    if (select > 2 || alloc < 16) return checkCondition(SENSE_CODE_INVALID_FIELD);
    const luns = select === 1 ? [] : [...new Set([0, ...(this.targets.get(target)?.keys() ?? [])])].sort((a, b) => a - b);
    const b = new Uint8Array(8 + 8 * luns.length);
    const listBytes = 8 * luns.length;
    b[0] = (listBytes >>> 24) & 0xff; b[1] = (listBytes >>> 16) & 0xff; b[2] = (listBytes >>> 8) & 0xff; b[3] = listBytes & 0xff;
    luns.forEach((lun, i) => {
      const at = 8 + 8 * i;
      if (lun < 256) b[at + 1] = lun;
      else { b[at] = 0x40 | (lun >> 8); b[at + 1] = lun & 0xff; }
    });
    return good(b, alloc);
  }
}
