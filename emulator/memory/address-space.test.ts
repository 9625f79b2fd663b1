import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AddressSpace } from './address-space.js';
import { GuestMemory, PAGE_SIZE } from './guest-memory.js';
import { PhysMap } from './phys-map.js';
import type { AccessSize, IoHandler } from '../devices/device.js';

function setup(ramBytes = 1 << 20, extra = 1 << 18) {
  const memory = new GuestMemory(ramBytes, extra);
  const physMap = new PhysMap();
  const as = new AddressSpace({ memory, physMap });
  return { memory, physMap, as };
}

/** An MMIO handler that records accesses and answers offset-derived values. */
function recorder(minSize: AccessSize = 1, maxSize: AccessSize = 4) {
  const log: string[] = [];
  const h: IoHandler = {
    minSize, maxSize,
    read: (o, s) => { log.push(`r${s}@${o}`); return (0x11 * (o + 1)) & ((1 << (s * 8)) - 1 || 0xffffffff); },
    write: (o, s, v) => { log.push(`w${s}@${o}=${v.toString(16)}`); },
  };
  return { h, log };
}

describe('AddressSpace', () => {
  it('maps RAM pages straight into the PhysMap', () => {
    const { memory, physMap, as } = setup();
    as.root.addSubregion(as.ram('ram', memory.block('ram')!, 0, 1 << 20), 0);
    expect(physMap.readPage[0]).toBe(0);
    expect(physMap.readPage[255]).toBe(255);
    expect(physMap.writePage[10]).toBe(10);
    expect(physMap.readPage[256]).toBe(-1);
  });

  it('maps ROM read-only and drops slow-path writes', () => {
    const { memory, physMap, as } = setup();
    const blk = memory.allocate('bios', 0x20000);
    memory.u8[blk.offset + 0x1fff0] = 0xea;
    as.root.addSubregion(as.rom('bios', blk, 0, 0x20000), 0xfffe0000);
    const page = 0xfffe0000 / PAGE_SIZE;
    expect(physMap.readPage[page]).toBe(blk.offset / PAGE_SIZE);
    expect(physMap.writePage[page]).toBe(-1);
    expect(as.mmioRead(0xfffffff0, 1)).toBe(0xea);
    as.mmioWrite(0xfffffff0, 1, 0);
    expect(as.romWrites).toBe(1);
    expect(memory.u8[blk.offset + 0x1fff0]).toBe(0xea);
  });

  it('reads all-ones from unassigned addresses and counts them', () => {
    const { as } = setup();
    expect(as.mmioRead(0x12345678, 4)).toBe(0xffffffff);
    expect(as.mmioRead(0x10, 2)).toBe(0xffff);
    as.mmioWrite(0x10, 1, 5);
    expect(as.unassignedReads).toBe(6);
    expect(as.unassignedWrites).toBe(1);
  });

  it('dispatches MMIO by offset and sends the page to the slow path', () => {
    const { memory, physMap, as } = setup();
    const { h, log } = recorder();
    as.transaction(() => {
      as.root.addSubregion(as.ram('ram', memory.block('ram')!, 0, 1 << 20), 0);
      as.root.addSubregion(as.mmio('dev', 0x10, h), 0x5000, { priority: 1 });
    });
    expect(physMap.readPage[5]).toBe(-1);
    expect(physMap.readPage[4]).toBe(4);
    expect(physMap.readPage[6]).toBe(6);
    expect(as.mmioRead(0x5004, 1)).toBe(0x55);
    as.mmioWrite(0x5008, 4, 0xdeadbeef);
    expect(log).toEqual(['r1@4', 'w4@8=deadbeef']);
    // The rest of the sub-page-covered page is RAM through the slow path.
    memory.u8[0x5010] = 0x77;
    expect(as.mmioRead(0x5010, 1)).toBe(0x77);
    as.mmioWrite(0x5020, 2, 0xbeef);
    expect(memory.u8[0x5020]).toBe(0xef);
    expect(memory.u8[0x5021]).toBe(0xbe);
  });

  it('splits accesses wider than the handler and straddling ranges', () => {
    const { as } = setup();
    const { h, log } = recorder(1, 1);
    as.root.addSubregion(as.mmio('dev', 4, h), 0x1000);
    expect(as.mmioRead(0x1000, 2)).toBe(0x2211);
    expect(log).toEqual(['r1@0', 'r1@1']);
    // Last byte of the device plus the first unassigned byte.
    expect(as.mmioRead(0x1003, 2)).toBe(0xff44);
  });

  it('higher priority hides lower; disabling reveals it again (VGA window)', () => {
    const { memory, physMap, as } = setup();
    const { h } = recorder();
    const vga = as.mmio('vga', 0x20000, h);
    as.root.addSubregion(as.ram('ram', memory.block('ram')!, 0, 1 << 20), 0);
    as.root.addSubregion(vga, 0xa0000, { priority: 1 });
    expect(physMap.readPage[0xa0]).toBe(-1);
    vga.setEnabled(false);
    expect(physMap.readPage[0xa0]).toBe(0xa0);
    vga.setEnabled(true);
    expect(physMap.readPage[0xbf]).toBe(-1);
    vga.setPriority(-1);
    expect(physMap.readPage[0xbf]).toBe(0xbf);
  });

  it('throws on equal-priority overlap unless mayOverlap', () => {
    const { as } = setup();
    const { h } = recorder();
    as.root.addSubregion(as.mmio('a', 0x1000, h), 0x10000);
    expect(() => as.root.addSubregion(as.mmio('b', 0x1000, h), 0x10800)).toThrow(/overlaps/);
    const bar = as.mmio('bar', 0x1000, h);
    as.root.addSubregion(bar, 0x20000, { mayOverlap: true });
    bar.setAddress(0x10000); // guest-programmed BAR overlap: no throw, later wins
    expect(as.lookup(0x10000)!.region.name).toBe('bar');
    bar.setAddress(0xfffff800); // BAR sizing: sticks out of the 4 GiB root, clipped
    const top = as.lookup(0xffffffff)!;
    expect(top.region.name).toBe('bar');
    expect([top.start, top.end, top.regionOffset]).toEqual([0xfffff800, 2 ** 32, 0]);
    const c = as.mmio('c', 0x1000, h);
    as.root.addSubregion(c, 0x30000);
    expect(() => c.setAddress(0x10000)).toThrow(/overlaps/);
  });

  it('PAM-style shadowing: alias to RAM over the BIOS ROM, read-only then writable', () => {
    const { memory, physMap, as } = setup();
    const ramBlk = memory.block('ram')!;
    const bios = memory.allocate('bios', 0x20000);
    const ram = as.ram('ram', ramBlk, 0, 1 << 20);
    const pci = as.container('pci', 2 ** 32);
    pci.addSubregion(as.alias('bios-low', as.rom('bios', bios, 0, 0x20000), 0, 0x20000), 0xe0000);
    as.root.addSubregion(as.alias('ram-low', ram, 0, 0xc0000), 0);
    as.root.addSubregion(pci, 0, { priority: -1 });
    const shadow = as.alias('pam-f', ram, 0xf0000, 0x10000);
    as.root.addSubregion(shadow, 0xf0000, { priority: 1 });
    shadow.setEnabled(false);
    expect(physMap.readPage[0xf0]).toBe(bios.offset / PAGE_SIZE + 0x10);
    expect(physMap.writePage[0xf0]).toBe(-1);
    shadow.setEnabled(true);
    expect(physMap.readPage[0xf0]).toBe(0xf0);
    expect(physMap.writePage[0xf0]).toBe(0xf0);
    shadow.setReadonly(true);
    expect(physMap.writePage[0xf0]).toBe(-1);
    expect(physMap.readPage[0xf0]).toBe(0xf0);
    // 0xE0000 still shows the ROM, 0xC0000-0xDFFFF is a hole.
    expect(physMap.readPage[0xe0]).toBe(bios.offset / PAGE_SIZE);
    expect(as.mmioRead(0xc0000, 1)).toBe(0xff);
  });

  it('alias offset changes re-flatten', () => {
    const { memory, physMap, as } = setup();
    const ram = as.ram('ram', memory.block('ram')!, 0, 1 << 20);
    const a = as.alias('win', ram, 0x10000, 0x2000);
    as.root.addSubregion(a, 0x80000000);
    expect(physMap.readPage[0x80000]).toBe(0x10);
    a.setAliasOffset(0x20000);
    expect(physMap.readPage[0x80000]).toBe(0x20);
    expect(physMap.readPage[0x80001]).toBe(0x21);
  });

  it('maps nothing directly when backing and address disagree on page offset', () => {
    const { memory, physMap, as } = setup();
    const ram = as.ram('ram', memory.block('ram')!, 0x800, 0x3000);
    as.root.addSubregion(ram, 0x10000);
    expect(physMap.readPage[0x10]).toBe(-1);
    memory.u8[0x800] = 9;
    expect(as.mmioRead(0x10000, 1)).toBe(9);
  });

  it('remove and re-add restores the map', () => {
    const { memory, physMap, as } = setup();
    const r = as.ram('ram', memory.block('ram')!, 0, 0x4000);
    as.root.addSubregion(r, 0);
    as.root.removeSubregion(r);
    expect(physMap.readPage[0]).toBe(-1);
    as.root.addSubregion(r, 0x4000);
    expect(physMap.readPage[4]).toBe(0);
    expect(() => as.root.addSubregion(r, 0)).toThrow(/already/);
  });

  it('random layouts: the PhysMap always agrees with the flat view', () => {
    fc.assert(fc.property(
      fc.array(fc.record({
        kind: fc.constantFrom('ram', 'mmio', 'rom'),
        page: fc.integer({ min: 0, max: 63 }),
        pages: fc.integer({ min: 1, max: 8 }),
        sub: fc.integer({ min: 0, max: 3 }),
        prio: fc.integer({ min: -2, max: 2 }),
        toggle: fc.boolean(),
      }), { maxLength: 12 }),
      (specs) => {
        const { memory, physMap, as } = setup(1 << 18, 1 << 16);
        const rom = memory.allocate('rom', 1 << 16);
        const { h } = recorder();
        const regions = specs.map((s, i) => {
          const size = s.pages * PAGE_SIZE - s.sub * 0x100;
          const r = s.kind === 'ram' ? as.ram(`r${i}`, memory.block('ram')!, (s.page % 32) * PAGE_SIZE, size)
            : s.kind === 'rom' ? as.rom(`r${i}`, rom, 0, size) : as.mmio(`r${i}`, size, h);
          as.root.addSubregion(r, s.page * PAGE_SIZE, { priority: s.prio, mayOverlap: true });
          return r;
        });
        specs.forEach((s, i) => { if (s.toggle) regions[i]!.setEnabled(false); });
        for (let p = 0; p < 80; p++) {
          const lo = p * PAGE_SIZE;
          const r = as.lookup(lo);
          const whole = r !== undefined && r.kind !== 'mmio' && r.end >= lo + PAGE_SIZE;
          if (!whole) {
            expect(physMap.readPage[p]).toBe(-1);
          } else {
            const backing = r.region.backing!.block.offset + r.region.backing!.offset + r.regionOffset + (lo - r.start);
            expect(physMap.readPage[p]).toBe(backing / PAGE_SIZE);
            expect(physMap.writePage[p]).toBe(r.readonly ? -1 : backing / PAGE_SIZE);
          }
          expect(() => as.mmioRead(lo + 0xffe, 4)).not.toThrow();
        }
        const flat = as.flatView();
        for (let i = 1; i < flat.length; i++) expect(flat[i]!.start).toBeGreaterThanOrEqual(flat[i - 1]!.end);
      }), { numRuns: 60 });
  });
});
