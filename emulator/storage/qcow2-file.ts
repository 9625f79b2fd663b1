/**
 * The image file as the qcow2 code sees it: an ImageFile plus the cluster size and a
 * tracked file size (so "beyond the end of the file" checks need no stat call).
 */
import type { ImageFile } from './image-file.js';

/** An ImageFile wrapper shared by the qcow2 mapping and refcount code. */
export class Qcow2File {
  readonly file: ImageFile;
  readonly path: string;
  readonly clusterBytes: number;
  /** Current file size in bytes, kept up to date by `write`. */
  fileBytes: number;

  constructor(file: ImageFile, clusterBytes: number, fileBytes: number) {
    this.file = file;
    this.path = file.path;
    this.clusterBytes = clusterBytes;
    this.fileBytes = fileBytes;
  }

  /** Writes `data` at `pos` and extends the tracked size. */
  async write(pos: number, data: Uint8Array): Promise<void> {
    await this.file.write(pos, data);
    this.fileBytes = Math.max(this.fileBytes, pos + data.length);
  }

  /** fsync: orders everything written so far before what follows. */
  async sync(): Promise<void> {
    await this.file.sync();
  }
}
