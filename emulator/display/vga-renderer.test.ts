import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../memory/guest-memory.js';
import { VirtualClock } from '../time/clock.js';
import { StdVga } from '../devices/vga/vga.js';
import { EGA_PALETTE, RAMP_PALETTE, VgaTestBus, biosInit, setStdMode, setVbeMode } from '../devices/vga/test-support/bios-modes.js';
import { VGA_FRAME_NS } from '../devices/vga/vga-registers.js';
import { VgaRenderer, type RenderResult } from './vga-renderer.js';
import { readTextScreen } from './text-screen.js';

function make(vramBytes = 4 << 20): { vga: StdVga; bus: VgaTestBus; clock: VirtualClock; renderer: VgaRenderer } {
  const clock = new VirtualClock();
  const memory = new GuestMemory(64 * 1024, vramBytes);
  const vga = new StdVga({ memory, clock, vramBytes });
  const bus = new VgaTestBus(vga);
  biosInit(bus);
  return { vga, bus, clock, renderer: new VgaRenderer(vga) };
}

function px(res: RenderResult, x: number, y: number): number[] {
  const i = (y * res.width + x) * 4;
  return Array.from(res.pixels.subarray(i, i + 4));
}

/** 6-bit DAC value scaled to 8 bits as the renderer does. */
const s8 = (c: number): number => (c << 2) | (c >> 4);
const ega = (i: number): number[] => [s8(EGA_PALETTE[i * 3]!), s8(EGA_PALETTE[i * 3 + 1]!), s8(EGA_PALETTE[i * 3 + 2]!), 255];
const ramp = (i: number): number[] => [s8(RAMP_PALETTE[i * 3]!), s8(RAMP_PALETTE[i * 3 + 1]!), s8(RAMP_PALETTE[i * 3 + 2]!), 255];

/** A font where 'H' is 0x81 on every line, 0xC4 and 0xB3 are 0x01, everything else blank. */
function testFont(height: number): Uint8Array {
  const f = new Uint8Array(256 * height);
  f.fill(0x81, 0x48 * height, 0x49 * height);
  f.fill(0x01, 0xc4 * height, 0xc5 * height);
  f.fill(0x01, 0xb3 * height, 0xb4 * height);
  return f;
}

