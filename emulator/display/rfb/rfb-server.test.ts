import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zlibDeflateFactory } from '../../host/rfb-zlib.js';
import type { InputSink } from './input.js';
import { NATIVE_PIXEL_FORMAT, type PixelFormat } from './pixel-format.js';
import type { RenderResult } from '../vga-renderer.js';
import { RfbServer, type RfbFrame, type RfbServerOptions } from './rfb-server.js';

/** Compile-time check: a VgaRenderer result can be passed to onFrame as it is. */
type RenderResultIsFrame = RenderResult extends RfbFrame ? true : never;
const renderResultIsFrame: RenderResultIsFrame = true;
import { RfbTestClient } from './test-support/rfb-test-client.js';

const FIXED_CHALLENGE = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i * 7 + 3);

/** Records what the server sends to the machine's input. */
class RecordingSink implements InputSink {
  events: string[] = [];
  keyDown(code: number): void { this.events.push(`down ${code.toString(16)}`); }
  keyUp(code: number): void { this.events.push(`up ${code.toString(16)}`); }
  mouseMove(dx: number, dy: number, buttons: number, wheel: number): void { this.events.push(`move ${dx} ${dy} ${buttons} ${wheel}`); }
}

/** An RGBA frame with a pattern mixing flat areas, few-colour areas and noise. */
function makeFrame(width: number, height: number, seed = 1): Uint8ClampedArray {
  const px = new Uint8ClampedArray(width * height * 4);
  let s = seed;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      if (x < width / 3) { px[i] = 10 * seed; px[i + 1] = 200; px[i + 2] = 30; } // flat
      else if (x < (2 * width) / 3) { const c = ((x >> 2) + (y >> 3)) % 5; px[i] = c * 60; px[i + 1] = 255 - c * 50; px[i + 2] = c * 13; } // 5 colours
      else { s = (s * 1103515245 + 12345) >>> 0; px[i] = s >>> 24; px[i + 1] = (s >>> 16) & 255; px[i + 2] = (s >>> 8) & 255; } // noise
      px[i + 3] = 255;
    }
  }
  return px;
}

function frame(width: number, height: number, pixels: Uint8ClampedArray, dirty = [{ x: 0, y: 0, width, height }]) {
  return { width, height, pixels, dirty };
}

function newServer(opts: Partial<RfbServerOptions> = {}): { server: RfbServer; sink: RecordingSink; logs: string[] } {
  const sink = new RecordingSink();
  const logs: string[] = [];
  const server = new RfbServer({ name: 'test-vm', input: sink, randomBytes: FIXED_CHALLENGE, log: (m) => logs.push(m), ...opts });
  return { server, sink, logs };
}

const RGB565: PixelFormat = {
  bitsPerPixel: 16, depth: 16, bigEndian: false, trueColour: true,
  redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0,
};
const BGR32_BE: PixelFormat = {
  bitsPerPixel: 32, depth: 24, bigEndian: true, trueColour: true,
  redMax: 255, greenMax: 255, blueMax: 255, redShift: 16, greenShift: 8, blueShift: 0,
};
const RGB332: PixelFormat = {
  bitsPerPixel: 8, depth: 8, bigEndian: false, trueColour: true,
  redMax: 7, greenMax: 7, blueMax: 3, redShift: 0, greenShift: 3, blueShift: 6,
};

