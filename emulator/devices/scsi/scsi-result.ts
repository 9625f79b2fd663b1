/**
 * The outcome of one SCSI command as a logical unit reports it to a transport: the
 * status byte (SAM-5 §5.3.1), the data-in bytes (already truncated to the CDB's
 * allocation length, SPC-4 §4.2.5.6) and, with CHECK CONDITION, fixed-format sense data
 * the transport returns as autosense (virtio 1.2 §5.6.6.1 `sense`).
 */
import { fixedSense, type SenseCode } from './scsi-sense.js';

/** Status codes (SAM-5 §5.3.1 table 32). */
export const SCSI_STATUS_GOOD = 0x00;
export const SCSI_STATUS_CHECK_CONDITION = 0x02;
export const SCSI_STATUS_BUSY = 0x08;
export const SCSI_STATUS_TASK_ABORTED = 0x40;

/** What a logical unit answers to one command. */
export interface ScsiResult {
  /** SAM status byte. */
  readonly status: number;
  /** Data-in bytes for the initiator (empty for no data). */
  readonly data: Uint8Array;
  /** Fixed-format sense data with CHECK CONDITION, else null. */
  readonly sense: Uint8Array | null;
}

const EMPTY = new Uint8Array(0);

/**
 * GOOD status with `data` truncated to `allocationLength` (SPC-4 §4.2.5.6: the device
 * server ends the transfer at the allocation length; no error).
 */
export function good(data: Uint8Array = EMPTY, allocationLength = data.length): ScsiResult {
  return { status: SCSI_STATUS_GOOD, data: data.subarray(0, Math.max(0, Math.min(data.length, allocationLength))), sense: null };
}

/** CHECK CONDITION with the sense data of `code`. */
export function checkCondition(code: SenseCode): ScsiResult {
  return { status: SCSI_STATUS_CHECK_CONDITION, data: EMPTY, sense: fixedSense(code) };
}