describe('VgaRenderer text modes', () => {
  it('mode 03h: 720x400, font from plane 2, attributes, 9th column rule, text extraction', () => {
    const { bus, renderer } = make();
    setStdMode(bus, 0x03, { font: testFont(16) });
    const text = 'H\xc4\xb3 ok';
    for (let i = 0; i < text.length; i++) bus.writew(0xb8000 + i * 2, 0x1f00 | text.charCodeAt(i));
    bus.outw(0x3d4, 0x200a); // cursor off for now
    const res = renderer.render();
    expect([res.width, res.height, res.resized, res.mode.kind]).toEqual([720, 400, true, 'text']);
    const white = ega(0x3f);
    const blue = ega(0x01);
    expect(px(res, 0, 3)).toEqual(white);
    expect(px(res, 1, 3)).toEqual(blue);
    expect(px(res, 7, 3)).toEqual(white);
    expect(px(res, 8, 3)).toEqual(blue); // 'H' is not a line-graphics character
    expect(px(res, 9 + 7, 3)).toEqual(white);
    expect(px(res, 9 + 8, 3)).toEqual(white); // 0xC4 duplicates column 8
    expect(px(res, 18 + 8, 3)).toEqual(blue); // 0xB3 does not
    expect(px(res, 0, 16)).toEqual([0, 0, 0, 255]); // 0x0720 blank: black background
    const screen = readTextScreen(bus.vga);
    expect(screen?.cols).toBe(80);
    expect(screen?.rows).toBe(25);
    expect(screen?.lines[0]).toBe('H─│ ok' + ' '.repeat(74));
  });

  it('cursor: start/end scan lines, position, blinking on the virtual clock', () => {
    const { bus, renderer, clock } = make();
    setStdMode(bus, 0x03, { font: testFont(16) });
    bus.writew(0xb8000 + (2 * 80 + 5) * 2, 0x0e20); // yellow on black space at row 2, col 5
    bus.outw(0x3d4, 0x0c0a); // cursor start 12
    bus.outw(0x3d4, 0x0d0b); // cursor end 13
    const pos = 2 * 80 + 5;
    bus.outw(0x3d4, ((pos >> 8) << 8) | 0x0e);
    bus.outw(0x3d4, ((pos & 0xff) << 8) | 0x0f);
    let res = renderer.render();
    const yellow = ega(0x3e);
    const x = 5 * 9;
    expect(px(res, x, 2 * 16 + 11)).toEqual([0, 0, 0, 255]);
    expect(px(res, x, 2 * 16 + 12)).toEqual(yellow);
    expect(px(res, x + 8, 2 * 16 + 13)).toEqual(yellow);
    expect(px(res, x, 2 * 16 + 14)).toEqual([0, 0, 0, 255]);
    expect(readTextScreen(bus.vga)?.cursor).toEqual({ row: 2, col: 5 });
    clock.step(VGA_FRAME_NS * 8);
    res = renderer.render();
    expect(px(res, x, 2 * 16 + 12)).toEqual([0, 0, 0, 255]);
    expect(res.dirty).toEqual([{ x: 0, y: 32, width: 64, height: 16 }]);
  });

  it('blink attribute alternates foreground and background', () => {
    const { bus, renderer, clock } = make();
    setStdMode(bus, 0x03, { font: testFont(16) });
    bus.outw(0x3d4, 0x200a);
    bus.writew(0xb8000, 0x9f48); // blink, bg 1, fg 15, 'H'
    expect(px(renderer.render(), 0, 0)).toEqual(ega(0x3f));
    clock.step(VGA_FRAME_NS * 16);
    expect(px(renderer.render(), 0, 0)).toEqual(ega(0x01));
  });

  it('80x50 (8-line cells) and 40x25 (double-width cells)', () => {
    const { bus, renderer } = make();
    setStdMode(bus, 0x03, { font: testFont(8), fontHeight: 8 });
    bus.outb(0x3d4, 0x09);
    bus.outb(0x3d5, (bus.inb(0x3d5) & 0xe0) | 7);
    bus.writew(0xb8000 + 49 * 160, 0x0748);
    let res = renderer.render();
    expect([res.width, res.height]).toEqual([720, 400]);
    expect(readTextScreen(bus.vga)?.rows).toBe(50);
    expect(px(res, 0, 49 * 8)).toEqual(ega(0x07));
    setStdMode(bus, 0x01, { font: testFont(16) });
    bus.writew(0xb8000 + 2, 0x0748); // column 1
    res = renderer.render();
    expect([res.width, res.height, res.resized]).toEqual([720, 400, false]);
    expect(readTextScreen(bus.vga)?.cols).toBe(40);
    expect(px(res, 18, 0)).toEqual(ega(0x07));
    expect(px(res, 19, 0)).toEqual(ega(0x07));
    expect(px(res, 20, 0)).toEqual([0, 0, 0, 255]);
  });
});

