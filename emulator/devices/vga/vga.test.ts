import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GuestMemory } from '../../memory/guest-memory.js';
import { VirtualClock } from '../../time/clock.js';
import { StdVga } from './vga.js';
import { VgaTestBus, biosInit, setStdMode, setVbeMode } from './test-support/bios-modes.js';
import { VGA_FRAME_NS } from './vga-registers.js';

function make(vramBytes = 1 << 20): { vga: StdVga; bus: VgaTestBus; clock: VirtualClock } {
  const clock = new VirtualClock();
  const memory = new GuestMemory(64 * 1024, vramBytes + 64 * 1024);
  const vga = new StdVga({ memory, clock, vramBytes });
  const bus = new VgaTestBus(vga);
  biosInit(bus);
  return { vga, bus, clock };
}

/** Planar, sequential addressing, 64 KiB window at 0xA0000 (as mode 12h). */
function planar(bus: VgaTestBus): void {
  setStdMode(bus, 0x12, { noClear: true });
}

/** Sets the four planes of plane address `pa` through write mode 0 and the map mask. */
function setPlanes(bus: VgaTestBus, pa: number, planes: readonly number[]): void {
  bus.outw(0x3ce, 0x0005); // write mode 0, read mode 0
  bus.outw(0x3ce, 0x0001); // no set/reset
  bus.outw(0x3ce, 0x0003); // no rotate, replace
  bus.outw(0x3ce, 0xff08); // bit mask all
  for (let p = 0; p < 4; p++) {
    bus.outw(0x3c4, ((1 << p) << 8) | 0x02);
    bus.writeb(0xa0000 + pa, planes[p]!);
  }
  bus.outw(0x3c4, 0x0f02);
}

function planes(vga: StdVga, pa: number): number[] {
  return [0, 1, 2, 3].map((p) => vga.vramU8[pa * 4 + p]!);
}

