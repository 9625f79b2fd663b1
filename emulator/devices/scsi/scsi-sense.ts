/**
 * SCSI sense data for the transport-independent SCSI target: the sense codes the disk
 * and CD-ROM logical units report, as (sense key, ASC, ASCQ) triples, and the fixed
 * format sense data builder of SPC-4 §4.5.3.
 *
 * Sense keys and the ASC/ASCQ pairs the ATAPI CD-ROM already uses come from
 * `../ide/atapi-sense.ts` (one table of SPC values in the emulator); this file adds the
 * codes only a SCSI direct-access device needs (SPC-4 §4.5.6 table 48 sense keys,
 * Annex D ASC/ASCQ assignments) and pairs them with their sense keys.
 *
 * Left out: descriptor format sense data (SPC-4 §4.5.2; REQUEST SENSE with DESC=1 is
 * refused), the INFORMATION and sense-key-specific fields (left zero, VALID and SKSV
 * clear, as QEMU's scsi_build_sense).
 */
import {
  type Asc, ASC_INVALID_COMMAND_OPERATION_CODE, ASC_INVALID_FIELD_IN_CDB, ASC_LBA_OUT_OF_RANGE,
  ASC_MEDIUM_MAY_HAVE_CHANGED, ASC_MEDIUM_NOT_PRESENT, ASC_MEDIUM_REMOVAL_PREVENTED, ASC_NONE,
  ASC_SAVING_PARAMETERS_NOT_SUPPORTED, ASC_UNRECOVERED_READ_ERROR, SENSE_ILLEGAL_REQUEST, SENSE_MEDIUM_ERROR,
  SENSE_NO_SENSE, SENSE_NOT_READY, SENSE_UNIT_ATTENTION,
} from '../ide/atapi-sense.js';

/** Sense keys not used by the ATAPI drive (SPC-4 §4.5.6 table 48). */
export const SENSE_HARDWARE_ERROR = 0x04;
export const SENSE_DATA_PROTECT = 0x07;
export const SENSE_ABORTED_COMMAND = 0x0b;
export const SENSE_MISCOMPARE = 0x0e;

/** One reportable condition: sense key, additional sense code and qualifier. */
export interface SenseCode {
  readonly key: number;
  readonly asc: number;
  readonly ascq: number;
}

function code(key: number, a: Asc): SenseCode {
  return { key, asc: a.asc, ascq: a.ascq };
}

/** NO SENSE (what REQUEST SENSE returns when nothing is pending). */
export const SENSE_CODE_NO_SENSE = code(SENSE_NO_SENSE, ASC_NONE);
/** ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (05/20/00). */
export const SENSE_CODE_INVALID_OPCODE = code(SENSE_ILLEGAL_REQUEST, ASC_INVALID_COMMAND_OPERATION_CODE);
/** ILLEGAL REQUEST, INVALID FIELD IN CDB (05/24/00). */
export const SENSE_CODE_INVALID_FIELD = code(SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
/** ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (05/21/00). */
export const SENSE_CODE_LBA_OUT_OF_RANGE = code(SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
/** ILLEGAL REQUEST, PARAMETER LIST LENGTH ERROR (05/1A/00). */
export const SENSE_CODE_PARAM_LIST_LENGTH = { key: SENSE_ILLEGAL_REQUEST, asc: 0x1a, ascq: 0x00 } as const;
/** ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST (05/26/00). */
export const SENSE_CODE_INVALID_PARAM = { key: SENSE_ILLEGAL_REQUEST, asc: 0x26, ascq: 0x00 } as const;
/** ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED (05/25/00). */
export const SENSE_CODE_LUN_NOT_SUPPORTED = { key: SENSE_ILLEGAL_REQUEST, asc: 0x25, ascq: 0x00 } as const;
/** ILLEGAL REQUEST, SAVING PARAMETERS NOT SUPPORTED (05/39/00). */
export const SENSE_CODE_SAVING_NOT_SUPPORTED = code(SENSE_ILLEGAL_REQUEST, ASC_SAVING_PARAMETERS_NOT_SUPPORTED);
/** ILLEGAL REQUEST, MEDIUM REMOVAL PREVENTED (05/53/02). */
export const SENSE_CODE_REMOVAL_PREVENTED = code(SENSE_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
/** DATA PROTECT, WRITE PROTECTED (07/27/00). */
export const SENSE_CODE_WRITE_PROTECTED = { key: SENSE_DATA_PROTECT, asc: 0x27, ascq: 0x00 } as const;
/** NOT READY, MEDIUM NOT PRESENT (02/3A/00). */
export const SENSE_CODE_NO_MEDIUM = code(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
/** UNIT ATTENTION, NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED (06/28/00). */
export const SENSE_CODE_MEDIUM_CHANGED = code(SENSE_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED);
/** UNIT ATTENTION, MEDIUM NOT PRESENT (06/3A/00): the host removed the medium. */
export const SENSE_CODE_UA_NO_MEDIUM = code(SENSE_UNIT_ATTENTION, ASC_MEDIUM_NOT_PRESENT);
/** UNIT ATTENTION, POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (06/29/00). */
export const SENSE_CODE_RESET = { key: SENSE_UNIT_ATTENTION, asc: 0x29, ascq: 0x00 } as const;
/** MEDIUM ERROR, UNRECOVERED READ ERROR (03/11/00). */
export const SENSE_CODE_READ_ERROR = code(SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR);
/** MEDIUM ERROR, WRITE ERROR (03/0C/00). */
export const SENSE_CODE_WRITE_ERROR = { key: SENSE_MEDIUM_ERROR, asc: 0x0c, ascq: 0x00 } as const;
/** MISCOMPARE, MISCOMPARE DURING VERIFY OPERATION (0E/1D/00). */
export const SENSE_CODE_MISCOMPARE = { key: SENSE_MISCOMPARE, asc: 0x1d, ascq: 0x00 } as const;
/** ILLEGAL REQUEST, INCOMPATIBLE MEDIUM INSTALLED (05/30/00): READ CD of a non-data sector type. */
export const SENSE_CODE_INCOMPATIBLE_FORMAT = { key: SENSE_ILLEGAL_REQUEST, asc: 0x30, ascq: 0x00 } as const;

/** Length of the fixed-format sense data the target returns. */
export const FIXED_SENSE_BYTES = 18;

/**
 * Fixed format sense data (SPC-4 §4.5.3): response code 70h (current error), the sense
 * key, ADDITIONAL SENSE LENGTH 10, ASC and ASCQ; 18 bytes.
 */
export function fixedSense(c: SenseCode): Uint8Array {
  const b = new Uint8Array(FIXED_SENSE_BYTES);
  b[0] = 0x70;
  b[2] = c.key & 0x0f;
  b[7] = FIXED_SENSE_BYTES - 8;
  b[12] = c.asc;
  b[13] = c.ascq;
  return b;
}

/** Parses the sense key/ASC/ASCQ of fixed-format sense data (tests, logs). */
export function parseFixedSense(b: Uint8Array): SenseCode {
  return { key: (b[2] ?? 0) & 0x0f, asc: b[12] ?? 0, ascq: b[13] ?? 0 };
}

/** Whether `c` is a UNIT ATTENTION reporting a reset (they outrank other unit attentions, SAM-5 §5.14). */
export function isResetAttention(c: SenseCode): boolean {
  return c.key === SENSE_UNIT_ATTENTION && c.asc === 0x29;
}