describe('VgaRenderer graphics modes', () => {
  it('mode 12h: 640x480 planar, write mode 2 pixel, dirty rectangles cover the write only', () => {
    const { bus, renderer } = make();
    setStdMode(bus, 0x12);
    let res = renderer.render();
    expect([res.width, res.height, res.resized]).toEqual([640, 480, true]);
    expect(renderer.render().dirty).toEqual([]);
    bus.outw(0x3ce, 0x0205); // write mode 2
    bus.outw(0x3ce, 0x2008); // bit mask: pixel 2 of the byte
    bus.readb(0xa0000 + 5 * 80 + 1);
    bus.writeb(0xa0000 + 5 * 80 + 1, 4); // red at (10, 5)
    res = renderer.render();
    expect(px(res, 10, 5)).toEqual(ega(0x04));
    expect(px(res, 11, 5)).toEqual([0, 0, 0, 255]);
    expect(res.dirty).toEqual([{ x: 0, y: 0, width: 64, height: 16 }]);
    bus.readb(0xa0000 + 300 * 80 + 40);
    bus.outw(0x3ce, 0xff08);
    bus.writeb(0xa0000 + 300 * 80 + 40, 0x0f); // 8 white pixels at x 320..327, y 300
    res = renderer.render();
    expect(px(res, 327, 300)).toEqual(ega(0x3f));
    expect(res.dirty).toEqual([{ x: 320, y: 288, width: 64, height: 16 }]);
  });

  it('mode 13h: chain-4 bytes, 640x400 with doubled pixels, palette from the DAC', () => {
    const { bus, renderer } = make();
    setStdMode(bus, 0x13);
    bus.writeb(0xa0000 + 2 * 320 + 3, 7);
    let res = renderer.render();
    expect([res.width, res.height]).toEqual([640, 400]);
    for (const [x, y] of [[6, 4], [7, 4], [6, 5], [7, 5]]) expect(px(res, x!, y!)).toEqual(ramp(7));
    expect(px(res, 8, 4)).toEqual(ramp(0));
    bus.outb(0x3c8, 7);
    for (const c of [0x3f, 0, 0]) bus.outb(0x3c9, c);
    res = renderer.render();
    expect(px(res, 6, 4)).toEqual([255, 0, 0, 255]);
  });

  it('mode X: unchained 256 colours through the map mask', () => {
    const { bus, renderer } = make();
    setStdMode(bus, 0x13);
    bus.outw(0x3c4, 0x0604); // chain 4 off
    bus.outw(0x3d4, 0x0014); // dword mode off
    bus.outw(0x3d4, 0xe317); // byte mode
    const put = (x: number, y: number, c: number): void => {
      bus.outw(0x3c4, ((1 << (x & 3)) << 8) | 0x02);
      bus.writeb(0xa0000 + y * 80 + (x >> 2), c);
    };
    put(5, 1, 9);
    put(6, 1, 10);
    const res = renderer.render();
    expect(px(res, 10, 2)).toEqual(ramp(9));
    expect(px(res, 12, 2)).toEqual(ramp(10));
    expect(px(res, 8, 2)).toEqual(ramp(0));
  });

  it('mode 04h: CGA 4 colours with the odd-line interleave', () => {
    const { bus, renderer } = make();
    setStdMode(bus, 0x04);
    bus.writeb(0xb8000, 0x1b); // pixels 0..3 = 0,1,2,3 on line 0
    bus.writeb(0xb8000 + 0x2000, 0xc0); // pixel 0 = 3 on line 1
    const res = renderer.render();
    expect([res.width, res.height]).toEqual([640, 400]);
    const attr = [0x00, 0x13, 0x15, 0x17];
    for (let p = 0; p < 4; p++) expect(px(res, p * 2, 0)).toEqual(ega(attr[p]!));
    expect(px(res, 0, 2)).toEqual(ega(0x17)); // line 1 is output lines 2-3
    expect(px(res, 0, 1)).toEqual(ega(0x00));
  });

  it('blanks when the attribute PAS bit is cleared', () => {
    const { bus, renderer } = make();
    setStdMode(bus, 0x13);
    bus.writeb(0xa0000, 0x20);
    expect(px(renderer.render(), 0, 0)).toEqual(ramp(0x20));
    bus.inb(0x3da);
    bus.outb(0x3c0, 0x00);
    const res = renderer.render();
    expect(res.mode.kind).toBe('blank');
    expect(px(res, 0, 0)).toEqual([0, 0, 0, 255]);
  });
});