describe('StdVga registers', () => {
  it('DAC: write index, three components, auto-increment, read index and state', () => {
    const { bus } = make();
    bus.outb(0x3c8, 5);
    expect(bus.inb(0x3c7)).toBe(0);
    for (const v of [0x3f, 0x10, 0xff, 1, 2, 3]) bus.outb(0x3c9, v);
    expect(bus.inb(0x3c8)).toBe(7);
    bus.outb(0x3c7, 5);
    expect(bus.inb(0x3c7)).toBe(3);
    expect([0, 1, 2, 3, 4, 5].map(() => bus.inb(0x3c9))).toEqual([0x3f, 0x10, 0x3f, 1, 2, 3]);
    // A new read index restarts the component sequence.
    bus.outb(0x3c9, 0); // partial write into entry 7 is not committed yet
    bus.outb(0x3c7, 5);
    expect(bus.inb(0x3c9)).toBe(0x3f);
    bus.outb(0x3c6, 0x0f);
    expect(bus.inb(0x3c6)).toBe(0x0f);
    // 8-bit DAC via DISPI: components read back in full.
    bus.dispiWrite(4, 0x20);
    bus.outb(0x3c7, 5);
    expect([bus.inb(0x3c9), bus.inb(0x3c9), bus.inb(0x3c9)]).toEqual([0x3f, 0x10, 0xff]);
  });

  it('attribute controller: flip-flop toggles, input status 1 resets it, 0x3C1 reads without toggling', () => {
    const { bus, vga } = make();
    bus.outb(0x3c2, 0x01); // colour decode
    bus.inb(0x3da);
    bus.outb(0x3c0, 0x12); // index
    bus.outb(0x3c0, 0xff); // data (masked to 6 bits)
    expect(bus.inb(0x3c0)).toBe(0x12);
    expect(bus.inb(0x3c1)).toBe(0x3f);
    expect(bus.inb(0x3c1)).toBe(0x3f);
    bus.outb(0x3c0, 0x33); // flip-flop is at "index" again: index 0x13 with PAS
    expect(bus.inb(0x3c0)).toBe(0x33);
    bus.outb(0x3c0, 0x05); // data to AR13
    expect(vga.regs.attr[0x13]).toBe(0x05);
    bus.outb(0x3c0, 0x14); // index
    bus.inb(0x3da); // reset: next write is an index again
    bus.outb(0x3c0, 0x10);
    bus.outb(0x3c0, 0x41);
    expect(vga.regs.attr[0x10]).toBe(0x41);
    expect(vga.regs.attr[0x14]).toBe(0);
    // Mono status port is not decoded in colour mode and leaves the flip-flop alone.
    bus.outb(0x3c0, 0x11);
    expect(bus.inb(0x3ba)).toBe(0xff);
    bus.outb(0x3c0, 0x07);
    expect(vga.regs.attr[0x11]).toBe(0x07);
  });

  it('CRTC protect bit locks CR00-CR07 except CR07 bit 4', () => {
    const { bus, vga } = make();
    bus.outb(0x3c2, 0x01);
    bus.outw(0x3d4, 0x0011);
    bus.outw(0x3d4, 0x5f00);
    bus.outw(0x3d4, 0x1f07);
    bus.outw(0x3d4, 0x8011); // protect
    bus.outw(0x3d4, 0x1200);
    bus.outw(0x3d4, 0x0007);
    bus.outw(0x3d4, 0x3412); // CR12 is not protected
    expect(vga.regs.crtc[0]).toBe(0x5f);
    expect(vga.regs.crtc[7]).toBe(0x0f);
    expect(vga.regs.crtc[0x12]).toBe(0x34);
    bus.outb(0x3d4, 0x07);
    expect(bus.inb(0x3d5)).toBe(0x0f);
    // The mono CRTC ports are inactive while misc bit 0 is set.
    bus.outb(0x3b4, 0x12);
    expect(bus.inb(0x3b5)).toBe(0xff);
  });

  it('sequencer, graphics and misc registers keep their defined bits', () => {
    const { bus } = make();
    bus.outw(0x3c4, 0xff04);
    expect(bus.inb(0x3c5)).toBe(0x0e);
    bus.outw(0x3ce, 0xff05);
    expect(bus.inb(0x3cf)).toBe(0x7b);
    bus.outb(0x3c2, 0xff);
    expect(bus.inb(0x3cc)).toBe(0xef);
    expect(bus.inw(0x3c4)).toBe(0x0e04);
  });

  it('input status 1 retrace follows the virtual clock and never sticks', () => {
    const { bus, clock } = make();
    bus.outb(0x3c2, 0x01);
    expect(bus.inb(0x3da) & 0x08).toBe(0x08); // frame start: vertical retrace
    clock.step(VGA_FRAME_NS / 2 + 1000);
    expect(bus.inb(0x3da) & 0x08).toBe(0);
    clock.step(VGA_FRAME_NS / 2);
    expect(bus.inb(0x3da) & 0x08).toBe(0x08);
    // Clock stopped mid-frame: a polling loop still sees the bit toggle.
    clock.step(VGA_FRAME_NS / 2);
    const seen = new Set<number>();
    for (let i = 0; i < 64; i++) seen.add(bus.inb(0x3da) & 0x08);
    expect([...seen].sort()).toEqual([0, 8]);
  });
});

