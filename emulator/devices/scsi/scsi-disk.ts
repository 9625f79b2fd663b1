/**
 * ScsiDisk: a direct-access block device (SBC-3) of 512-byte logical blocks over a
 * BlockBackend, as QEMU's scsi-hd presents it ("QEMU HARDDISK").
 *
 * Commands: TEST UNIT READY, REQUEST SENSE, INQUIRY (VPD 00h, 80h, 83h, B0h, B1h, B2h),
 * READ(6/10/12/16) and WRITE(6/10/12/16) (SBC-3 §5.8-§5.11, §5.32-§5.35; FUA honoured
 * by a flush), VERIFY(10/12/16) (§5.29-§5.31; BYTCHK 00b range check, 01b/11b compare
 * with MISCOMPARE), SYNCHRONIZE CACHE(10/16) (§5.22/§5.23), READ CAPACITY(10) (§5.15)
 * and (16) (SERVICE ACTION IN(16), §5.16, LBPME when unmapping is offered), MODE SENSE
 * (6/10) and MODE SELECT(6/10) (SPC-4 §6.11-§6.14; pages in `scsi-mode.ts`, WCE
 * switchable: with the write cache off every write is followed by a flush), START STOP
 * UNIT (§5.25, accepted), PREVENT ALLOW MEDIUM REMOVAL, RESERVE/RELEASE (accepted as
 * QEMU), SEEK(10) (range check), and on writable disks UNMAP (§5.28) and WRITE SAME
 * (10/16) (§5.42/§5.43, UNMAP bit and NDOB honoured: a zero pattern becomes a
 * write-zeroes request; a range may be discarded only through UNMAP, whose result the
 * backend defines, hence LBPRZ clear). REPORT LUNS is answered by the target
 * (`scsi-bus.ts`).
 *
 * Errors: an unknown opcode is ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE; a range
 * beyond the disk LOGICAL BLOCK ADDRESS OUT OF RANGE; a bad CDB field or a transfer
 * longer than `maxTransferBytes` INVALID FIELD IN CDB; a write to a read-only disk DATA
 * PROTECT / WRITE PROTECTED; a backend failure MEDIUM ERROR (UNRECOVERED READ ERROR or
 * WRITE ERROR).
 *
 * Left out: protection information, COMPARE AND WRITE, WRITE AND VERIFY, XCOPY, the
 * REPORT SUPPORTED OPERATION CODES and LOG SENSE commands (invalid opcode), persistent
 * reservations, FORMAT UNIT.
 */
import type { BlockBackend } from '../../storage/block-backend.js';
import { blockRange, be16, be32, be64, putBe, SAI_READ_CAPACITY_16, SCSI_OP } from './scsi-cdb.js';
import {
  blockCharacteristicsPage, blockLimitsPage, PERIPHERAL_TYPE_DISK, provisioningPage,
} from './scsi-inquiry.js';
import { SCSI_DEFAULT_MAX_TRANSFER_BYTES, ScsiLogicalUnit, type ScsiLogicalUnitOptions } from './scsi-logical-unit.js';
import { diskModeSense, parseModeSelect } from './scsi-mode.js';
import { good, type ScsiResult } from './scsi-result.js';
import {
  SENSE_CODE_INVALID_FIELD, SENSE_CODE_INVALID_OPCODE, SENSE_CODE_INVALID_PARAM, SENSE_CODE_LBA_OUT_OF_RANGE,
  SENSE_CODE_MISCOMPARE, SENSE_CODE_PARAM_LIST_LENGTH, SENSE_CODE_READ_ERROR, SENSE_CODE_SAVING_NOT_SUPPORTED,
  SENSE_CODE_WRITE_ERROR, SENSE_CODE_WRITE_PROTECTED,
} from './scsi-sense.js';
import { bool } from '../state-check.js';

/** Logical block size of the disk. */
export const SCSI_DISK_BLOCK_BYTES = 512;
/** Largest UNMAP / WRITE SAME range in blocks (as virtio-blk's discard limit). */
const MAX_UNMAP_BLOCKS = 0x3f_ffff;
/** Largest number of UNMAP block descriptors. */
const MAX_UNMAP_DESCRIPTORS = 255;
/** Largest buffer of one WRITE SAME pattern write. */
const PATTERN_CHUNK_BYTES = 1 << 20;

/** Construction options of a SCSI disk. */
export interface ScsiDiskOptions extends ScsiLogicalUnitOptions {
  /** The disk image. */
  readonly backend: BlockBackend;
  /** Present the disk read-only even if the backend is writable. */
  readonly readOnly?: boolean;
  /** Largest READ/WRITE transfer in bytes (default 0xFFFF x 512). */
  readonly maxTransferBytes?: number;
}

