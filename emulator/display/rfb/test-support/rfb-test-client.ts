/**
 * A scripted RFB client for tests (RFC 6143 client side): handshake with None or VNC
 * Authentication, SetPixelFormat, SetEncodings, update requests, input messages, and
 * a decoder for FramebufferUpdate (Raw, ZRLE with every subencoding, DesktopSize,
 * ExtendedDesktopSize, QEMU extended key event and LED pseudo-rectangles) that keeps
 * its own framebuffer of client pixel values.
 *
 * The server answers synchronously, so reads throw when the bytes are not there.
 */
import { constants, inflateSync } from 'node:zlib';
import { vncAuthResponse } from '../des.js';
import type { PixelFormat } from '../pixel-format.js';
import type { RfbServer } from '../rfb-server.js';
import type { RfbConnection } from '../rfb-connection.js';

/** What ServerInit said, or why the handshake failed. */
export type HandshakeResult =
  | { ok: true; width: number; height: number; format: PixelFormat; name: string }
  | { ok: false; reason: string };

/** One rectangle of a decoded update. */
export interface DecodedRect {
  x: number;
  y: number;
  width: number;
  height: number;
  encoding: number;
  /** LED byte of a QEMU LED State rectangle. */
  leds?: number;
}

/** A client pixel format helper independent of the server's converter. */
export function clientPixel(pf: PixelFormat, r: number, g: number, b: number): number {
  const c = (v: number, max: number, shift: number): number => Math.round((v * max) / 255) * 2 ** shift;
  return (c(r, pf.redMax, pf.redShift) + c(g, pf.greenMax, pf.greenShift) + c(b, pf.blueMax, pf.blueShift)) >>> 0;
}

/** An in-memory RFB client attached to an RfbServer. */
export class RfbTestClient {
  /** The server side of this client. */
  readonly conn: RfbConnection;
  /** Reason given to transport.close, or null while open. */
  closedReason: string | null = null;
  private inbox = new Uint8Array(0);
  private pos = 0;
  /** Client framebuffer of pixel values in `format`. */
  fb = new Uint32Array(0);
  width = 0;
  height = 0;
  format: PixelFormat | null = null;
  private zIn: Buffer[] = [];
  private zOutUsed = 0;

  /** @param chunkSize split every client message into chunks of this many bytes (0: whole) */
  constructor(server: RfbServer, private readonly chunkSize = 0) {
    this.conn = server.connect({
      send: (bytes) => this.feed(bytes),
      close: (reason) => { this.closedReason ??= reason; },
    });
  }

  private feed(bytes: Uint8Array): void {
    const next = new Uint8Array(this.inbox.length - this.pos + bytes.length);
    next.set(this.inbox.subarray(this.pos));
    next.set(bytes, this.inbox.length - this.pos);
    this.inbox = next;
    this.pos = 0;
  }

  /** Bytes received and not read yet. */
  get pending(): number {
    return this.inbox.length - this.pos;
  }

  /** Sends raw bytes to the server (split by chunkSize). */
  sendRaw(bytes: Uint8Array | number[]): void {
    const b = Uint8Array.from(bytes);
    const step = this.chunkSize > 0 ? this.chunkSize : b.length;
    for (let i = 0; i < b.length; i += step) this.conn.receive(b.subarray(i, i + step));
  }