describe('StdVga planar memory', () => {
  it('read mode 0 returns the plane selected by GR04 and loads the latches', () => {
    const { bus, vga } = make();
    planar(bus);
    setPlanes(bus, 0, [0xf0, 0x0f, 0xaa, 0x55]);
    expect(planes(vga, 0)).toEqual([0xf0, 0x0f, 0xaa, 0x55]);
    for (let p = 0; p < 4; p++) {
      bus.outw(0x3ce, (p << 8) | 0x04);
      expect(bus.readb(0xa0000)).toBe([0xf0, 0x0f, 0xaa, 0x55][p]);
    }
    expect(vga.regs.latch >>> 0).toBe(0x55aa0ff0);
  });

  it('read mode 1 compares colours with GR02 over the planes GR07 cares about', () => {
    const { bus } = make();
    planar(bus);
    setPlanes(bus, 0, [0xf0, 0x0f, 0xaa, 0x55]);
    bus.outw(0x3ce, 0x0805); // read mode 1
    bus.outw(0x3ce, 0x0502); // colour 5
    bus.outw(0x3ce, 0x0f07); // all planes matter
    expect(bus.readb(0xa0000)).toBe(0xa0);
    bus.outw(0x3ce, 0x0107); // only plane 0 matters
    expect(bus.readb(0xa0000)).toBe(0xf0);
    bus.outw(0x3ce, 0x0007); // nothing matters: all match
    expect(bus.readb(0xa0000)).toBe(0xff);
  });

  it('write mode 0: set/reset, enable set/reset, bit mask against the latches', () => {
    const { bus, vga } = make();
    planar(bus);
    setPlanes(bus, 0, [0xf0, 0x0f, 0xaa, 0x55]);
    bus.readb(0xa0000); // load latches
    bus.outw(0x3ce, 0x0500); // set/reset 0101
    bus.outw(0x3ce, 0x0301); // enabled for planes 0 and 1
    bus.outw(0x3ce, 0x0f08); // bit mask
    bus.writeb(0xa0000, 0x3c);
    expect(planes(vga, 0)).toEqual([0xff, 0x00, 0xac, 0x5c]);
  });

  it('write mode 0: data rotate and logical functions', () => {
    const { bus, vga } = make();
    planar(bus);
    bus.outw(0x3ce, 0x0103); // rotate right 1, replace
    bus.writeb(0xa0001, 0x03);
    expect(planes(vga, 1)).toEqual([0x81, 0x81, 0x81, 0x81]);
    setPlanes(bus, 2, [0xf0, 0x0f, 0xaa, 0x55]);
    bus.readb(0xa0002);
    bus.outw(0x3ce, 0x1803); // XOR
    bus.writeb(0xa0002, 0xff);
    expect(planes(vga, 2)).toEqual([0x0f, 0xf0, 0x55, 0xaa]);
    bus.readb(0xa0002);
    bus.outw(0x3ce, 0x0803); // AND
    bus.writeb(0xa0002, 0x3c);
    expect(planes(vga, 2)).toEqual([0x0c, 0x30, 0x14, 0x28]);
    bus.readb(0xa0002);
    bus.outw(0x3ce, 0x1003); // OR
    bus.writeb(0xa0002, 0x81);
    expect(planes(vga, 2)).toEqual([0x8d, 0xb1, 0x95, 0xa9]);
  });

  it('write mode 1 copies the latches (map mask still applies)', () => {
    const { bus, vga } = make();
    planar(bus);
    setPlanes(bus, 0, [0x11, 0x22, 0x33, 0x44]);
    setPlanes(bus, 1, [0xaa, 0xbb, 0xcc, 0xdd]);
    bus.outw(0x3ce, 0x0105);
    bus.readb(0xa0000);
    bus.outw(0x3c4, 0x0b02); // planes 0, 1, 3
    bus.writeb(0xa0001, 0x00);
    expect(planes(vga, 1)).toEqual([0x11, 0x22, 0xcc, 0x44]);
  });

  it('write mode 2 expands the colour; bit mask keeps latch bits', () => {
    const { bus, vga } = make();
    planar(bus);
    setPlanes(bus, 0, [0xf0, 0x0f, 0xaa, 0x55]);
    bus.readb(0xa0000);
    bus.outw(0x3ce, 0x0205);
    bus.outw(0x3ce, 0x8108);
    bus.writeb(0xa0000, 0x0a);
    expect(planes(vga, 0)).toEqual([0x70, 0x8f, 0x2a, 0xd5]);
  });

  it('write mode 3: rotated data ANDed with the bit mask selects set/reset bits', () => {
    const { bus, vga } = make();
    planar(bus);
    setPlanes(bus, 0, [0xf0, 0x0f, 0xaa, 0x55]);
    bus.readb(0xa0000);
    bus.outw(0x3ce, 0x0305);
    bus.outw(0x3ce, 0x0600); // set/reset 0110
    bus.outw(0x3ce, 0xf008);
    bus.writeb(0xa0000, 0x3c); // effective mask 0x30
    expect(planes(vga, 0)).toEqual([0xc0, 0x3f, 0xba, 0x45]);
  });

  it('chain 4 maps byte A to VRAM byte A; odd/even splits bytes across planes 0/1', () => {
    const { bus, vga } = make();
    setStdMode(bus, 0x13, { noClear: true });
    bus.writeb(0xa0000 + 321, 0x7e);
    expect(vga.vramU8[321]).toBe(0x7e);
    expect(bus.readb(0xa0000 + 321)).toBe(0x7e);
    setStdMode(bus, 0x03, { noClear: true });
    bus.writeb(0xb8000 + 10, 0x41);
    bus.writeb(0xb8000 + 11, 0x1f);
    expect(vga.vramU8[5 * 4 + 0]).toBe(0x41);
    expect(vga.vramU8[5 * 4 + 1]).toBe(0x1f);
    expect(vga.vramU8[5 * 4 + 2]).toBe(0); // map mask 0x03 protects the font plane
    expect(bus.readb(0xb8000 + 11)).toBe(0x1f);
  });

  it('memory map select decodes only the selected window', () => {
    const { bus } = make();
    setStdMode(bus, 0x03, { noClear: true }); // B8000-BFFFF
    bus.writeb(0xa0000, 0x12);
    expect(bus.readb(0xa0000)).toBe(0xff);
    expect(bus.readb(0xb0000)).toBe(0xff);
    bus.writeb(0xb8000, 0x34);
    expect(bus.readb(0xb8000)).toBe(0x34);
    bus.outw(0x3ce, 0x0a06); // B0000-B7FFF
    expect(bus.readb(0xb0000)).toBe(0x34);
    expect(bus.readb(0xb8000)).toBe(0xff);
  });
});