describe('RFB handshake', () => {
  it('security None on 3.8: ServerInit with the VM name, size and native format', () => {
    expect(renderResultIsFrame).toBe(true);
    const { server } = newServer();
    const c = new RfbTestClient(server);
    expect(c.handshake()).toEqual({ ok: true, width: 640, height: 480, format: NATIVE_PIXEL_FORMAT, name: 'test-vm' });
    expect(c.conn.isReady).toBe(true);
  });

  it.each([3, 7, 8] as const)('VNC Authentication with the right password (3.%i)', (minor) => {
    const { server } = newServer({ password: 'pa55word' });
    const c = new RfbTestClient(server);
    expect(c.handshake({ minor, password: 'pa55word' }).ok).toBe(true);
  });

  it('VNC Authentication with a wrong password fails with a reason and closes', () => {
    const { server, logs } = newServer({ password: 'secret' });
    const c = new RfbTestClient(server);
    const r = c.handshake({ password: 'guess' });
    expect(r).toEqual({ ok: false, reason: 'VNC authentication failed: wrong password' });
    expect(c.closedReason).toBe('VNC authentication failed: wrong password');
    expect(logs.some((l) => l.includes('wrong password'))).toBe(true);
    expect(server.connectionCount).toBe(0);
  });

  it('3.3 and 3.7 clients with security None get no SecurityResult', () => {
    for (const minor of [3, 7] as const) {
      const { server } = newServer();
      const c = new RfbTestClient(server);
      expect(c.handshake({ minor }).ok).toBe(true);
    }
  });

  it('a security type that was not offered fails with a reason (3.8)', () => {
    const { server } = newServer();
    const c = new RfbTestClient(server);
    expect(c.handshake({ securityType: 2 })).toEqual({ ok: false, reason: 'client chose security type 2, offered 1' });
  });

  it('a bad ProtocolVersion closes with a reason', () => {
    const { server } = newServer();
    const c = new RfbTestClient(server);
    c.sendRaw(new TextEncoder().encode('HTTP/1.1 200'));
    expect(c.closedReason).toMatch(/bad ProtocolVersion/);
  });
});