/** A SCSI direct-access device over a BlockBackend. */
export class ScsiDisk extends ScsiLogicalUnit {
  readonly kind = 'disk' as const;
  readonly peripheralType = PERIPHERAL_TYPE_DISK;
  readonly blockSize = SCSI_DISK_BLOCK_BYTES;
  readonly removable = false;
  /** Whether writes are refused (DATA PROTECT). */
  readonly readOnly: boolean;
  /** Number of logical blocks. */
  readonly blocks: number;
  /** Whether UNMAP and WRITE SAME with UNMAP are offered (writable disks). */
  readonly unmapSupported: boolean;
  /** Largest READ/WRITE transfer in bytes. */
  readonly maxTransferBytes: number;
  private readonly backend: BlockBackend;
  private writeCache = true;

  constructor(opts: ScsiDiskOptions) {
    super(opts, 'QEMU HARDDISK');
    this.backend = opts.backend;
    this.readOnly = (opts.readOnly ?? false) || opts.backend.readOnly;
    this.blocks = Math.floor(opts.backend.sizeBytes / SCSI_DISK_BLOCK_BYTES);
    this.unmapSupported = !this.readOnly;
    this.maxTransferBytes = opts.maxTransferBytes ?? SCSI_DEFAULT_MAX_TRANSFER_BYTES;
  }

  /** Whether the write cache is enabled (caching mode page WCE). */
  get writeCacheEnabled(): boolean {
    return this.writeCache;
  }

  protected override dispatch(op: number, cdb: Uint8Array, dataOut: Uint8Array): ScsiResult | Promise<ScsiResult> {
    const O = SCSI_OP;
    switch (op) {
      case O.TEST_UNIT_READY: case O.START_STOP_UNIT: case O.PREVENT_ALLOW_MEDIUM_REMOVAL:
      case O.RESERVE_6: case O.RELEASE_6: case O.RESERVE_10: case O.RELEASE_10:
        return good();
      case O.READ_6: case O.READ_10: case O.READ_12: case O.READ_16:
        return this.read(cdb);
      case O.WRITE_6: case O.WRITE_10: case O.WRITE_12: case O.WRITE_16:
        return this.write(op, cdb, dataOut);
      case O.VERIFY_10: case O.VERIFY_12: case O.VERIFY_16:
        return this.verify(cdb, dataOut);
      case O.SEEK_10: {
        const lba = be32(cdb, 2);
        return lba < this.blocks ? good() : this.fail(SENSE_CODE_LBA_OUT_OF_RANGE);
      }
      case O.SYNCHRONIZE_CACHE_10: case O.SYNCHRONIZE_CACHE_16:
        return this.flush();
      case O.READ_CAPACITY_10:
        return this.readCapacity10(cdb);
      case O.SERVICE_ACTION_IN_16:
        if ((cdb[1]! & 0x1f) !== SAI_READ_CAPACITY_16) return this.fail(SENSE_CODE_INVALID_FIELD);
        return good(this.readCapacity16(), be32(cdb, 10));
      case O.MODE_SENSE_6: case O.MODE_SENSE_10: {
        const ten = op === O.MODE_SENSE_10;
        const data = diskModeSense({
          ten, dbd: (cdb[1]! & 0x08) !== 0, pageCode: cdb[2]! & 0x3f, subpage: cdb[3]!, pageControl: cdb[2]! >> 6,
        }, { blocks: this.blocks, blockSize: this.blockSize, readOnly: this.readOnly, writeCache: this.writeCache });
        if (data === 'saved') return this.fail(SENSE_CODE_SAVING_NOT_SUPPORTED);
        if (data === 'invalid') return this.fail(SENSE_CODE_INVALID_FIELD);
        return good(data, ten ? be16(cdb, 7) : cdb[4]!);
      }
      case O.MODE_SELECT_6: case O.MODE_SELECT_10:
        return this.modeSelect(op === O.MODE_SELECT_10, cdb, dataOut);
      case O.WRITE_SAME_10: case O.WRITE_SAME_16:
        return this.writeSame(op === O.WRITE_SAME_16, cdb, dataOut);
      case O.UNMAP:
        return this.unmap(cdb, dataOut);
      default:
        return this.fail(SENSE_CODE_INVALID_OPCODE);
    }
  }

  protected override extraVpdPages(): readonly number[] {
    return [0xb0, 0xb1, 0xb2];
  }

  protected override vpdPage(page: number): Uint8Array | null {
    switch (page) {
      case 0xb0: return blockLimitsPage({
        maxTransferBlocks: Math.floor(this.maxTransferBytes / this.blockSize),
        maxUnmapBlocks: this.unmapSupported ? MAX_UNMAP_BLOCKS : 0,
        maxUnmapDescriptors: this.unmapSupported ? MAX_UNMAP_DESCRIPTORS : 0,
        maxWriteSameBlocks: this.readOnly ? 0 : MAX_UNMAP_BLOCKS,
      });
      case 0xb1: return blockCharacteristicsPage();
      case 0xb2: return provisioningPage(this.unmapSupported);
      default: return null;
    }
  }