describe('Bochs VBE DISPI', () => {
  it('identifies itself, reports capabilities and memory size', () => {
    const { bus } = make(4 << 20);
    expect(bus.dispiRead(0)).toBe(0xb0c5);
    bus.dispiWrite(0, 0xb0c0);
    expect(bus.dispiRead(0)).toBe(0xb0c0);
    bus.dispiWrite(0, 0x1234); // not an id: ignored
    expect(bus.dispiRead(0)).toBe(0xb0c0);
    expect(bus.dispiRead(0xa)).toBe(64);
    bus.dispiWrite(4, 0x02);
    expect(bus.dispiRead(1)).toBe(16000);
    expect(bus.dispiRead(3)).toBe(32);
    bus.dispiWrite(4, 0);
    expect(bus.dispiRead(1)).toBe(0);
    expect(bus.dispiRead(0x20)).toBe(0);
  });

  it('enabling a mode fixes up registers, clears VRAM unless NOCLEARMEM, and sets VGA compat state', () => {
    const { bus, vga } = make(4 << 20);
    vga.vramU8.fill(0x55, 0, 1 << 20);
    setVbeMode(bus, 1024, 768, 32, { noClear: true });
    expect(vga.vramU8[100]).toBe(0x55);
    expect(bus.dispiRead(6)).toBe(1024);
    expect(bus.dispiRead(7)).toBe(1024); // 4 MiB / 4096 bytes per line
    expect(vga.vbe.lineOffset).toBe(4096);
    setVbeMode(bus, 640, 480, 8);
    expect(vga.vramU8[100]).toBe(0);
    expect(vga.regs.seq[4]! & 0x08).toBe(0x08);
    expect((vga.regs.gr[6]! >> 2) & 3).toBe(1);
    // Bad depth becomes 8, odd width is rounded, offsets past VRAM are dropped.
    bus.dispiWrite(3, 7);
    expect(bus.dispiRead(3)).toBe(8);
    bus.dispiWrite(1, 643);
    expect(bus.dispiRead(1)).toBe(640);
    bus.dispiWrite(9, 10000);
    expect(bus.dispiRead(9)).toBe(0);
    bus.dispiWrite(6, 800);
    bus.dispiWrite(8, 16);
    bus.dispiWrite(9, 2);
    expect(vga.vbe.startByte).toBe(2 * 800 + 16);
  });

  it('banked access through the 0xA0000 window reaches the whole VRAM', () => {
    const { bus, vga } = make(4 << 20);
    setVbeMode(bus, 800, 600, 32, { noClear: true });
    bus.dispiWrite(5, 3);
    bus.writeb(0xa0000 + 0x1234, 0x9a);
    expect(vga.vramU8[3 * 0x10000 + 0x1234]).toBe(0x9a);
    expect(bus.readb(0xa0000 + 0x1234)).toBe(0x9a);
    bus.dispiWrite(5, 0xffff); // masked to the VRAM size
    expect(bus.dispiRead(5)).toBe(63);
    expect(bus.readb(0xa0000 + 0x10000)).toBe(0xff); // outside the 64 KiB window
  });

  it('the PCI MMIO BAR reaches the VGA ports and DISPI registers', () => {
    const { vga } = make(4 << 20);
    const bar = vga.mmioBar;
    expect(bar.read(0x500, 2)).toBe(0xb0c5);
    bar.write(0x502, 2, 1024);
    expect(vga.vbe.regs[1]).toBe(1024);
    bar.write(0x400 + 0x08, 1, 3); // 0x3C8
    for (const c of [0x2a, 0x15, 0x3f]) bar.write(0x400 + 0x09, 1, c); // 0x3C9
    expect(Array.from(vga.regs.dac.subarray(9, 12))).toEqual([0x2a, 0x15, 0x3f]);
    expect(bar.read(0x604, 4)).toBe(0x1e1e1e1e);
    expect(bar.read(0x514, 2)).toBe(64);
  });
});

