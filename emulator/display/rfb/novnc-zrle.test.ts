/**
 * ZRLE interop with a decoder nobody here wrote: noVNC's own ZRLEDecoder
 * (@novnc/novnc core/decoders/zrle.js, pure JS with its vendored pako inflate) decodes
 * this server's ZRLE rectangles, over several updates of one zlib stream, into a fake
 * display that is compared with the source framebuffer.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { zlibDeflateFactory } from '../../host/rfb-zlib.js';
import { RfbServer } from './rfb-server.js';
import { RfbTestClient } from './test-support/rfb-test-client.js';

interface NoVncSock {
  rQwait(what: string, n: number): boolean;
  rQshift32(): number;
  rQshiftBytes(n: number, copy?: boolean): Uint8Array;
}
interface NoVncDisplay {
  blitImage(x: number, y: number, w: number, h: number, data: Uint8Array, offset: number): void;
  fillRect(x: number, y: number, w: number, h: number, rgb: number[]): void;
}
interface NoVncDecoder {
  decodeRect(x: number, y: number, w: number, h: number, sock: NoVncSock, display: NoVncDisplay, depth: number): boolean;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const zrlePath = join(root, 'node_modules/@novnc/novnc/core/decoders/zrle.js');

function sockOver(bytes: Uint8Array): NoVncSock {
  let pos = 0;
  return {
    rQwait: (_what, n) => bytes.length - pos < n,
    rQshift32: () => { const v = ((bytes[pos]! << 24) | (bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!) >>> 0; pos += 4; return v; },
    rQshiftBytes: (n) => { const b = bytes.slice(pos, pos + n); pos += n; return b; },
  };
}

describe('ZRLE decoded by noVNC', () => {
  it('matches the source framebuffer pixel for pixel', async () => {
    const mod = (await import(pathToFileURL(zrlePath).href)) as { default: new () => NoVncDecoder };
    const decoder = new mod.default();
    const W = 130;
    const H = 70;
    const screen = new Uint8ClampedArray(W * H * 4);
    const display = new Uint8ClampedArray(W * H * 4);
    const fake: NoVncDisplay = {
      blitImage: (x, y, w, h, data, offset) => {
        for (let r = 0; r < h; r++) display.set(data.subarray(offset + r * w * 4, offset + (r + 1) * w * 4), ((y + r) * W + x) * 4);
      },
      fillRect: (x, y, w, h, rgb) => {
        for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) display.set([rgb[0]!, rgb[1]!, rgb[2]!, 255], ((y + r) * W + x + c) * 4);
      },
    };
    const server = new RfbServer({ name: 'novnc', deflate: zlibDeflateFactory() });
    const client = new RfbTestClient(server);
    let seed = 1;
    const paint = (): void => {
      for (let i = 0; i < W * H; i++) {
        const x = i % W;
        seed = (seed * 1103515245 + 12345) >>> 0;
        const c = x < 40 ? [seed & 1 ? 9 : 200, 50, 7] : x < 80 ? [(x >> 3) * 20, seed >>> 28, 1] : [seed >>> 24, seed >>> 16, seed >>> 8];
        screen.set([c[0]! & 255, c[1]! & 255, c[2]! & 255, 255], i * 4);
      }
      server.onFrame({ width: W, height: H, pixels: screen, dirty: [{ x: 0, y: 0, width: W, height: H }] });
    };
    paint();
    expect(client.handshake().ok).toBe(true);
    client.setEncodings([16]);
    for (let update = 0; update < 3; update++) {
      client.requestUpdate(update > 0);
      expect(client.u8()).toBe(0);
      client.u8();
      const n = client.u16();
      for (let i = 0; i < n; i++) {
        const [x, y, w, h] = [client.u16(), client.u16(), client.u16(), client.u16()];
        expect(client.s32()).toBe(16);
        const len = client.u32();
        const body = new Uint8Array(4 + len);
        body.set([len >>> 24, (len >>> 16) & 255, (len >>> 8) & 255, len & 255]);
        body.set(client.readBytes(len), 4);
        expect(decoder.decodeRect(x, y, w, h, sockOver(body), fake, 24)).toBe(true);
      }
      for (let i = 0; i < W * H * 4; i += 4) {
        if (display[i] !== screen[i] || display[i + 1] !== screen[i + 1] || display[i + 2] !== screen[i + 2]) {
          throw new Error(`update ${update}: pixel ${(i / 4) % W},${Math.floor(i / 4 / W)} differs`);
        }
      }
      paint();
    }
  });
});
