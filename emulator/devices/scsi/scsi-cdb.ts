/**
 * Command descriptor blocks: operation codes of SPC-4 / SBC-3 (the MMC-6 ones are the
 * `MMC` table of `../ide/atapi-sense.ts`), big-endian field readers, the CDB length of
 * each group code (SPC-4 §4.2.5.1 table 3), the logical block address / transfer
 * length of the READ, WRITE, VERIFY and WRITE SAME families (SBC-3 §5), and the data
 * direction and length a command expects, which a transport compares with the buffers
 * the initiator supplied (QEMU's scsi_req_xfer / scsi_cmd_xfer_mode do the same).
 *
 * Opcode 42h is UNMAP on a direct-access device (SBC-3 §5.28) and READ SUB-CHANNEL on
 * an MMC device: the decoder takes the device kind.
 *
 * Left out: variable-length CDBs (7Fh), service actions other than READ CAPACITY(16),
 * bidirectional commands.
 */
import { MMC } from '../ide/atapi-sense.js';

/** SPC-4 / SBC-3 operation codes the target knows. */
export const SCSI_OP = {
  TEST_UNIT_READY: 0x00,
  REQUEST_SENSE: 0x03,
  READ_6: 0x08,
  WRITE_6: 0x0a,
  INQUIRY: 0x12,
  MODE_SELECT_6: 0x15,
  RESERVE_6: 0x16,
  RELEASE_6: 0x17,
  MODE_SENSE_6: 0x1a,
  START_STOP_UNIT: 0x1b,
  PREVENT_ALLOW_MEDIUM_REMOVAL: 0x1e,
  READ_CAPACITY_10: 0x25,
  READ_10: 0x28,
  WRITE_10: 0x2a,
  SEEK_10: 0x2b,
  VERIFY_10: 0x2f,
  SYNCHRONIZE_CACHE_10: 0x35,
  WRITE_SAME_10: 0x41,
  UNMAP: 0x42,
  MODE_SELECT_10: 0x55,
  RESERVE_10: 0x56,
  RELEASE_10: 0x57,
  MODE_SENSE_10: 0x5a,
  READ_16: 0x88,
  WRITE_16: 0x8a,
  VERIFY_16: 0x8f,
  SYNCHRONIZE_CACHE_16: 0x91,
  WRITE_SAME_16: 0x93,
  SERVICE_ACTION_IN_16: 0x9e,
  REPORT_LUNS: 0xa0,
  READ_12: 0xa8,
  WRITE_12: 0xaa,
  VERIFY_12: 0xaf,
} as const;

/** SERVICE ACTION IN(16) service action READ CAPACITY(16) (SBC-3 §5.16). */
export const SAI_READ_CAPACITY_16 = 0x10;

/** Big-endian unsigned field of `n` (1..6) bytes at `at`; bytes beyond the CDB read 0. */
function beN(b: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + (b[at + i] ?? 0);
  return v;
}

/** Big-endian 16-bit field. */
export function be16(b: Uint8Array, at: number): number {
  return beN(b, at, 2);
}

/** Big-endian 24-bit field. */
export function be24(b: Uint8Array, at: number): number {
  return beN(b, at, 3);
}

/** Big-endian 32-bit field. */
export function be32(b: Uint8Array, at: number): number {
  return beN(b, at, 4);
}

/**
 * Big-endian 64-bit field as a number. Values beyond 2^53 lose precision but stay
 * larger than any disk, so range checks still fail them.
 */
export function be64(b: Uint8Array, at: number): number {
  return beN(b, at, 4) * 0x1_0000_0000 + beN(b, at + 4, 4);
}

/** Writes a big-endian unsigned `value` of `n` bytes (values beyond 2^53 are not needed). */
export function putBe(b: Uint8Array, at: number, n: number, value: number): void {
  let v = value;
  for (let i = n - 1; i >= 0; i--) {
    b[at + i] = v % 256;
    v = Math.floor(v / 256);
  }
}

/** CDB length of an operation code by its group code (SPC-4 §4.2.5.1); 0 for vendor/reserved groups. */
export function cdbLength(opcode: number): number {
  switch (opcode >> 5) {
    case 0: return 6;
    case 1: case 2: return 10;
    case 4: return 16;
    case 5: return 12;
    default: return 0;
  }
}

/** The LBA and block count of a block-addressed command. */
export interface BlockRange {
  readonly lba: number;
  readonly count: number;
}

