/**
 * A growable big-endian byte buffer for building RFB messages (RFC 6143 section 7:
 * all multi-byte integers are big-endian). One per connection, reused across updates,
 * so steady-state updates do not allocate.
 */

/** Appends bytes and big-endian integers; `bytes()` returns a view of what was written. */
export class ByteWriter {
  private buf: Uint8Array;
  /** Bytes written so far. */
  length = 0;

  constructor(initialBytes = 4096) {
    this.buf = new Uint8Array(initialBytes);
  }

  /** Makes room for `n` more bytes; returns the backing array (valid until the next call). */
  reserve(n: number): Uint8Array {
    const need = this.length + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    return this.buf;
  }

  /** Forgets everything written (keeps the capacity). */
  reset(): void {
    this.length = 0;
  }

  u8(v: number): void {
    this.reserve(1)[this.length++] = v;
  }

  u16(v: number): void {
    const b = this.reserve(2);
    b[this.length] = v >>> 8;
    b[this.length + 1] = v;
    this.length += 2;
  }

  u32(v: number): void {
    const b = this.reserve(4);
    b[this.length] = v >>> 24;
    b[this.length + 1] = v >>> 16;
    b[this.length + 2] = v >>> 8;
    b[this.length + 3] = v;
    this.length += 4;
  }

  /** A signed 32-bit integer (encoding types). */
  s32(v: number): void {
    this.u32(v >>> 0);
  }

  bytes(src: Uint8Array): void {
    this.reserve(src.length).set(src, this.length);
    this.length += src.length;
  }

  /** Overwrites a big-endian u32 at an earlier position. */
  patchU32(at: number, v: number): void {
    this.buf[at] = v >>> 24;
    this.buf[at + 1] = v >>> 16;
    this.buf[at + 2] = v >>> 8;
    this.buf[at + 3] = v;
  }

  /** Overwrites a big-endian u16 at an earlier position. */
  patchU16(at: number, v: number): void {
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v;
  }

  /** A view of the written bytes (valid until the next write or reset). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** A copy of the written bytes. */
  copy(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
