/**
 * BlockBackend: the contract between disk controllers (IDE/ATAPI, virtio-blk, virtio-scsi)
 * and the image formats under this folder (raw, qcow2, read-only ISO).
 *
 * All I/O is asynchronous and byte-addressed; controllers validate guest requests against
 * `sizeBytes` before calling (a request out of range here is a host-side bug and throws).
 * `flush()` is the guest's FLUSH CACHE / VIRTIO_BLK_T_FLUSH: it resolves only when every
 * write that completed before it was called is durable, data and format metadata alike.
 *
 * Errors are `StorageError`s whose message starts with the image path and states the
 * problem in words a user can act on (Firecracker's displaydoc style).
 */

/** The on-disk format of an image. */
export type ImageFormat = 'raw' | 'qcow2' | 'iso';

/** What kind of problem a StorageError reports. */
export type StorageErrorKind =
  /** The file is not a valid image of the expected format (bad magic, truncated header). */
  | 'bad-format'
  /** The image uses a feature Vireo does not implement (encryption, external data file). */
  | 'unsupported'
  /** The image metadata is inconsistent (tables beyond end of file, bad entries). */
  | 'corrupt'
  /** The image needs a repair before it may be written (dirty or corrupt bit set). */
  | 'needs-repair'
  /** A write, discard or resize was attempted on a read-only image. */
  | 'read-only'
  /** A request lies outside the virtual disk (a caller bug). */
  | 'out-of-range'
  /** An argument is invalid (size string, cluster size, format name). */
  | 'invalid-argument'
  /** The host file system reported an error. */
  | 'io';

/** An error about one image file; `message` reads "<path>: <problem>". */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  /** The image file the error is about. */
  readonly path: string;
  /** The category of problem, for callers that react differently (e.g. offer a repair). */
  readonly kind: StorageErrorKind;
  /** The problem alone, without the path. */
  readonly problem: string;

  constructor(path: string, kind: StorageErrorKind, problem: string, options?: { cause?: unknown }) {
    super(`${path}: ${problem}`, options);
    this.path = path;
    this.kind = kind;
    this.problem = problem;
  }
}

/**
 * A virtual disk as the controllers see it. Offsets and lengths are in bytes and need
 * not be sector-aligned (formats handle partial clusters themselves).
 */
export interface BlockBackend {
  /** The format implementing this backend. */
  readonly format: ImageFormat;
  /** Path (or name) of the image file, used in error messages. */
  readonly path: string;
  /** Size of the virtual disk in bytes. */
  readonly sizeBytes: number;
  /** True when writes, discards and write-zeroes are refused. */
  readonly readOnly: boolean;
  /** Fills `buffer` with the disk bytes at `offset` .. `offset + buffer.length`. */
  read(offset: number, buffer: Uint8Array): Promise<void>;
  /** Writes `data` at `offset`. Durable only after a later `flush()` resolves. */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Resolves when all completed writes (data and metadata) are on stable storage. */
  flush(): Promise<void>;
  /**
   * Hints that a range is no longer needed. Afterwards the range reads either its old
   * contents or zeros (each format documents which). Never an error for a valid range
   * of a writable backend; read-only backends refuse it.
   */
  discard(offset: number, length: number): Promise<void>;
  /** Makes the range read as zeros, cheaper than writing a zero buffer when possible. */
  writeZeroes?(offset: number, length: number): Promise<void>;
  /** Releases the file (and any backing files). The backend is unusable afterwards. */
  close(): Promise<void>;
}

/**
 * Throws an `out-of-range` StorageError unless `offset .. offset + length` lies inside a
 * disk of `sizeBytes` and both are non-negative safe integers.
 */
export function checkRange(path: string, sizeBytes: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0
    || offset + length > sizeBytes) {
    throw new StorageError(path, 'out-of-range',
      `request at offset ${offset} length ${length} is outside the ${sizeBytes}-byte disk`);
  }
}

/** Throws a `read-only` StorageError for `operation` when `readOnly` is set. */
export function checkWritable(path: string, readOnly: boolean, operation: string): void {
  if (readOnly) throw new StorageError(path, 'read-only', `cannot ${operation}: the image is open read-only`);
}
