/**
 * Node-side glue for disk images: opens image files by path with the right backend
 * (probing when no format is given), resolves qcow2 backing files relative to the
 * overlay's folder (as QEMU does), supplies zlib for compressed clusters, and creates
 * images for `vireo disk create` without ever overwriting an existing file.
 */
import { unlink } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { StorageError, type BlockBackend, type ImageFormat } from '../storage/block-backend.js';
import { createImage, openImage, parseSize, probeImageFormat, type CreatableFormat } from '../storage/open-image.js';
import type { Qcow2CreateOptions } from '../storage/qcow2.js';
import { NodeImageFile } from './node-image-file.js';
import { inflateRawZlib } from './zlib-inflate.js';

/** Longest backing chain followed before giving up (guards against loops). */
const MAX_BACKING_DEPTH = 16;

/** Options for `openDisk`. */
export interface OpenDiskOptions {
  /** Image format; probed when absent (see emulator/storage/open-image.ts). */
  format?: ImageFormat;
  /** Open without write access (backing files always are). */
  readOnly?: boolean;
  /** Validate ISO 9660 descriptors when opening an ISO. */
  validateIso?: boolean;
}

/** Opens the image at `path` as a BlockBackend, following backing files. */
export async function openDisk(path: string, options: OpenDiskOptions = {}): Promise<BlockBackend> {
  return openChain(resolve(path), options, []);
}

async function openChain(path: string, options: OpenDiskOptions, chain: string[]): Promise<BlockBackend> {
  if (chain.includes(path)) {
    throw new StorageError(chain[0]!, 'corrupt', `backing file chain loops back to ${path}`);
  }
  if (chain.length > MAX_BACKING_DEPTH) {
    throw new StorageError(chain[0]!, 'unsupported', `backing file chain is deeper than ${MAX_BACKING_DEPTH} images`);
  }
  const file = await NodeImageFile.open(path, { readOnly: options.readOnly || options.format === 'iso' });
  try {
    return await openImage(file, {
      format: options.format,
      readOnly: options.readOnly,
      validateIso: options.validateIso,
      inflateRaw: inflateRawZlib,
      openBacking: async (name, format) => {
        const backingPath = isAbsolute(name) ? name : resolve(dirname(path), name);
        if (format !== undefined && format !== 'raw' && format !== 'qcow2') {
          throw new StorageError(path, 'unsupported', `backing file "${name}" has format "${format}", which Vireo cannot read`);
        }
        try {
          return await openChain(backingPath, { format, readOnly: true }, [...chain, path]);
        } catch (e) {
          if (!(e instanceof StorageError) || chain.length > 0) throw e;
          throw new StorageError(path, e.kind, `backing file "${name}": ${e.message}`, { cause: e });
        }
      },
    });
  } catch (e) {
    await file.close().catch(() => undefined);
    throw e;
  }
}

/** Probes the format of the image at `path` without opening a backend. */
export async function probeDisk(path: string): Promise<ImageFormat> {
  const file = await NodeImageFile.open(path, { readOnly: true });
  try {
    return await probeImageFormat(file);
  } finally {
    await file.close();
  }
}

/**
 * Creates a new image at `path` (which must not exist) of `size` bytes or a size string
 * such as "20G" (see `parseSize`). A partly written file is removed if creation fails.
 */
export async function createDisk(path: string, size: number | string, format: CreatableFormat,
  options: Qcow2CreateOptions = {}): Promise<void> {
  const sizeBytes = typeof size === 'string' ? parseSize(size) : size;
  const file = await NodeImageFile.open(path, { create: true });
  try {
    await createImage(file, sizeBytes, format, options);
    await file.close();
  } catch (e) {
    await file.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw e;
  }
}