describe('framebuffer updates', () => {
  it.each([
    ['native 32 bpp', NATIVE_PIXEL_FORMAT],
    ['16 bpp RGB565', RGB565],
    ['32 bpp big-endian BGR', BGR32_BE],
    ['8 bpp RGB332', RGB332],
  ] as const)('Raw, %s, pixel-exact', (_name, pf) => {
    const { server } = newServer();
    const px = makeFrame(100, 70);
    server.onFrame(frame(100, 70, px));
    const c = new RfbTestClient(server);
    c.handshake();
    c.setPixelFormat(pf);
    c.setEncodings([0]);
    c.requestUpdate(false);
    const rects = c.readUpdate()!;
    expect(rects.every((r) => r.encoding === 0)).toBe(true);
    expect(c.mismatch(px, 100, 70)).toBeNull();
    expect(c.pending).toBe(0);
  });

  it.each([
    ['native 32 bpp (3-byte CPIXEL)', NATIVE_PIXEL_FORMAT],
    ['16 bpp RGB565', RGB565],
    ['32 bpp big-endian BGR (3-byte CPIXEL)', BGR32_BE],
  ] as const)('ZRLE, %s, pixel-exact across several updates of one zlib stream', (_name, pf) => {
    const { server } = newServer({ deflate: zlibDeflateFactory() });
    const c = new RfbTestClient(server);
    server.onFrame(frame(150, 90, makeFrame(150, 90, 1)));
    c.handshake();
    c.setPixelFormat(pf);
    c.setEncodings([16, 0]);
    c.requestUpdate(false);
    expect(c.readUpdate()!.every((r) => r.encoding === 16)).toBe(true);
    expect(c.mismatch(makeFrame(150, 90, 1), 150, 90)).toBeNull();
    for (const seed of [2, 3]) {
      const px = makeFrame(150, 90, seed);
      server.onFrame(frame(150, 90, px));
      c.requestUpdate(true);
      c.readUpdate();
      expect(c.mismatch(px, 150, 90)).toBeNull();
    }
  });

  it('incremental updates carry only the dirty rectangles, and wait for a change', () => {
    const { server } = newServer();
    const px = makeFrame(256, 128);
    server.onFrame(frame(256, 128, px));
    const c = new RfbTestClient(server);
    c.handshake();
    c.setEncodings([0]);
    c.requestUpdate(false);
    c.readUpdate();
    c.requestUpdate(true);
    expect(c.readUpdate()).toBeNull(); // nothing changed: the request stays pending
    for (let y = 40; y < 56; y++) for (let x = 64; x < 96; x++) px.set([1, 2, 3, 255], (y * 256 + x) * 4);
    server.onFrame(frame(256, 128, px, [{ x: 64, y: 40, width: 32, height: 16 }]));
    const rects = c.readUpdate()!;
    const area = rects.reduce((a, r) => a + r.width * r.height, 0);
    expect(area).toBeLessThanOrEqual(48 * 32); // 16-pixel cells around the change
    for (const r of rects) {
      expect(r.x + r.width).toBeGreaterThan(64);
      expect(r.x).toBeLessThan(96);
      expect(r.y + r.height).toBeGreaterThan(40);
      expect(r.y).toBeLessThan(56);
    }
    expect(c.mismatch(px, 256, 128)).toBeNull();
    server.onFrame(frame(256, 128, px, [{ x: 0, y: 0, width: 16, height: 16 }]));
    expect(c.readUpdate()).toBeNull(); // no request pending: nothing queued
  });

  it('a resize is sent as DesktopSize before the pixels of the new size', () => {
    const { server } = newServer();
    server.onFrame(frame(64, 48, makeFrame(64, 48)));
    const c = new RfbTestClient(server);
    c.handshake();
    c.setEncodings([0, -223]);
    c.requestUpdate(false);
    c.readUpdate();
    const px = makeFrame(120, 80, 5);
    server.onFrame({ ...frame(120, 80, px) });
    c.requestUpdate(true);
    const rects = c.readUpdate()!;
    expect(rects[0]).toEqual({ x: 0, y: 0, width: 120, height: 80, encoding: -223 });
    expect(c.mismatch(px, 120, 80)).toBeNull();
  });

  it('ExtendedDesktopSize: layout announced, resize, SetDesktopSize answered "prohibited"', () => {
    const { server } = newServer();
    server.onFrame(frame(64, 48, makeFrame(64, 48)));
    const c = new RfbTestClient(server);
    c.handshake();
    c.setEncodings([0, -223, -308]);
    c.requestUpdate(false);
    const first = c.readUpdate()!;
    expect(first[0]).toEqual({ x: 0, y: 0, width: 64, height: 48, encoding: -308 });
    c.sendRaw([251, 0, 0, 200, 0, 100, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200, 0, 100, 0, 0, 0, 0]);
    c.requestUpdate(true);
    expect(c.readUpdate()).toEqual([{ x: 1, y: 1, width: 64, height: 48, encoding: -308 }]);
    const px = makeFrame(80, 60, 2);
    server.onFrame(frame(80, 60, px));
    c.requestUpdate(true);
    expect(c.readUpdate()![0]).toEqual({ x: 0, y: 0, width: 80, height: 60, encoding: -308 });
    expect(c.mismatch(px, 80, 60)).toBeNull();
  });

  it('a client without resize support keeps its size: updates are clipped', () => {
    const { server } = newServer();
    server.onFrame(frame(64, 48, makeFrame(64, 48)));
    const c = new RfbTestClient(server);
    c.handshake();
    c.setEncodings([0]);
    c.requestUpdate(false);
    c.readUpdate();
    server.onFrame(frame(100, 100, makeFrame(100, 100)));
    c.requestUpdate(true);
    for (const r of c.readUpdate()!) {
      expect(r.x + r.width).toBeLessThanOrEqual(64);
      expect(r.y + r.height).toBeLessThanOrEqual(48);
    }
  });

  it('QEMU LED state is sent when enabled and on change', () => {
    const { server } = newServer();
    const c = new RfbTestClient(server);
    c.handshake();
    server.setLeds(2);
    c.setEncodings([0, -261]);
    c.requestUpdate(false);
    expect(c.readUpdate()!.find((r) => r.encoding === -261)?.leds).toBe(2);
    c.requestUpdate(true);
    server.setLeds(5);
    expect(c.readUpdate()).toEqual([{ x: 0, y: 0, width: 0, height: 0, encoding: -261, leds: 5 }]);
  });
});

