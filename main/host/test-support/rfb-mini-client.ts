/**
 * A minimal RFB 3.8 client for host and end-to-end tests, over any byte stream (a
 * supervisor VncSession, a WebSocket): security None, a 32 bpp pixel format whose bytes
 * are R, G, B, X in memory (so the framebuffer compares directly with decoded PNG RGBA),
 * Raw encoding plus the DesktopSize pseudo-encoding. It is deliberately independent of
 * the emulator's RFB code (RFC 6143 sections 7.1-7.6).
 */

/** What ServerInit announced. */
export interface ServerInit {
  width: number;
  height: number;
  name: string;
}

/** An RFB client fed by `push` and writing through `write`. */
export class RfbMiniClient {
  private buf = new Uint8Array(0);
  private waiter: (() => void) | null = null;
  private closedReason: string | null = null;
  /** The client framebuffer, RGBA (alpha forced to 255). */
  fb = new Uint8Array(0);
  width = 0;
  height = 0;

  /** @param write sends bytes to the server */
  constructor(private readonly write: (bytes: Uint8Array) => void) {}

  /** Bytes from the server. */
  push(bytes: Uint8Array): void {
    const next = new Uint8Array(this.buf.length + bytes.length);
    next.set(this.buf);
    next.set(bytes, this.buf.length);
    this.buf = next;
    this.waiter?.();
  }

  /** The server side closed (pending and later reads fail with `reason`). */
  closed(reason: string): void {
    this.closedReason = reason;
    this.waiter?.();
  }

  /** Why the stream closed, or null. */
  get closeReason(): string | null {
    return this.closedReason;
  }

  /** Reads exactly `n` bytes, waiting up to `timeoutMs`. */
  async read(n: number, timeoutMs = 30_000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      if (this.closedReason !== null) throw new Error(`RFB stream closed: ${this.closedReason}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`RFB: timed out waiting for ${n} bytes (have ${this.buf.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => { clearTimeout(t); resolve(); };
      });
      this.waiter = null;
    }
    const out = this.buf.slice(0, n);
    this.buf = this.buf.slice(n);
    return out;
  }

  /** Version, security None, ClientInit (shared), SetPixelFormat (RGBX), SetEncodings [Raw, DesktopSize]. */
  async handshake(): Promise<ServerInit> {
    const version = new TextDecoder().decode(await this.read(12));
    if (version !== 'RFB 003.008\n') throw new Error(`RFB: unexpected server version ${JSON.stringify(version)}`);
    this.write(new TextEncoder().encode('RFB 003.008\n'));
    const [count] = await this.read(1);
    const types = await this.read(count ?? 0);
    if (!types.includes(1)) throw new Error(`RFB: security None not offered (${[...types].join(',')})`);
    this.write(Uint8Array.of(1));
    const result = new DataView((await this.read(4)).buffer).getUint32(0);
    if (result !== 0) throw new Error(`RFB: security result ${result}`);
    this.write(Uint8Array.of(1));
    const head = new DataView((await this.read(24)).buffer);
    this.width = head.getUint16(0);
    this.height = head.getUint16(2);
    const name = new TextDecoder().decode(await this.read(head.getUint32(20)));
    this.fb = new Uint8Array(this.width * this.height * 4);
    // SetPixelFormat: 32 bpp, depth 24, little-endian, true colour, max 255, shifts R 0 G 8 B 16.
    const pf = new Uint8Array(20);
    const v = new DataView(pf.buffer);
    v.setUint8(0, 0);
    v.setUint8(4, 32); v.setUint8(5, 24); v.setUint8(6, 0); v.setUint8(7, 1);
    v.setUint16(8, 255); v.setUint16(10, 255); v.setUint16(12, 255);
    v.setUint8(14, 0); v.setUint8(15, 8); v.setUint8(16, 16);
    this.write(pf);
    // SetEncodings: Raw (0), DesktopSize (-223).
    const enc = new Uint8Array(4 + 2 * 4);
    const e = new DataView(enc.buffer);
    e.setUint8(0, 2); e.setUint16(2, 2); e.setInt32(4, 0); e.setInt32(8, -223);
    this.write(enc);
    return { width: this.width, height: this.height, name };
  }

  /** FramebufferUpdateRequest for the whole screen. */
  requestUpdate(incremental: boolean): void {
    const m = new Uint8Array(10);
    const v = new DataView(m.buffer);
    v.setUint8(0, 3); v.setUint8(1, incremental ? 1 : 0);
    v.setUint16(6, this.width); v.setUint16(8, this.height);
    this.write(m);
  }

  /** Reads one FramebufferUpdate into `fb`; returns the rectangles' count. */
  async readUpdate(timeoutMs = 30_000): Promise<number> {
    const head = await this.read(4, timeoutMs);
    if (head[0] !== 0) throw new Error(`RFB: expected FramebufferUpdate, got message type ${head[0]}`);
    const n = new DataView(head.buffer).getUint16(2);
    for (let i = 0; i < n; i++) {
      const r = new DataView((await this.read(12, timeoutMs)).buffer);
      const x = r.getUint16(0);
      const y = r.getUint16(2);
      const w = r.getUint16(4);
      const h = r.getUint16(6);
      const encoding = r.getInt32(8);
      if (encoding === -223) {
        this.width = w;
        this.height = h;
        this.fb = new Uint8Array(w * h * 4);
        continue;
      }
      if (encoding !== 0) throw new Error(`RFB: unexpected encoding ${encoding}`);
      const px = await this.read(w * h * 4, timeoutMs);
      for (let row = 0; row < h; row++) {
        for (let col = 0; col < w; col++) {
          const s = (row * w + col) * 4;
          const d = ((y + row) * this.width + x + col) * 4;
          this.fb[d] = px[s]!;
          this.fb[d + 1] = px[s + 1]!;
          this.fb[d + 2] = px[s + 2]!;
          this.fb[d + 3] = 255;
        }
      }
    }
    return n;
  }
}

/** Pixels that differ between two RGBA images of the same size (alpha ignored); -1 if the sizes differ. */
export function rgbaDiff(a: Uint8Array | Uint8ClampedArray, b: Uint8Array | Uint8ClampedArray): number {
  if (a.length !== b.length) return -1;
  let diff = 0;
  for (let i = 0; i < a.length; i += 4) {
    if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) diff++;
  }
  return diff;
}
