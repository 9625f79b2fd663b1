/**
 * Format probing, opening and creation of disk images over an ImageFile, and the
 * `parseSize` helper of `vireo disk create`. Node-side path handling (resolving backing
 * files, creating files) is in emulator/host/open-disk.ts.
 *
 * Probing order: qcow2 magic "QFI\xfb" at offset 0 (QEMU docs/interop/qcow2.txt), then
 * the ISO 9660 identifier "CD001" at sector 16 (ECMA-119 8.1), else raw. Probing a raw
 * image is unsafe in general (a guest can write a qcow2 header into its own disk and
 * make the host follow a "backing file"), so VM configurations record the format and
 * pass it explicitly; probing is for importing images a user picked.
 */
import { StorageError, type BlockBackend, type ImageFormat } from './block-backend.js';
import type { ImageFile } from './image-file.js';
import { hasIsoIdentifier, ISO_SIGNATURE_OFFSET, IsoBackend } from './iso.js';
import { QCOW2_MAGIC } from './qcow2-header.js';
import { createQcow2, Qcow2Backend, type BackingOpener, type InflateRaw, type Qcow2CreateOptions } from './qcow2.js';
import { createRaw, RawBackend } from './raw.js';

/** Options for `openImage`. */
export interface OpenImageOptions {
  /** The image format; probed from the contents when absent. */
  format?: ImageFormat;
  /** Open without write access. ISO images are always read-only. */
  readOnly?: boolean;
  /** Check the ISO 9660 volume descriptors of ISO images. */
  validateIso?: boolean;
  /** Decoder for compressed qcow2 clusters. */
  inflateRaw?: InflateRaw;
  /** Opener for qcow2 backing files. */
  openBacking?: BackingOpener;
}

/** Guesses the format of `file` from its contents (see the file header). */
export async function probeImageFormat(file: ImageFile): Promise<ImageFormat> {
  const magic = new Uint8Array(4);
  if (await file.read(0, magic) === 4 && new DataView(magic.buffer).getUint32(0) === QCOW2_MAGIC) return 'qcow2';
  const sig = new Uint8Array(6);
  if (await file.read(ISO_SIGNATURE_OFFSET - 1, sig) === 6 && hasIsoIdentifier(sig)) return 'iso';
  return 'raw';
}

/** Opens `file` with the backend for its (given or probed) format. */
export async function openImage(file: ImageFile, options: OpenImageOptions = {}): Promise<BlockBackend> {
  const format = options.format ?? await probeImageFormat(file);
  switch (format) {
    case 'qcow2':
      return Qcow2Backend.open(file, {
        readOnly: options.readOnly, inflateRaw: options.inflateRaw, openBacking: options.openBacking,
      });
    case 'iso':
      return IsoBackend.open(file, { validate: options.validateIso });
    case 'raw':
      return RawBackend.open(file, { readOnly: options.readOnly });
    default:
      throw new StorageError(file.path, 'invalid-argument', `unknown image format "${String(format)}"`);
  }
}

/** Formats `createImage` can write. */
export type CreatableFormat = 'raw' | 'qcow2';

/**
 * Initialises the new, empty `file` as a `format` image of `sizeBytes` (a multiple of
 * 512): a sparse raw file, or a qcow2 v3 image (64 KiB clusters unless told otherwise).
 */
export async function createImage(file: ImageFile, sizeBytes: number, format: CreatableFormat,
  options: Qcow2CreateOptions = {}): Promise<void> {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes % 512 !== 0) {
    throw new StorageError(file.path, 'invalid-argument', `disk size ${sizeBytes} must be a non-negative multiple of 512 bytes`);
  }
  if (format === 'raw') {
    if (options.backingFile !== undefined) throw new StorageError(file.path, 'invalid-argument', 'raw images cannot have a backing file');
    await createRaw(file, sizeBytes);
  } else if (format === 'qcow2') {
    await createQcow2(file, sizeBytes, options);
  } else {
    throw new StorageError(file.path, 'invalid-argument', `cannot create images of format "${String(format)}" (use raw or qcow2)`);
  }
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };

/**
 * Parses a disk size as `qemu-img` does: a number of bytes, or a number with a binary
 * suffix K, M, G, T or P (optionally followed by "iB" or "B"), e.g. "20G", "512M",
 * "1.5T". The result must be a positive multiple of 512 bytes. Throws an
 * `invalid-argument` StorageError explaining what is wrong.
 */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$/i.exec(text);
  const fail = (why: string): never => { throw new StorageError('disk size', 'invalid-argument', `"${text}" ${why}`); };
  if (!m) return fail('is not a size: use a number with an optional K, M, G, T or P suffix, e.g. 20G or 512M');
  const unit = SIZE_UNITS[m[2]!.toUpperCase()]!;
  if (unit === 1 && m[1]!.includes('.')) return fail('is not a whole number of bytes');
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) return fail('is too large');
  if (bytes === 0) return fail('is zero; a disk needs at least 512 bytes');
  if (bytes % 512 !== 0) return fail(`is ${bytes} bytes, not a multiple of 512 (disk sectors)`);
  return bytes;
}