  private take(n: number): Uint8Array {
    if (this.pending < n) throw new Error(`test client: wanted ${n} bytes, have ${this.pending}`);
    const out = this.inbox.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads `n` raw bytes (a copy). */
  readBytes(n: number): Uint8Array { return this.take(n).slice(); }
  u8(): number { return this.take(1)[0]!; }
  u16(): number { const b = this.take(2); return (b[0]! << 8) | b[1]!; }
  u32(): number { const b = this.take(4); return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0; }
  s32(): number { return this.u32() | 0; }
  private string(): string { return new TextDecoder().decode(this.take(this.u32())); }

  /** Runs the handshake up to ServerInit. */
  handshake(opts: { minor?: 3 | 7 | 8; password?: string; securityType?: number } = {}): HandshakeResult {
    const minor = opts.minor ?? 8;
    const version = new TextDecoder().decode(this.take(12));
    if (version !== 'RFB 003.008\n') throw new Error(`test client: server version ${JSON.stringify(version)}`);
    this.sendRaw(new TextEncoder().encode(`RFB 003.00${minor}\n`));
    let type: number;
    if (minor === 3) {
      type = this.u32();
    } else {
      const n = this.u8();
      const types = [...this.take(n)];
      type = opts.securityType ?? types[0]!;
      this.sendRaw([type]);
      if (this.closedReason !== null) {
        if (minor === 8 && this.pending >= 4 && this.u32() !== 0) return { ok: false, reason: this.string() };
        return { ok: false, reason: this.closedReason };
      }
    }
    if (type === 2) {
      const challenge = this.take(16).slice();
      this.sendRaw(vncAuthResponse(opts.password ?? '', challenge));
    }
    if (minor === 8 || type === 2) {
      const result = this.u32();
      if (result !== 0) return { ok: false, reason: minor === 8 ? this.string() : 'failed' };
    }
    this.sendRaw([1]); // ClientInit, shared
    this.width = this.u16();
    this.height = this.u16();
    const pf = this.take(16);
    const format: PixelFormat = {
      bitsPerPixel: pf[0]!, depth: pf[1]!, bigEndian: pf[2]! !== 0, trueColour: pf[3]! !== 0,
      redMax: (pf[4]! << 8) | pf[5]!, greenMax: (pf[6]! << 8) | pf[7]!, blueMax: (pf[8]! << 8) | pf[9]!,
      redShift: pf[10]!, greenShift: pf[11]!, blueShift: pf[12]!,
    };
    this.format = format;
    this.fb = new Uint32Array(this.width * this.height);
    return { ok: true, width: this.width, height: this.height, format, name: this.string() };
  }

  /** SetPixelFormat. */
  setPixelFormat(pf: PixelFormat): void {
    this.sendRaw([
      0, 0, 0, 0, pf.bitsPerPixel, pf.depth, pf.bigEndian ? 1 : 0, pf.trueColour ? 1 : 0,
      pf.redMax >> 8, pf.redMax & 255, pf.greenMax >> 8, pf.greenMax & 255, pf.blueMax >> 8, pf.blueMax & 255,
      pf.redShift, pf.greenShift, pf.blueShift, 0, 0, 0,
    ]);
    this.format = pf;
  }

  /** SetEncodings. */
  setEncodings(list: number[]): void {
    const b = [2, 0, list.length >> 8, list.length & 255];
    for (const e of list) b.push((e >>> 24) & 255, (e >>> 16) & 255, (e >>> 8) & 255, e & 255);
    this.sendRaw(b);
  }

  /** FramebufferUpdateRequest (default: the whole client framebuffer). */
  requestUpdate(incremental: boolean, x = 0, y = 0, w = this.width, h = this.height): void {
    this.sendRaw([3, incremental ? 1 : 0, x >> 8, x & 255, y >> 8, y & 255, w >> 8, w & 255, h >> 8, h & 255]);
  }

  /** KeyEvent. */
  key(down: boolean, keysym: number): void {
    this.sendRaw([4, down ? 1 : 0, 0, 0, (keysym >>> 24) & 255, (keysym >>> 16) & 255, (keysym >>> 8) & 255, keysym & 255]);
  }

  /** QEMU Extended Key Event. */
  qemuKey(down: boolean, keysym: number, keycode: number): void {
    const u32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
    this.sendRaw([255, 0, 0, down ? 1 : 0, ...u32(keysym), ...u32(keycode)]);
  }

  /** PointerEvent. */
  pointer(mask: number, x: number, y: number): void {
    this.sendRaw([5, mask, x >> 8, x & 255, y >> 8, y & 255]);
  }

  /** Reads one FramebufferUpdate, applying it to `fb`. Null if nothing was received. */
  readUpdate(): DecodedRect[] | null {
    if (this.pending === 0) return null;
    const type = this.u8();
    if (type !== 0) throw new Error(`test client: server message type ${type}`);
    this.u8();
    const n = this.u16();
    const rects: DecodedRect[] = [];
    for (let i = 0; i < n; i++) {
      const r: DecodedRect = { x: this.u16(), y: this.u16(), width: this.u16(), height: this.u16(), encoding: this.s32() };
      rects.push(r);
      switch (r.encoding) {
        case 0: this.decodeRaw(r); break;
        case 16: this.decodeZrle(r); break;
        case -223: this.resizeFb(r.width, r.height); break;
        case -308: {
          const screens = this.u8();
          this.take(3 + 16 * screens);
          if (r.x !== 1) this.resizeFb(r.width, r.height);
          break;
        }
        case -258: break;
        case -261: r.leds = this.u8(); break;
        default: throw new Error(`test client: encoding ${r.encoding}`);
      }
    }
    return rects;
  }

  private resizeFb(w: number, h: number): void {
    this.width = w;
    this.height = h;
    this.fb = new Uint32Array(w * h);
  }

  private bpp(): number {
    return this.format!.bitsPerPixel >>> 3;
  }

  private pixelFrom(b: Uint8Array, o: number, n: number): number {
    const be = this.format!.bigEndian;
    let v = 0;
    for (let i = 0; i < n; i++) v += b[o + i]! * 2 ** (8 * (be ? n - 1 - i : i));
    return v >>> 0;
  }

  private decodeRaw(r: DecodedRect): void {
    const n = this.bpp();
    const data = this.take(r.width * r.height * n);
    for (let y = 0; y < r.height; y++) {
      for (let x = 0; x < r.width; x++) this.fb[(r.y + y) * this.width + r.x + x] = this.pixelFrom(data, (y * r.width + x) * n, n);
    }
  }

  /** CPIXEL size and how to widen one (RFB ZRLE). */
  private cpixel(): { size: number; read: (b: Uint8Array, o: number) => number } {
    const pf = this.format!;
    const n = this.bpp();
    const used = pf.redMax * 2 ** pf.redShift + pf.greenMax * 2 ** pf.greenShift + pf.blueMax * 2 ** pf.blueShift;
    if (pf.bitsPerPixel === 32 && pf.depth <= 24 && pf.trueColour) {
      const low = used < 2 ** 24;
      const high = used % 256 === 0;
      if (low || high) {
        return {
          size: 3,
          read: (b, o) => {
            const v = pf.bigEndian ? (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]! : b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);
            return (low ? v : v * 256) >>> 0;
          },
        };
      }
    }
    return { size: n, read: (b, o) => this.pixelFrom(b, o, n) };
  }