/**
 * LBA and TRANSFER LENGTH (or NUMBER OF LOGICAL BLOCKS) of READ/WRITE/VERIFY/WRITE SAME
 * (SBC-3 §5.8-§5.13, §5.32-§5.46; MMC-6 READ(12)), by the CDB's group: 6-byte (21-bit
 * LBA, a length of 0 meaning 256 for READ(6)/WRITE(6)), 10-byte, 12-byte and 16-byte.
 */
export function blockRange(cdb: Uint8Array): BlockRange {
  switch (cdbLength(cdb[0] ?? 0)) {
    case 6: return { lba: ((cdb[1]! & 0x1f) << 16) | be16(cdb, 2), count: cdb[4] === 0 ? 256 : cdb[4]! };
    case 10: return { lba: be32(cdb, 2), count: be16(cdb, 7) };
    case 12: return { lba: be32(cdb, 2), count: be32(cdb, 6) };
    default: return { lba: be64(cdb, 2), count: be32(cdb, 10) };
  }
}

/** Direction of a command's data phase. */
export type DataDirection = 'none' | 'in' | 'out';

/** The data transfer a command expects. */
export interface CdbTransfer {
  readonly direction: DataDirection;
  /** Bytes: the allocation length (data-in), parameter list length or blocks x block size. */
  readonly bytes: number;
}

/** Which command set decodes opcodes that differ between device types. */
export type ScsiDeviceKind = 'disk' | 'cdrom';

const NONE: CdbTransfer = { direction: 'none', bytes: 0 };

function xfer(direction: 'in' | 'out', bytes: number): CdbTransfer {
  return bytes > 0 ? { direction, bytes } : NONE;
}

/**
 * The data phase `cdb` asks for on a device of `kind` with `blockSize`-byte logical
 * blocks. Unknown operation codes have no data phase (the device rejects them).
 */
export function expectedTransfer(cdb: Uint8Array, kind: ScsiDeviceKind, blockSize: number): CdbTransfer {
  const op = cdb[0] ?? 0;
  const O = SCSI_OP;
  switch (op) {
    case O.REQUEST_SENSE: case O.MODE_SENSE_6: return xfer('in', cdb[4] ?? 0);
    case O.INQUIRY: return xfer('in', be16(cdb, 3));
    case O.MODE_SENSE_10: return xfer('in', be16(cdb, 7));
    case O.MODE_SELECT_6: return xfer('out', cdb[4] ?? 0);
    case O.MODE_SELECT_10: return xfer('out', be16(cdb, 7));
    case O.READ_CAPACITY_10: return xfer('in', 8);
    case O.SERVICE_ACTION_IN_16: return xfer('in', be32(cdb, 10));
    case O.REPORT_LUNS: return xfer('in', be32(cdb, 6));
    case O.READ_6: case O.READ_10: case O.READ_12: case O.READ_16:
      return xfer('in', blockRange(cdb).count * blockSize);
    case O.WRITE_6: case O.WRITE_10: case O.WRITE_12: case O.WRITE_16:
      return xfer('out', blockRange(cdb).count * blockSize);
    case O.VERIFY_10: case O.VERIFY_12: case O.VERIFY_16: {
      const bytchk = ((cdb[1] ?? 0) >> 1) & 0x03;
      if (bytchk === 1) return xfer('out', blockRange(cdb).count * blockSize);
      if (bytchk === 3) return xfer('out', blockSize);
      return NONE;
    }
    case O.WRITE_SAME_10: return xfer('out', blockSize);
    case O.WRITE_SAME_16: return (cdb[1]! & 0x01) ? NONE : xfer('out', blockSize); // NDOB: no data-out buffer
    case 0x42: return kind === 'disk' ? xfer('out', be16(cdb, 7)) : xfer('in', be16(cdb, 7)); // UNMAP / READ SUB-CHANNEL
  }
  if (kind !== 'cdrom') return NONE;
  switch (op) {
    case MMC.READ_TOC_PMA_ATIP: case MMC.GET_CONFIGURATION: case MMC.GET_EVENT_STATUS_NOTIFICATION:
    case MMC.READ_DISC_INFORMATION:
      return xfer('in', be16(cdb, 7));
    case MMC.MECHANISM_STATUS: return xfer('in', be16(cdb, 8));
    case MMC.READ_CD: return (cdb[9]! & 0xf8) === 0x10 ? xfer('in', be24(cdb, 6) * blockSize) : NONE;
    default: return NONE;
  }
}
