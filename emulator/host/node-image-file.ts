/**
 * ImageFile over node:fs/promises: positional reads and writes on one FileHandle,
 * `sync()` is fsync(2) (data and metadata), `truncate` makes holes when growing.
 * Node errors become StorageErrors of kind `io` naming the file and the errno code.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { StorageError } from '../storage/block-backend.js';
import type { ImageFile } from '../storage/image-file.js';

/** How to open an image file. */
export interface NodeImageFileOptions {
  /** Open without write access. */
  readOnly?: boolean;
  /** Create a new file; fails if the path exists (images are never overwritten). */
  create?: boolean;
}

/** Wraps a Node error as a StorageError about `path`. */
export function ioError(path: string, action: string, e: unknown): StorageError {
  const code = (e as { code?: unknown } | null)?.code;
  const why = code === 'ENOENT' ? 'no such file'
    : code === 'EEXIST' ? 'the file already exists (images are never overwritten)'
      : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
        : code === 'EISDIR' ? 'it is a directory'
          : code === 'ENOSPC' ? 'no space left on the device'
            : e instanceof Error ? e.message : String(e);
  return new StorageError(path, 'io', `cannot ${action}: ${why}`, { cause: e });
}

/** An ImageFile on the host file system. */
export class NodeImageFile implements ImageFile {
  readonly path: string;
  readonly readOnly: boolean;
  private readonly fh: FileHandle;

  private constructor(path: string, fh: FileHandle, readOnly: boolean) {
    this.path = path;
    this.fh = fh;
    this.readOnly = readOnly;
  }

  /** Opens (or with `create`, exclusively creates) the file at `path`. */
  static async open(path: string, options: NodeImageFileOptions = {}): Promise<NodeImageFile> {
    const readOnly = options.readOnly ?? false;
    const flags = options.create ? 'wx+' : readOnly ? 'r' : 'r+';
    try {
      return new NodeImageFile(path, await open(path, flags), readOnly && !options.create);
    } catch (e) {
      throw ioError(path, options.create ? 'create the image' : 'open the image', e);
    }
  }

  async read(pos: number, buf: Uint8Array): Promise<number> {
    let done = 0;
    try {
      while (done < buf.length) {
        const { bytesRead } = await this.fh.read(buf, done, buf.length - done, pos + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
    } catch (e) {
      throw ioError(this.path, `read ${buf.length} bytes at offset ${pos}`, e);
    }
    return done;
  }

  async write(pos: number, data: Uint8Array): Promise<void> {
    if (this.readOnly) throw new StorageError(this.path, 'read-only', 'cannot write: the file is open read-only');
    let done = 0;
    try {
      while (done < data.length) {
        const { bytesWritten } = await this.fh.write(data, done, data.length - done, pos + done);
        done += bytesWritten;
      }
    } catch (e) {
      throw ioError(this.path, `write ${data.length} bytes at offset ${pos}`, e);
    }
  }

  async size(): Promise<number> {
    try {
      return (await this.fh.stat()).size;
    } catch (e) {
      throw ioError(this.path, 'stat the file', e);
    }
  }

  async truncate(sizeBytes: number): Promise<void> {
    if (this.readOnly) throw new StorageError(this.path, 'read-only', 'cannot resize: the file is open read-only');
    try {
      await this.fh.truncate(sizeBytes);
    } catch (e) {
      throw ioError(this.path, `resize the file to ${sizeBytes} bytes`, e);
    }
  }

  async sync(): Promise<void> {
    try {
      await this.fh.sync();
    } catch (e) {
      throw ioError(this.path, 'sync the file to disk', e);
    }
  }

  async close(): Promise<void> {
    try {
      await this.fh.close();
    } catch (e) {
      throw ioError(this.path, 'close the file', e);
    }
  }
}
