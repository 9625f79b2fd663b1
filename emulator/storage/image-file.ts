/**
 * ImageFile: the file interface image formats are written against. Formats are pure logic;
 * `emulator/host/node-image-file.ts` implements this with node:fs/promises (positional
 * I/O, fsync) and `memory-image-file.ts` with a growable byte array for tests.
 */
import { StorageError } from './block-backend.js';

/** A random-access file holding an image. */
export interface ImageFile {
  /** Path or name, used in error messages. */
  readonly path: string;
  /** True when the file was opened without write access. */
  readonly readOnly: boolean;
  /**
   * Reads up to `buf.length` bytes at `pos` into `buf`; returns how many were read, which
   * is less than `buf.length` only at end of file.
   */
  read(pos: number, buf: Uint8Array): Promise<number>;
  /** Writes all of `data` at `pos`, extending the file (with a hole) when past its end. */
  write(pos: number, data: Uint8Array): Promise<void>;
  /** The current file size in bytes. */
  size(): Promise<number>;
  /** Sets the file size; growing leaves a hole that reads as zeros. */
  truncate(sizeBytes: number): Promise<void>;
  /** Resolves when all data and metadata written so far are durable (fsync). */
  sync(): Promise<void>;
  /** Closes the file. */
  close(): Promise<void>;
}

/** Opens another image file by name (a backing file); the host resolves the name. */
export type ImageFileOpener = (name: string) => Promise<ImageFile>;

/**
 * Reads exactly `buf.length` bytes at `pos`, throwing a `corrupt` StorageError naming
 * `what` when the file ends first.
 */
export async function readExact(file: ImageFile, pos: number, buf: Uint8Array, what: string): Promise<void> {
  const n = await file.read(pos, buf);
  if (n < buf.length) {
    throw new StorageError(file.path, 'corrupt',
      `${what} at offset ${pos} (${buf.length} bytes) extends beyond the end of the file`);
  }
}
