/**
 * SCSI sense keys, additional sense codes and MMC operation codes used by the ATAPI
 * CD-ROM. Names follow SPC-3 (sense keys: table 27; ASC/ASCQ: table 28) and MMC-5
 * (T10/1675D, command opcodes: table 8); SFF-8020i names the same values for ATAPI.
 *
 * Left out: every code the CD-ROM never reports.
 */

/** Sense keys (SPC-3 4.5.6). */
export const SENSE_NO_SENSE = 0x00;
export const SENSE_NOT_READY = 0x02;
export const SENSE_MEDIUM_ERROR = 0x03;
export const SENSE_ILLEGAL_REQUEST = 0x05;
export const SENSE_UNIT_ATTENTION = 0x06;

/** An additional sense code with its qualifier. */
export interface Asc {
  readonly asc: number;
  readonly ascq: number;
}

/** ASC/ASCQ pairs (SPC-3 table 28). */
export const ASC_NONE: Asc = { asc: 0x00, ascq: 0x00 };
export const ASC_UNRECOVERED_READ_ERROR: Asc = { asc: 0x11, ascq: 0x00 };
export const ASC_INVALID_COMMAND_OPERATION_CODE: Asc = { asc: 0x20, ascq: 0x00 };
export const ASC_LBA_OUT_OF_RANGE: Asc = { asc: 0x21, ascq: 0x00 };
export const ASC_DATA_PHASE_ERROR: Asc = { asc: 0x4b, ascq: 0x00 };
export const ASC_INVALID_FIELD_IN_CDB: Asc = { asc: 0x24, ascq: 0x00 };
export const ASC_MEDIUM_MAY_HAVE_CHANGED: Asc = { asc: 0x28, ascq: 0x00 };
export const ASC_SAVING_PARAMETERS_NOT_SUPPORTED: Asc = { asc: 0x39, ascq: 0x00 };
export const ASC_MEDIUM_NOT_PRESENT: Asc = { asc: 0x3a, ascq: 0x00 };
export const ASC_MEDIUM_REMOVAL_PREVENTED: Asc = { asc: 0x53, ascq: 0x02 };
export const ASC_INCOMPATIBLE_FORMAT: Asc = { asc: 0x30, ascq: 0x00 };

/** MMC-5 / SPC-3 operation codes the CD-ROM implements. */
export const MMC = {
  TEST_UNIT_READY: 0x00,
  REQUEST_SENSE: 0x03,
  INQUIRY: 0x12,
  START_STOP_UNIT: 0x1b,
  PREVENT_ALLOW_MEDIUM_REMOVAL: 0x1e,
  READ_CAPACITY: 0x25,
  READ_10: 0x28,
  SEEK_10: 0x2b,
  READ_SUBCHANNEL: 0x42,
  READ_TOC_PMA_ATIP: 0x43,
  GET_CONFIGURATION: 0x46,
  GET_EVENT_STATUS_NOTIFICATION: 0x4a,
  READ_DISC_INFORMATION: 0x51,
  MODE_SENSE_10: 0x5a,
  READ_12: 0xa8,
  SET_CD_SPEED: 0xbb,
  MECHANISM_STATUS: 0xbd,
  READ_CD: 0xbe,
} as const;

/** Media event codes of GET EVENT STATUS NOTIFICATION (MMC-5 table 341). */
export const MEDIA_EVENT_NO_CHANGE = 0;
export const MEDIA_EVENT_EJECT_REQUEST = 1;
export const MEDIA_EVENT_NEW_MEDIA = 2;
export const MEDIA_EVENT_MEDIA_REMOVAL = 3;
