/**
 * node:zlib implementation of the RFB DeflateStream (ZRLE's per-connection zlib
 * stream, RFC 6143 section 7.7.6 and RFC 1950/1951).
 *
 * Node has no public synchronous streaming deflate, so each flush compresses the
 * pending input with `deflateRawSync(..., { finishFlush: Z_SYNC_FLUSH, dictionary })`:
 * the output ends with a sync flush and no final block, and the preset dictionary is
 * the last 32 KiB of everything compressed before. The peer's inflater has exactly
 * that history in its window, so back-references into earlier rectangles decode as in
 * one continuous stream. The first output starts with a zlib header (0x78 0x9C); the
 * Adler-32 trailer never comes because the stream never ends.
 */
import { constants, deflateRawSync } from 'node:zlib';
import type { DeflateFactory, DeflateStream } from '../display/rfb/encodings.js';

/** Deflate's window size. */
const WINDOW = 32 * 1024;
const ZLIB_HEADER = Uint8Array.of(0x78, 0x9c);

class ZlibDeflateStream implements DeflateStream {
  private readonly history = new Uint8Array(WINDOW);
  private historyLen = 0;
  private pending: Uint8Array[] = [];
  private started = false;

  constructor(private readonly level: number) {}

  push(data: Uint8Array, flush: boolean): Uint8Array {
    if (data.length > 0) this.pending.push(data.slice());
    if (!flush || this.pending.length === 0) return new Uint8Array(0);
    const input = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    const z = deflateRawSync(input, {
      level: this.level,
      finishFlush: constants.Z_SYNC_FLUSH,
      ...(this.historyLen > 0 ? { dictionary: this.history.subarray(WINDOW - this.historyLen) } : {}),
    });
    this.remember(input);
    if (this.started) return new Uint8Array(z.buffer, z.byteOffset, z.byteLength);
    this.started = true;
    const out = new Uint8Array(2 + z.byteLength);
    out.set(ZLIB_HEADER, 0);
    out.set(z, 2);
    return out;
  }

  /** Keeps the last WINDOW bytes of input, right-aligned in `history`. */
  private remember(input: Uint8Array): void {
    if (input.length >= WINDOW) {
      this.history.set(input.subarray(input.length - WINDOW));
      this.historyLen = WINDOW;
      return;
    }
    this.history.copyWithin(0, input.length);
    this.history.set(input, WINDOW - input.length);
    this.historyLen = Math.min(WINDOW, this.historyLen + input.length);
  }
}

/** A DeflateFactory backed by node:zlib (`level` 1-9, default 6). */
export function zlibDeflateFactory(level = 6): DeflateFactory {
  return () => new ZlibDeflateStream(level);
}