  protected override resetUnit(): void {
    this.writeCache = true;
  }

  protected override saveUnit(): Record<string, unknown> {
    return { writeCache: this.writeCache };
  }

  protected override parseUnit(s: Record<string, unknown>): () => void {
    const wce = bool(this.id, s, 'writeCache');
    return () => { this.writeCache = wce; };
  }

  // ---- commands ------------------------------------------------------------------------------

  /** The byte offset of blocks `lba .. lba + count`, or the CHECK CONDITION that refuses them. */
  private range(lba: number, count: number, sizeLimit = true): number | ScsiResult {
    if (sizeLimit && count * this.blockSize > this.maxTransferBytes) return this.fail(SENSE_CODE_INVALID_FIELD);
    if (lba + count > this.blocks) return this.fail(SENSE_CODE_LBA_OUT_OF_RANGE);
    return lba * this.blockSize;
  }

  private async read(cdb: Uint8Array): Promise<ScsiResult> {
    const { lba, count } = blockRange(cdb);
    const off = this.range(lba, count);
    if (typeof off !== 'number') return off;
    const buf = new Uint8Array(count * this.blockSize);
    if (count === 0) return good();
    return (await this.io(() => this.backend.read(off, buf), SENSE_CODE_READ_ERROR)) ?? good(buf);
  }

  private async write(op: number, cdb: Uint8Array, dataOut: Uint8Array): Promise<ScsiResult> {
    if (this.readOnly) return this.fail(SENSE_CODE_WRITE_PROTECTED);
    const { lba, count } = blockRange(cdb);
    const off = this.range(lba, count);
    if (typeof off !== 'number') return off;
    const len = count * this.blockSize;
    if (dataOut.length < len) return this.fail(SENSE_CODE_INVALID_FIELD);
    if (count === 0) return good();
    const fua = op !== SCSI_OP.WRITE_6 && (cdb[1]! & 0x08) !== 0;
    const failed = await this.io(() => this.backend.write(off, dataOut.subarray(0, len)), SENSE_CODE_WRITE_ERROR);
    if (failed) return failed;
    return (fua || !this.writeCache) ? this.flush() : good();
  }

  private async verify(cdb: Uint8Array, dataOut: Uint8Array): Promise<ScsiResult> {
    const bytchk = (cdb[1]! >> 1) & 0x03;
    if (bytchk === 2) return this.fail(SENSE_CODE_INVALID_FIELD);
    const { lba, count } = blockRange(cdb);
    const off = this.range(lba, count);
    if (typeof off !== 'number') return off;
    if (bytchk === 0 || count === 0) return good();
    const expected = dataOut.subarray(0, bytchk === 1 ? count * this.blockSize : this.blockSize);
    if (expected.length < (bytchk === 1 ? count * this.blockSize : this.blockSize)) return this.fail(SENSE_CODE_INVALID_FIELD);
    const buf = new Uint8Array(count * this.blockSize);
    const failed = await this.io(() => this.backend.read(off, buf), SENSE_CODE_READ_ERROR);
    if (failed) return failed;
    for (let i = 0; i < buf.length; i++) {
      if (buf[i] !== expected[i % expected.length]) return this.fail(SENSE_CODE_MISCOMPARE);
    }
    return good();
  }

  private async flush(): Promise<ScsiResult> {
    return (await this.io(() => this.backend.flush(), SENSE_CODE_WRITE_ERROR)) ?? good();
  }

  /** READ CAPACITY(10) data (SBC-3 §5.15): last LBA (FFFFFFFFh if larger) and block length. */
  private readCapacity10(cdb: Uint8Array): ScsiResult {
    if (!(cdb[8]! & 0x01) && be32(cdb, 2) !== 0) return this.fail(SENSE_CODE_INVALID_FIELD); // LBA without PMI
    const b = new Uint8Array(8);
    putBe(b, 0, 4, Math.min(Math.max(0, this.blocks - 1), 0xffff_ffff));
    putBe(b, 4, 4, this.blockSize);
    return good(b);
  }

  /** READ CAPACITY(16) parameter data (SBC-3 §5.16, 32 bytes): last LBA, block length, LBPME. */
  private readCapacity16(): Uint8Array {
    const b = new Uint8Array(32);
    putBe(b, 0, 8, Math.max(0, this.blocks - 1));
    putBe(b, 8, 4, this.blockSize);
    if (this.unmapSupported) b[14] = 0x80; // LBPME
    return b;
  }