describe('input', () => {
  function ready(): { c: RfbTestClient; sink: RecordingSink } {
    const { server, sink } = newServer();
    const c = new RfbTestClient(server);
    c.handshake();
    return { c, sink };
  }

  it('maps keysyms to set-1 scan codes (US layout)', () => {
    const { c, sink } = ready();
    const tap = (ks: number): void => { c.key(true, ks); c.key(false, ks); };
    tap(0x61); // a
    tap(0x41); // A
    tap(0xff0d); // Return
    tap(0xff52); // Up
    tap(0xff54); // Down
    tap(0xff51); // Left
    tap(0xff53); // Right
    expect(sink.events).toEqual([
      'down 1e', 'up 1e', 'down 1e', 'up 1e', 'down 1c', 'up 1c',
      'down e048', 'up e048', 'down e050', 'up e050', 'down e04b', 'up e04b', 'down e04d', 'up e04d',
    ]);
  });

  it('Ctrl+Alt+Del as keysyms', () => {
    const { c, sink } = ready();
    for (const ks of [0xffe3, 0xffe9, 0xffff]) c.key(true, ks);
    for (const ks of [0xffff, 0xffe9, 0xffe3]) c.key(false, ks);
    expect(sink.events).toEqual(['down 1d', 'down 38', 'down e053', 'up e053', 'up 38', 'up 1d']);
  });

  it('QEMU extended key events: acknowledged, raw codes used, keysym fallback for keycode 0', () => {
    const { c, sink } = ready();
    c.setEncodings([0, -258]);
    c.requestUpdate(false);
    expect(c.readUpdate()!.some((r) => r.encoding === -258)).toBe(true);
    c.qemuKey(true, 0xffe3, 0x1d); // ControlLeft
    c.qemuKey(true, 0xffe9, 0x38); // AltLeft
    c.qemuKey(true, 0xffff, 0xd3); // Delete = E0 53
    c.qemuKey(false, 0xffff, 0xd3);
    c.qemuKey(true, 0xff8d, 0x9c); // KP_Enter = E0 1C
    c.qemuKey(true, 0x71, 0x1e); // keysym 'q' (AZERTY client) on the A key: the scan code wins
    c.qemuKey(true, 0x61, 0); // no scan code: keysym 'a'
    c.qemuKey(true, 0xff13, 0xc6); // Pause
    expect(sink.events).toEqual(['down 1d', 'down 38', 'down e053', 'up e053', 'down e01c', 'down 1e', 'down 1e', 'down e046']);
  });

  it('releases held keys and buttons when the connection closes', () => {
    const { c, sink } = ready();
    c.key(true, 0xffe1);
    c.pointer(0, 10, 10);
    c.pointer(1, 10, 10);
    c.conn.close('peer closed');
    expect(sink.events).toEqual(['down 2a', 'move 0 0 1 0', 'up 2a', 'move 0 0 0 0']);
  });

  it('pointer: absolute -> relative, clamped, buttons remapped, wheel clicks', () => {
    const { c, sink } = ready();
    c.pointer(0, 100, 100); // origin only
    c.pointer(0, 110, 95);
    c.pointer(0, 1000, 95); // +890 clamped
    c.pointer(4, 1000, 95); // right button -> PS/2 bit 1
    c.pointer(2, 1000, 95); // middle -> PS/2 bit 2
    c.pointer(8, 1000, 95); // wheel up press
    c.pointer(0, 1000, 95); // release
    c.pointer(16, 1000, 95); // wheel down
    expect(sink.events).toEqual([
      'move 10 -5 0 0', 'move 255 0 0 0', 'move 0 0 2 0', 'move 0 0 4 0', 'move 0 0 0 -1', 'move 0 0 0 1',
    ]);
  });
});

