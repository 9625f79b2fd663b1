/**
 * Read-only CD/DVD images (ISO 9660, ECMA-119).
 *
 * Follows ECMA-119 4th ed. section 8 (volume descriptors): the volume descriptor set starts
 * at logical sector 16 (2048-byte sectors); each descriptor is one sector whose byte 0 is
 * the type (0 boot record, 1 primary, 2 supplementary, 3 partition, 255 terminator),
 * bytes 1-5 the standard identifier "CD001" and byte 6 the version (1). The primary volume
 * descriptor (8.4) holds the volume identifier (bytes 40-71), the volume space size
 * (bytes 80-87, both-endian, in logical blocks) and the logical block size (bytes 128-131).
 *
 * The image size must be a multiple of 2048. Validation (opt-in) checks sector 16 carries
 * "CD001", finds the primary descriptor before the terminator, and checks the volume
 * fits in the file. Left out: reading the directory tree (OS detection does that on the
 * host), UDF-only media, multi-session images.
 */
import { checkRange, StorageError, type BlockBackend } from './block-backend.js';
import type { ImageFile } from './image-file.js';

/** Size of an ISO 9660 logical sector in bytes. */
export const ISO_SECTOR_BYTES = 2048;
/** Sector of the first volume descriptor. */
export const ISO_FIRST_DESCRIPTOR_SECTOR = 16;
/** Byte offset of the "CD001" identifier of the first descriptor (used by probing). */
export const ISO_SIGNATURE_OFFSET = ISO_FIRST_DESCRIPTOR_SECTOR * ISO_SECTOR_BYTES + 1;
/** How many descriptors validation scans before giving up on finding a terminator. */
const MAX_DESCRIPTORS = 64;
const VD_TYPE_PRIMARY = 1;
const VD_TYPE_TERMINATOR = 255;

/** What validation learned from the primary volume descriptor. */
export interface IsoVolumeInfo {
  /** Volume identifier, trailing spaces removed (e.g. "Debian 12.5.0 amd64 n"). */
  volumeId: string;
  /** Volume space size in bytes (logical blocks times block size). */
  volumeBytes: number;
}

/** Returns true when `sector` begins with the ECMA-119 standard identifier "CD001". */
export function hasIsoIdentifier(sector: Uint8Array): boolean {
  return sector.length >= 6 && sector[1] === 0x43 && sector[2] === 0x44 && sector[3] === 0x30
    && sector[4] === 0x30 && sector[5] === 0x31;
}

/**
 * Validates the ISO 9660 volume descriptor set of `file` and returns the primary volume
 * information; throws a `bad-format` or `corrupt` StorageError saying what is wrong.
 */
export async function validateIso9660(file: ImageFile): Promise<IsoVolumeInfo> {
  const fileBytes = await file.size();
  const sector = new Uint8Array(ISO_SECTOR_BYTES);
  for (let i = 0; i < MAX_DESCRIPTORS; i++) {
    const lba = ISO_FIRST_DESCRIPTOR_SECTOR + i;
    const n = await file.read(lba * ISO_SECTOR_BYTES, sector);
    if (n < ISO_SECTOR_BYTES || !hasIsoIdentifier(sector)) {
      throw new StorageError(file.path, 'bad-format', i === 0
        ? 'not an ISO 9660 image: no "CD001" volume descriptor at sector 16'
        : `ISO 9660 volume descriptor set ends without a primary volume descriptor (sector ${lba})`);
    }
    const type = sector[0];
    if (type === VD_TYPE_TERMINATOR) break;
    if (type !== VD_TYPE_PRIMARY) continue;
    const view = new DataView(sector.buffer, sector.byteOffset, sector.byteLength);
    const blocks = view.getUint32(80, true);
    const blockSize = view.getUint16(128, true);
    if (blockSize !== 512 && blockSize !== 1024 && blockSize !== 2048) {
      throw new StorageError(file.path, 'corrupt', `ISO 9660 logical block size ${blockSize} is invalid`);
    }
    const volumeBytes = blocks * blockSize;
    if (volumeBytes > fileBytes) {
      throw new StorageError(file.path, 'corrupt',
        `ISO image is truncated: the volume is ${volumeBytes} bytes but the file has ${fileBytes}`);
    }
    const volumeId = String.fromCharCode(...sector.subarray(40, 72)).replace(/[\s\0]+$/, '');
    return { volumeId, volumeBytes };
  }
  throw new StorageError(file.path, 'bad-format', 'ISO 9660 image has no primary volume descriptor');
}

/** A read-only optical disc image. */
export class IsoBackend implements BlockBackend {
  readonly format = 'iso' as const;
  readonly path: string;
  readonly sizeBytes: number;
  readonly readOnly = true;
  /** Primary volume information when the image was validated. */
  readonly volume: IsoVolumeInfo | undefined;
  private readonly file: ImageFile;

  private constructor(file: ImageFile, sizeBytes: number, volume: IsoVolumeInfo | undefined) {
    this.file = file;
    this.path = file.path;
    this.sizeBytes = sizeBytes;
    this.volume = volume;
  }

  /**
   * Opens `file` as a disc image. Its size must be a multiple of 2048; with `validate`,
   * the ISO 9660 descriptors are checked too (see `validateIso9660`).
   */
  static async open(file: ImageFile, options?: { validate?: boolean }): Promise<IsoBackend> {
    const sizeBytes = await file.size();
    if (sizeBytes % ISO_SECTOR_BYTES !== 0) {
      throw new StorageError(file.path, 'bad-format',
        `an ISO image must be a whole number of 2048-byte sectors, but the file has ${sizeBytes} bytes`);
    }
    const volume = options?.validate ? await validateIso9660(file) : undefined;
    return new IsoBackend(file, sizeBytes, volume);
  }

  async read(offset: number, buffer: Uint8Array): Promise<void> {
    checkRange(this.path, this.sizeBytes, offset, buffer.length);
    const n = await this.file.read(offset, buffer);
    if (n < buffer.length) buffer.fill(0, n);
  }

  async write(): Promise<void> {
    throw new StorageError(this.path, 'read-only', 'cannot write: ISO images are read-only');
  }

  async flush(): Promise<void> {
    // Nothing is ever written.
  }

  async discard(): Promise<void> {
    throw new StorageError(this.path, 'read-only', 'cannot discard: ISO images are read-only');
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}