  private modeSelect(ten: boolean, cdb: Uint8Array, dataOut: Uint8Array): ScsiResult {
    if (cdb[1]! & 0x01) return this.fail(SENSE_CODE_SAVING_NOT_SUPPORTED); // SP
    const len = ten ? be16(cdb, 7) : cdb[4]!;
    if (dataOut.length < len) return this.fail(SENSE_CODE_PARAM_LIST_LENGTH);
    const r = parseModeSelect(ten, dataOut.subarray(0, len));
    if (r === 'length') return this.fail(SENSE_CODE_PARAM_LIST_LENGTH);
    if (r === 'invalid') return this.fail(SENSE_CODE_INVALID_PARAM);
    if (r.writeCache !== undefined) this.writeCache = r.writeCache;
    return good();
  }

  /** WRITE SAME(10)/(16) (SBC-3 §5.42/§5.43). */
  private async writeSame(sixteen: boolean, cdb: Uint8Array, dataOut: Uint8Array): Promise<ScsiResult> {
    if (this.readOnly) return this.fail(SENSE_CODE_WRITE_PROTECTED);
    const flags = cdb[1]!;
    const ndob = sixteen && (flags & 0x01) !== 0;
    if (flags & 0x10) return this.fail(SENSE_CODE_INVALID_FIELD); // ANCHOR
    if (!sixteen && (flags & 0x01)) return this.fail(SENSE_CODE_INVALID_FIELD); // obsolete RELADR
    if ((flags & 0x08) && !this.unmapSupported) return this.fail(SENSE_CODE_INVALID_FIELD);
    const { lba, count } = blockRange(cdb);
    if (count === 0 || count > MAX_UNMAP_BLOCKS) return this.fail(SENSE_CODE_INVALID_FIELD); // WSNZ
    const off = this.range(lba, count, false);
    if (typeof off !== 'number') return off;
    const pattern = ndob ? new Uint8Array(this.blockSize) : dataOut.subarray(0, this.blockSize);
    if (pattern.length < this.blockSize) return this.fail(SENSE_CODE_INVALID_FIELD);
    const len = count * this.blockSize;
    if (pattern.every((x) => x === 0)) {
      return (await this.io(() => this.zeroes(off, len), SENSE_CODE_WRITE_ERROR)) ?? good();
    }
    const chunkBlocks = Math.max(1, Math.floor(PATTERN_CHUNK_BYTES / this.blockSize));
    const chunk = new Uint8Array(Math.min(count, chunkBlocks) * this.blockSize);
    for (let i = 0; i < chunk.length; i += this.blockSize) chunk.set(pattern, i);
    return (await this.io(async () => {
      for (let done = 0; done < len; done += chunk.length) {
        const n = Math.min(chunk.length, len - done);
        await this.backend.write(off + done, chunk.subarray(0, n));
      }
    }, SENSE_CODE_WRITE_ERROR)) ?? good();
  }

  private async zeroes(off: number, len: number): Promise<void> {
    if (this.backend.writeZeroes) { await this.backend.writeZeroes(off, len); return; }
    const zero = new Uint8Array(Math.min(len, PATTERN_CHUNK_BYTES));
    for (let done = 0; done < len; done += zero.length) await this.backend.write(off + done, zero.subarray(0, Math.min(zero.length, len - done)));
  }

  /** UNMAP (SBC-3 §5.28): parameter list header, then 16-byte block descriptors. */
  private async unmap(cdb: Uint8Array, dataOut: Uint8Array): Promise<ScsiResult> {
    if (this.readOnly) return this.fail(SENSE_CODE_WRITE_PROTECTED);
    if (cdb[1]! & 0x01) return this.fail(SENSE_CODE_INVALID_FIELD); // ANCHOR
    const len = be16(cdb, 7);
    if (len === 0) return good();
    if (len < 8 || dataOut.length < len) return this.fail(SENSE_CODE_PARAM_LIST_LENGTH);
    const list = dataOut.subarray(0, len);
    const bdLen = be16(list, 2);
    if (be16(list, 0) + 2 > len || bdLen + 8 > len) return this.fail(SENSE_CODE_PARAM_LIST_LENGTH);
    const n = Math.floor(bdLen / 16);
    if (n > MAX_UNMAP_DESCRIPTORS) return this.fail(SENSE_CODE_INVALID_PARAM);
    const ranges: Array<[number, number]> = [];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const lba = be64(list, 8 + 16 * i);
      const count = be32(list, 8 + 16 * i + 8);
      if (lba + count > this.blocks) return this.fail(SENSE_CODE_LBA_OUT_OF_RANGE);
      total += count;
      if (count > 0) ranges.push([lba * this.blockSize, count * this.blockSize]);
    }
    if (total > MAX_UNMAP_BLOCKS) return this.fail(SENSE_CODE_INVALID_PARAM);
    return (await this.io(async () => {
      for (const [off, bytes] of ranges) await this.backend.discard(off, bytes);
    }, SENSE_CODE_WRITE_ERROR)) ?? good();
  }
}