  private decodeZrle(r: DecodedRect): void {
    const len = this.u32();
    this.zIn.push(Buffer.from(this.take(len)));
    const all = inflateSync(Buffer.concat(this.zIn), { finishFlush: constants.Z_SYNC_FLUSH });
    const d = all.subarray(this.zOutUsed);
    this.zOutUsed = all.length;
    const cp = this.cpixel();
    let o = 0;
    for (let ty = r.y; ty < r.y + r.height; ty += 64) {
      const th = Math.min(64, r.y + r.height - ty);
      for (let tx = r.x; tx < r.x + r.width; tx += 64) {
        const tw = Math.min(64, r.x + r.width - tx);
        const put = (i: number, v: number): void => { this.fb[(ty + Math.floor(i / tw)) * this.width + tx + (i % tw)] = v; };
        const sub = d[o++]!;
        if (sub === 0) {
          for (let i = 0; i < tw * th; i++, o += cp.size) put(i, cp.read(d, o));
        } else if (sub === 1) {
          const v = cp.read(d, o); o += cp.size;
          for (let i = 0; i < tw * th; i++) put(i, v);
        } else if (sub <= 16) {
          const pal: number[] = [];
          for (let k = 0; k < sub; k++, o += cp.size) pal.push(cp.read(d, o));
          const bits = sub === 2 ? 1 : sub <= 4 ? 2 : 4;
          for (let y = 0; y < th; y++) {
            let bit = 0;
            for (let x = 0; x < tw; x++) {
              const byte = d[o + (bit >> 3)]!;
              const idx = (byte >> (8 - bits - (bit & 7))) & ((1 << bits) - 1);
              put(y * tw + x, pal[idx]!);
              bit += bits;
            }
            o += Math.ceil((tw * bits) / 8);
          }
        } else if (sub === 128 || sub >= 130) {
          const pal: number[] = [];
          if (sub >= 130) for (let k = 0; k < sub - 128; k++, o += cp.size) pal.push(cp.read(d, o));
          let i = 0;
          while (i < tw * th) {
            let v: number;
            let run = 1;
            if (sub === 128) { v = cp.read(d, o); o += cp.size; } else {
              const idx = d[o++]!;
              v = pal[idx & 0x7f]!;
              if ((idx & 0x80) === 0) { put(i++, v); continue; }
            }
            let b: number;
            do { b = d[o++]!; run += b; } while (b === 255);
            for (let k = 0; k < run; k++) put(i++, v);
          }
        } else {
          throw new Error(`test client: ZRLE subencoding ${sub}`);
        }
      }
    }
    if (o !== d.length) throw new Error(`test client: ZRLE rect left ${d.length - o} bytes`);
  }

  /** Expected client pixel of an RGBA source pixel, in the current format. */
  expected(rgba: Uint8ClampedArray | Uint8Array, x: number, y: number, srcWidth: number): number {
    const i = (y * srcWidth + x) * 4;
    return clientPixel(this.format!, rgba[i]!, rgba[i + 1]!, rgba[i + 2]!);
  }

  /** Coordinates of the first pixel differing from the source, or null if all match. */
  mismatch(rgba: Uint8ClampedArray | Uint8Array, srcWidth: number, srcHeight: number): string | null {
    if (this.width !== srcWidth || this.height !== srcHeight) return `size ${this.width}x${this.height} vs ${srcWidth}x${srcHeight}`;
    const pf = this.format!;
    const mask = clientPixel(pf, 255, 255, 255);
    for (let y = 0; y < srcHeight; y++) {
      for (let x = 0; x < srcWidth; x++) {
        const want = this.expected(rgba, x, y, srcWidth);
        const got = (this.fb[y * srcWidth + x]! & mask) >>> 0; // unused bits are ignored
        if (got !== want) return `(${x},${y}): got 0x${got.toString(16)}, want 0x${want.toString(16)}`;
      }
    }
    return null;
  }
}