describe('StdVga robustness and state', () => {
  const access = fc.record({
    kind: fc.constantFrom('io', 'dispi', 'mem', 'bar'),
    write: fc.boolean(),
    offset: fc.nat(),
    size: fc.constantFrom(1, 2, 4),
    value: fc.nat(0xffffffff),
  });

  it('random port and memory accesses never throw', () => {
    const { vga, clock } = make(1 << 20);
    fc.assert(fc.property(fc.array(access, { maxLength: 200 }), (ops) => {
      for (const op of ops) {
        const h = op.kind === 'io' ? vga.ioPorts : op.kind === 'dispi' ? vga.dispiPorts : op.kind === 'mem' ? vga.legacyWindow : vga.mmioBar;
        const len = op.kind === 'io' ? 0x30 : op.kind === 'dispi' ? 3 : op.kind === 'mem' ? 0x20000 : 0x1000;
        const size = Math.min(Math.max(op.size, h.minSize), h.maxSize) as 1 | 2 | 4;
        const offset = op.offset % (len - size + 1);
        if (op.write) h.write(offset, size, op.value % (2 ** (8 * size)));
        else {
          const v = h.read(offset, size);
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThan(2 ** (8 * size));
        }
        clock.step(op.value % 1000);
      }
    }), { numRuns: 60 });
  });

  it('save -> JSON -> load -> save is identical', () => {
    const { bus, vga } = make(4 << 20);
    setStdMode(bus, 0x12, { noClear: true });
    setVbeMode(bus, 800, 600, 16, { noClear: true });
    bus.dispiWrite(5, 2);
    bus.outb(0x3c8, 9);
    bus.outb(0x3c9, 0x11);
    bus.readb(0xa0000);
    const saved = vga.saveState();
    const json = JSON.parse(JSON.stringify(saved)) as unknown;
    const other = make(4 << 20).vga;
    other.loadState(json);
    expect(other.saveState()).toEqual(saved);
    expect(JSON.stringify(other.saveState())).toBe(JSON.stringify(saved));
  });

  it('loadState rejects bad input without touching the device', () => {
    const { vga } = make();
    const before = JSON.stringify(vga.saveState());
    const good = JSON.parse(before) as Record<string, unknown>;
    expect(() => vga.loadState(null)).toThrow();
    expect(() => vga.loadState({ ...good, v: 99 })).toThrow(/version/);
    expect(() => vga.loadState({ ...good, seq: { index: 0, regs: [1, 2, 3] } })).toThrow(/seq.regs/);
    expect(() => vga.loadState({ ...good, misc: 300 })).toThrow(/misc/);
    expect(() => vga.loadState({ ...good, vramBytes: 2 << 20 })).toThrow(/VRAM/);
    expect(JSON.stringify(vga.saveState())).toBe(before);
  });

  it('rejects an invalid VRAM size (host bug)', () => {
    const memory = new GuestMemory(4096, 8 << 20);
    expect(() => new StdVga({ memory, clock: new VirtualClock(), vramBytes: 3 << 20 })).toThrow(RangeError);
  });
});
