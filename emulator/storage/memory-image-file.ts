/**
 * MemoryImageFile: an ImageFile held in memory, for tests and for building images before
 * they are written out. Counts syncs so tests can check flush ordering.
 */
import { StorageError } from './block-backend.js';
import type { ImageFile } from './image-file.js';

/** An in-memory ImageFile backed by a growable byte array. */
export class MemoryImageFile implements ImageFile {
  readonly path: string;
  readonly readOnly: boolean;
  /** Number of completed `sync()` calls. */
  syncCount = 0;
  /** Number of completed `write()` calls. */
  writeCount = 0;
  private data: Uint8Array;
  private length: number;
  private closed = false;

  constructor(path = 'memory', initial?: Uint8Array, options?: { readOnly?: boolean }) {
    this.path = path;
    this.readOnly = options?.readOnly ?? false;
    this.data = initial ? initial.slice() : new Uint8Array(0);
    this.length = this.data.length;
  }

  /** A copy of the current file contents. */
  bytes(): Uint8Array {
    return this.data.slice(0, this.length);
  }

  async read(pos: number, buf: Uint8Array): Promise<number> {
    this.checkOpen();
    if (pos >= this.length) return 0;
    const n = Math.min(buf.length, this.length - pos);
    buf.set(this.data.subarray(pos, pos + n));
    return n;
  }

  async write(pos: number, data: Uint8Array): Promise<void> {
    this.checkOpen();
    if (this.readOnly) throw new StorageError(this.path, 'read-only', 'write to a read-only file');
    this.ensureCapacity(pos + data.length);
    this.data.set(data, pos);
    this.length = Math.max(this.length, pos + data.length);
    this.writeCount++;
  }

  async size(): Promise<number> {
    this.checkOpen();
    return this.length;
  }

  async truncate(sizeBytes: number): Promise<void> {
    this.checkOpen();
    if (this.readOnly) throw new StorageError(this.path, 'read-only', 'truncate of a read-only file');
    if (sizeBytes < this.length) this.data.fill(0, sizeBytes, this.length);
    this.ensureCapacity(sizeBytes);
    this.length = sizeBytes;
  }

  async sync(): Promise<void> {
    this.checkOpen();
    this.syncCount++;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError(this.path, 'io', 'file used after close');
  }

  private ensureCapacity(n: number): void {
    if (n <= this.data.length) return;
    const next = new Uint8Array(Math.max(n, this.data.length * 2, 4096));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
}