describe('VgaRenderer VBE modes', () => {
  it('1024x768x32 through the LFB; dirty tiles track direct VRAM writes', () => {
    const { bus, vga, renderer } = make();
    setStdMode(bus, 0x03);
    renderer.render();
    setVbeMode(bus, 1024, 768, 32);
    let res = renderer.render();
    expect([res.width, res.height, res.resized, res.mode.kind]).toEqual([1024, 768, true, 'vbe']);
    expect(res.dirty).toEqual(Array.from({ length: 48 }, (_, i) => ({ x: 0, y: i * 16, width: 1024, height: 16 })));
    expect(renderer.render().dirty).toEqual([]);
    // The guest writes the LFB directly (BAR0 mapped as RAM): B, G, R, X.
    const o = (300 * 1024 + 500) * 4;
    vga.vramU8.set([0x30, 0x20, 0x10, 0], o);
    res = renderer.render();
    expect(px(res, 500, 300)).toEqual([0x10, 0x20, 0x30, 255]);
    expect(res.dirty).toEqual([{ x: 448, y: 288, width: 64, height: 16 }]);
    expect(res.resized).toBe(false);
  });

  it('16, 15, 24 and 8 bpp conversions', () => {
    const { bus, vga, renderer } = make();
    setVbeMode(bus, 640, 480, 16);
    vga.vramU8.set([0x1f, 0xf8], (1 * 640 + 2) * 2); // 0xF81F: magenta
    expect(px(renderer.render(), 2, 1)).toEqual([255, 0, 255, 255]);
    setVbeMode(bus, 640, 480, 15);
    vga.vramU8.set([0xe0, 0x03], 0); // 0x03E0: green
    expect(px(renderer.render(), 0, 0)).toEqual([0, 255, 0, 255]);
    setVbeMode(bus, 800, 600, 24);
    vga.vramU8.set([1, 2, 3], (10 * 800 + 4) * 3);
    expect(px(renderer.render(), 4, 10)).toEqual([3, 2, 1, 255]);
    setVbeMode(bus, 800, 600, 8);
    vga.vramU8[5] = 200;
    expect(px(renderer.render(), 5, 0)).toEqual(ramp(200));
    bus.dispiWrite(4, bus.dispiRead(4) | 0x20); // 8-bit DAC
    bus.outb(0x3c8, 200);
    for (const c of [0x80, 0x81, 0x82]) bus.outb(0x3c9, c);
    expect(px(renderer.render(), 5, 0)).toEqual([0x80, 0x81, 0x82, 255]);
  });

  it('virtual width and display offsets pan the visible window', () => {
    const { bus, vga, renderer } = make();
    setVbeMode(bus, 640, 480, 32);
    bus.dispiWrite(6, 1024);
    const o = (20 * 1024 + 700) * 4;
    vga.vramU8.set([0xff, 0, 0, 0], o); // blue at virtual (700, 20)
    bus.dispiWrite(8, 100);
    bus.dispiWrite(9, 10);
    const res = renderer.render();
    expect(px(res, 600, 10)).toEqual([0, 0, 255, 255]);
  });

  it('VBE 4 bpp planar (SeaBIOS sets mode 6Ah first)', () => {
    const { bus, renderer } = make();
    setVbeMode(bus, 800, 600, 4);
    bus.outw(0x3ce, 0x0205);
    bus.outw(0x3ce, 0x8008);
    bus.readb(0xa0000 + 100);
    bus.writeb(0xa0000 + 100, 2); // 100 addresses per line: pixel (0, 1)
    const res = renderer.render();
    expect([res.width, res.height]).toEqual([800, 600]);
    expect(px(res, 0, 1)).toEqual(ega(0x02));
  });
});

describe('VgaRenderer robustness', () => {
  it('renders any register state without throwing', async () => {
    const fc = (await import('fast-check')).default;
    const { vga, clock } = make(1 << 20);
    const renderer = new VgaRenderer(vga);
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(0x2f), fc.nat(0xff), fc.nat(0x1ffff)), { maxLength: 60 }), (ops) => {
      for (const [port, value, gpa] of ops) {
        vga.ioPorts.write(port, 1, value);
        vga.legacyWindow.write(gpa, 1, value);
        if ((value & 7) === 0) vga.dispiPorts.write(value & 1, 2, (gpa * 7) & 0xffff);
      }
      clock.step(1_000_000);
      const res = renderer.render();
      expect(res.pixels.length).toBe(res.width * res.height * 4);
    }), { numRuns: 25 });
  });
});
