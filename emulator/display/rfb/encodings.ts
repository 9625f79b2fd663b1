/**
 * RFB encoding numbers and the pixel encoders: Raw (RFC 6143 section 7.7.1) and ZRLE
 * (RFC 6143 section 7.7.6; the community "RFB protocol" document, "ZRLE encoding").
 *
 * ZRLE: one zlib stream per connection; each rectangle is split into 64x64 tiles, row
 * by row; each tile is sent as solid (subencoding 1), packed palette (2-16 colours,
 * 1/2/4 bits per index, rows padded to a byte) or raw CPIXELs (subencoding 0). The RLE
 * subencodings (128, 130-255) are not produced: zlib already removes most of the
 * redundancy they would.
 * CopyRect (1) is deliberately omitted: the renderer reports changed tiles, not moves,
 * so finding copy sources would cost a frame search per update.
 */
import type { ByteWriter } from './byte-writer.js';
import type { PixelConverter } from './pixel-format.js';

/** Raw encoding. */
export const ENC_RAW = 0;
/** CopyRect (not produced; listed so SetEncodings parsing can name it). */
export const ENC_COPY_RECT = 1;
/** ZRLE encoding. */
export const ENC_ZRLE = 16;
/** DesktopSize pseudo-encoding. */
export const ENC_DESKTOP_SIZE = -223;
/** QEMU Extended Key Event pseudo-encoding. */
export const ENC_QEMU_EXTENDED_KEY_EVENT = -258;
/** QEMU Audio pseudo-encoding (never acknowledged). */
export const ENC_QEMU_AUDIO = -259;
/** QEMU LED State pseudo-encoding. */
export const ENC_QEMU_LED_STATE = -261;
/** ExtendedDesktopSize pseudo-encoding. */
export const ENC_EXTENDED_DESKTOP_SIZE = -308;

/**
 * A streaming deflate compressor producing one zlib stream (RFC 1950 header, then
 * RFC 1951 blocks). `push` returns the compressed bytes available so far; with
 * `flush` true it ends them on a byte boundary with a sync flush (Z_SYNC_FLUSH) so the
 * peer can decode everything pushed. The stream is never finished.
 */
export interface DeflateStream {
  push(data: Uint8Array, flush: boolean): Uint8Array;
}

/** Creates one DeflateStream per connection (the host supplies a zlib implementation). */
export type DeflateFactory = () => DeflateStream;

/** A framebuffer to encode from: RGBA, `width * height * 4` bytes. */
export interface SourceFrame {
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint8ClampedArray | Uint8Array;
}

/** ZRLE tile size (fixed by the encoding). */
export const ZRLE_TILE = 64;

/** Appends the Raw encoding of a rectangle in the client's format. */
export function encodeRaw(
  src: SourceFrame, x: number, y: number, w: number, h: number, conv: PixelConverter, out: ByteWriter,
): void {
  const p = src.pixels;
  const rowBytes = w * conv.bytesPerPixel;
  const buf = out.reserve(rowBytes * h);
  let o = out.length;
  for (let row = 0; row < h; row++) {
    let i = ((y + row) * src.width + x) * 4;
    if (conv.isNative) {
      buf.set(p.subarray(i, i + w * 4), o);
      o += rowBytes;
      continue;
    }
    for (let col = 0; col < w; col++, i += 4) {
      o = conv.writePixel(p[i]! | (p[i + 1]! << 8) | (p[i + 2]! << 16), buf, o);
    }
  }
  out.length = o;
}

/** ZRLE encoder state of one connection: its zlib stream and scratch buffers. */
export class ZrleEncoder {
  private readonly palette = new Int32Array(16);

  /**
   * @param deflate this connection's zlib stream
   * @param scratch buffer for the uncompressed tile data (reused)
   */
  constructor(private readonly deflate: DeflateStream, private readonly scratch: ByteWriter) {}

  /** Appends the ZRLE encoding of a rectangle (u32 length + zlib data). */
  encode(src: SourceFrame, x: number, y: number, w: number, h: number, conv: PixelConverter, out: ByteWriter): void {
    const s = this.scratch;
    s.reset();
    for (let ty = y; ty < y + h; ty += ZRLE_TILE) {
      const th = Math.min(ZRLE_TILE, y + h - ty);
      for (let tx = x; tx < x + w; tx += ZRLE_TILE) {
        this.tile(src, tx, ty, Math.min(ZRLE_TILE, x + w - tx), th, conv);
      }
    }
    const z = this.deflate.push(s.view(), true);
    out.u32(z.length);
    out.bytes(z);
  }

  private tile(src: SourceFrame, x: number, y: number, w: number, h: number, conv: PixelConverter): void {
    const p = src.pixels;
    const stride = src.width * 4;
    const pal = this.palette;
    let n = 0;
    scan: for (let row = 0; row < h; row++) {
      let i = (y + row) * stride + x * 4;
      for (let col = 0; col < w; col++, i += 4) {
        const rgb = p[i]! | (p[i + 1]! << 8) | (p[i + 2]! << 16);
        let k = 0;
        while (k < n && pal[k] !== rgb) k++;
        if (k === n) {
          if (n === 16) { n = 17; break scan; }
          pal[n++] = rgb;
        }
      }
    }
    const s = this.scratch;
    const cb = conv.bytesPerCPixel;
    if (n === 1) {
      const b = s.reserve(1 + cb);
      b[s.length] = 1;
      s.length = conv.writeCPixel(pal[0]!, b, s.length + 1);
      return;
    }
    if (n <= 16) {
      const bits = n === 2 ? 1 : n <= 4 ? 2 : 4;
      const rowBytes = Math.ceil((w * bits) / 8);
      const b = s.reserve(1 + n * cb + rowBytes * h);
      let o = s.length;
      b[o++] = n;
      for (let k = 0; k < n; k++) o = conv.writeCPixel(pal[k]!, b, o);
      for (let row = 0; row < h; row++) {
        let i = (y + row) * stride + x * 4;
        let acc = 0;
        let used = 0;
        for (let col = 0; col < w; col++, i += 4) {
          const rgb = p[i]! | (p[i + 1]! << 8) | (p[i + 2]! << 16);
          let k = 0;
          while (pal[k] !== rgb) k++;
          acc = (acc << bits) | k;
          used += bits;
          if (used === 8) { b[o++] = acc; acc = 0; used = 0; }
        }
        if (used > 0) b[o++] = acc << (8 - used);
      }
      s.length = o;
      return;
    }
    const b = s.reserve(1 + w * h * cb);
    let o = s.length;
    b[o++] = 0;
    for (let row = 0; row < h; row++) {
      let i = (y + row) * stride + x * 4;
      for (let col = 0; col < w; col++, i += 4) o = conv.writeCPixel(p[i]! | (p[i + 1]! << 8) | (p[i + 2]! << 16), b, o);
    }
    s.length = o;
  }
}