describe('robustness', () => {
  it('a session in 1-byte chunks works (handshake with auth, formats, ZRLE, keys)', () => {
    const { server, sink } = newServer({ password: 'x', deflate: zlibDeflateFactory() });
    const px = makeFrame(70, 40);
    server.onFrame(frame(70, 40, px));
    const c = new RfbTestClient(server, 1);
    expect(c.handshake({ password: 'x' }).ok).toBe(true);
    c.setPixelFormat(RGB565);
    c.setEncodings([16, -258]);
    c.requestUpdate(false);
    c.readUpdate();
    expect(c.mismatch(px, 70, 40)).toBeNull();
    c.key(true, 0x61);
    c.qemuKey(false, 0x61, 0x1e);
    expect(sink.events).toEqual(['down 1e', 'up 1e']);
  });

  it('malformed messages close with a reason', () => {
    const cases: [number[], RegExp][] = [
      [[9], /unknown client message type 9/],
      [[2, 0, 0xff, 0xff], /SetEncodings lists 65535/],
      [[6, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff], /ClientCutText of/],
      [[0, 0, 0, 0, 24, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0], /bits-per-pixel 24/],
      [[0, 0, 0, 0, 32, 24, 0, 0, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0], /colour-map/],
      [[0, 0, 0, 0, 16, 16, 0, 1, 0, 31, 0, 63, 0, 31, 12, 5, 0, 0, 0, 0], /red .* does not fit/],
      [[255, 7], /QEMU client message subtype 7/],
    ];
    for (const [bytes, reason] of cases) {
      const { server } = newServer();
      const c = new RfbTestClient(server);
      c.handshake();
      c.sendRaw(bytes);
      expect(c.closedReason).toMatch(reason);
      expect(c.conn.isClosed).toBe(true);
    }
  });

  it('QEMU audio requests are ignored politely; cut text is forwarded', () => {
    const texts: string[] = [];
    const { server, logs } = newServer({ onCutText: (t) => texts.push(t) });
    const c = new RfbTestClient(server, 3);
    c.handshake();
    c.sendRaw([255, 1, 0, 0, 255, 1, 0, 2, 3, 2, 0, 0, 0xac, 0x44]);
    c.sendRaw([6, 0, 0, 0, 0, 0, 0, 3, 0x68, 0xe9, 0x21]);
    expect(c.conn.isClosed).toBe(false);
    expect(texts).toEqual(['hé!']);
    expect(logs.filter((l) => l.includes('audio'))).toHaveLength(1);
  });

  it('a second connection survives the first one\'s malformed input', () => {
    const { server } = newServer();
    const px = makeFrame(40, 30);
    server.onFrame(frame(40, 30, px));
    const a = new RfbTestClient(server);
    const b = new RfbTestClient(server);
    a.handshake();
    b.handshake();
    a.sendRaw([77, 1, 2, 3]);
    expect(a.closedReason).toMatch(/unknown client message type 77/);
    b.setEncodings([0]);
    b.requestUpdate(false);
    b.readUpdate();
    expect(b.mismatch(px, 40, 30)).toBeNull();
    expect(server.connectionCount).toBe(1);
  });

  it('random garbage never throws; a closed connection always has a reason', () => {
    fc.assert(fc.property(
      fc.boolean(),
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 8 }),
      (afterHandshake, chunks) => {
        const { server } = newServer({ deflate: zlibDeflateFactory(1) });
        server.onFrame(frame(32, 16, makeFrame(32, 16)));
        const c = new RfbTestClient(server);
        if (afterHandshake) c.handshake();
        for (const chunk of chunks) c.sendRaw(chunk);
        server.onFrame(frame(16, 16, makeFrame(16, 16)));
        server.setLeds(3);
        if (c.conn.isClosed) expect(c.closedReason).toMatch(/\w/);
      },
    ), { numRuns: 150 });
  });

  it('a client never gets more than one update per request', () => {
    const { server } = newServer();
    const c = new RfbTestClient(server);
    c.handshake();
    c.setEncodings([0]);
    c.requestUpdate(false);
    c.readUpdate();
    c.requestUpdate(true);
    for (let i = 0; i < 5; i++) server.onFrame(frame(640, 480, new Uint8ClampedArray(640 * 480 * 4), [{ x: i * 16, y: 0, width: 16, height: 16 }]));
    expect(c.readUpdate()).not.toBeNull();
    expect(c.pending).toBe(0);
  });
});
