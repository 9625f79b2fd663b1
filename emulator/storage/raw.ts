/**
 * Raw disk images: the virtual disk is the file, byte for byte.
 *
 * Creation makes a sparse file: `truncate` to the virtual size leaves one hole, so a new
 * 20 GiB disk uses no space until the guest writes. `discard` is a documented no-op: Node
 * offers no portable fallocate(FALLOC_FL_PUNCH_HOLE), so a discarded range keeps its old
 * contents (allowed by virtio-blk and ATA TRIM without RZAT). `writeZeroes` writes zero
 * buffers. `flush` is the file's fsync (data and metadata).
 */
import { checkRange, checkWritable, type BlockBackend } from './block-backend.js';
import type { ImageFile } from './image-file.js';

/** Largest zero buffer written in one call by `writeZeroes`. */
const ZERO_CHUNK_BYTES = 1 << 20;

/** A raw image: virtual disk offset N is file offset N. */
export class RawBackend implements BlockBackend {
  readonly format = 'raw' as const;
  readonly path: string;
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  private readonly file: ImageFile;

  private constructor(file: ImageFile, sizeBytes: number, readOnly: boolean) {
    this.file = file;
    this.path = file.path;
    this.sizeBytes = sizeBytes;
    this.readOnly = readOnly;
  }

  /** Opens `file` as a raw disk whose size is the file's size. */
  static async open(file: ImageFile, options?: { readOnly?: boolean }): Promise<RawBackend> {
    return new RawBackend(file, await file.size(), (options?.readOnly ?? false) || file.readOnly);
  }

  async read(offset: number, buffer: Uint8Array): Promise<void> {
    checkRange(this.path, this.sizeBytes, offset, buffer.length);
    const n = await this.file.read(offset, buffer);
    // The file may have been shortened behind our back: the missing tail reads as zeros.
    if (n < buffer.length) buffer.fill(0, n);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    checkWritable(this.path, this.readOnly, 'write');
    checkRange(this.path, this.sizeBytes, offset, data.length);
    await this.file.write(offset, data);
  }

  async flush(): Promise<void> {
    if (!this.readOnly) await this.file.sync();
  }

  /** No-op (see the file header): the range keeps its contents. */
  async discard(offset: number, length: number): Promise<void> {
    checkWritable(this.path, this.readOnly, 'discard');
    checkRange(this.path, this.sizeBytes, offset, length);
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    checkWritable(this.path, this.readOnly, 'write zeroes');
    checkRange(this.path, this.sizeBytes, offset, length);
    const zeros = new Uint8Array(Math.min(length, ZERO_CHUNK_BYTES));
    for (let done = 0; done < length; done += zeros.length) {
      const n = Math.min(zeros.length, length - done);
      await this.file.write(offset + done, n === zeros.length ? zeros : zeros.subarray(0, n));
    }
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

/** Makes `file` (new and empty) a sparse raw image of `sizeBytes` and syncs it. */
export async function createRaw(file: ImageFile, sizeBytes: number): Promise<void> {
  await file.truncate(sizeBytes);
  await file.sync();
}
