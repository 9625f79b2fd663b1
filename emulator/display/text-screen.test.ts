import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../memory/guest-memory.js';
import { VirtualClock } from '../time/clock.js';
import { StdVga } from '../devices/vga/vga.js';
import { VgaTestBus, biosInit, setStdMode, setVbeMode } from '../devices/vga/test-support/bios-modes.js';
import { readTextScreen, screenText } from './text-screen.js';
import { CP437 } from './cp437.js';

function make(): VgaTestBus {
  const memory = new GuestMemory(4096, 4 << 20);
  const bus = new VgaTestBus(new StdVga({ memory, clock: new VirtualClock(), vramBytes: 4 << 20 }));
  biosInit(bus);
  return bus;
}

function puts(bus: VgaTestBus, row: number, col: number, bytes: readonly number[]): void {
  bytes.forEach((b, i) => bus.writew(0xb8000 + (row * 80 + col + i) * 2, 0x0700 | b));
}

describe('text screen extraction', () => {
  it('maps code page 437 to Unicode', () => {
    expect(CP437.length).toBe(256);
    expect(CP437[0x41]).toBe('A');
    expect(CP437[0x01]).toBe('☺');
    expect(CP437[0xc9]).toBe('╔');
    expect(CP437[0xcd]).toBe('═');
    expect(CP437[0xb0]).toBe('░');
    expect(CP437[0xe1]).toBe('ß');
    expect(CP437[0x82]).toBe('é');
    expect(CP437[0xdb]).toBe('█');
    expect(CP437[0xfe]).toBe('■');
  });

  it('reads rows, honours the start address and reports the cursor', () => {
    const bus = make();
    setStdMode(bus, 0x03);
    puts(bus, 0, 0, [0xc9, 0xcd, 0xbb, 0x20, ...Array.from('SeaBIOS', (c) => c.charCodeAt(0))]);
    puts(bus, 24, 79, [0x41]);
    bus.outw(0x3d4, 0x0e0a);
    bus.outw(0x3d4, 0x0f0b);
    bus.outw(0x3d4, 0x000e);
    bus.outw(0x3d4, 0x510f); // cursor at 81 = row 1, col 1
    const t = readTextScreen(bus.vga);
    expect(t?.lines[0]?.startsWith('╔═╗ SeaBIOS')).toBe(true);
    expect(t?.lines[24]?.endsWith('A')).toBe(true);
    expect(t?.lines.every((l) => l.length === 80)).toBe(true);
    expect(t?.cursor).toEqual({ row: 1, col: 1 });
    expect(screenText(bus.vga)?.split('\n')[0]).toBe('╔═╗ SeaBIOS');
    // Scrolling the start address (as int 10h AH=05h does for pages) moves the view.
    puts(bus, 25, 0, [0x42]); // cell 2000, just past the first screen
    bus.outw(0x3d4, ((2000 >> 8) << 8) | 0x0c);
    bus.outw(0x3d4, ((2000 & 0xff) << 8) | 0x0d);
    expect(readTextScreen(bus.vga)?.lines[0]?.[0]).toBe('B');
  });

  it('is null outside text modes', () => {
    const bus = make();
    setStdMode(bus, 0x13, { noClear: true });
    expect(screenText(bus.vga)).toBeNull();
    setVbeMode(bus, 640, 480, 32, { noClear: true });
    expect(readTextScreen(bus.vga)).toBeNull();
  });
});
