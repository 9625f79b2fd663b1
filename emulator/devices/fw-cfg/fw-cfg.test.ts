import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PioBus } from '../../memory/pio-bus.js';
import {
  FW_CFG_DMA_CTL_ERROR, FW_CFG_DMA_CTL_READ, FW_CFG_DMA_CTL_SELECT, FW_CFG_DMA_CTL_SKIP, FW_CFG_DMA_CTL_WRITE,
  FwCfg, FwCfgKey, type DmaMemory,
} from './fw-cfg.js';

/** 64 KiB of guest RAM at 0 for DMA. */
class Ram implements DmaMemory {
  readonly u8 = new Uint8Array(0x10000);
  read(gpa: number, dest: Uint8Array): boolean {
    if (gpa + dest.length > this.u8.length) return false;
    dest.set(this.u8.subarray(gpa, gpa + dest.length));
    return true;
  }
  write(gpa: number, src: Uint8Array): boolean {
    if (gpa + src.length > this.u8.length) return false;
    this.u8.set(src, gpa);
    return true;
  }
}

function machine(withDma = true) {
  const ram = new Ram();
  const fw = new FwCfg(withDma ? { dma: ram } : {});
  const pio = new PioBus();
  pio.register(0x510, 2, 'fw_cfg', fw.ioPort);
  pio.register(0x514, 8, 'fw_cfg_dma', fw.dmaPort);
  return { ram, fw, pio };
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Reads `n` bytes of item `key` through the data port, as SeaBIOS without DMA. */
function readItem(pio: PioBus, key: number, n: number): number[] {
  pio.write(0x510, 2, key);
  return Array.from({ length: n }, () => pio.read(0x511, 1));
}

/** Runs a DMA request at `descGpa` as SeaBIOS does (one write to 518h). */
function dma(pio: PioBus, ram: Ram, descGpa: number, control: number, length: number, address: number): number {
  const dv = new DataView(ram.u8.buffer);
  dv.setUint32(descGpa, control, false);
  dv.setUint32(descGpa + 4, length, false);
  dv.setUint32(descGpa + 8, 0, false);
  dv.setUint32(descGpa + 12, address, false);
  const be = ((descGpa & 0xff) << 24 | (descGpa & 0xff00) << 8 | (descGpa >>> 8) & 0xff00 | descGpa >>> 24) >>> 0;
  pio.write(0x518, 4, be);
  return dv.getUint32(descGpa, false);
}

function dirEntries(bytes: number[] | Uint8Array): Array<{ size: number; select: number; name: string }> {
  const b = Uint8Array.from(bytes);
  const dv = new DataView(b.buffer);
  const out = [];
  for (let i = 0; i < dv.getUint32(0, false); i++) {
    const at = 4 + 64 * i;
    const raw = b.subarray(at + 8, at + 64);
    out.push({ size: dv.getUint32(at, false), select: dv.getUint16(at + 4, false), name: new TextDecoder().decode(raw.subarray(0, raw.indexOf(0))) });
  }
  return out;
}

describe('FwCfg port interface', () => {
  it('presents the "QEMU" signature and the feature bitmap', () => {
    const { pio } = machine();
    expect(String.fromCharCode(...readItem(pio, FwCfgKey.SIGNATURE, 4))).toBe('QEMU');
    expect(readItem(pio, FwCfgKey.ID, 4)).toEqual([3, 0, 0, 0]);
    expect(readItem(machine(false).pio, FwCfgKey.ID, 4)).toEqual([1, 0, 0, 0]);
  });

  it('reads 0 past the end and for absent items; ignores the write channel bit for lookup', () => {
    const { pio, fw } = machine();
    fw.setU16(FwCfgKey.NB_CPUS, 2);
    expect(readItem(pio, FwCfgKey.NB_CPUS, 4)).toEqual([2, 0, 0, 0]);
    expect(readItem(pio, FwCfgKey.NB_CPUS | FwCfgKey.WRITE_CHANNEL, 2)).toEqual([2, 0]);
    expect(readItem(pio, 0x0123, 2)).toEqual([0, 0]);
    pio.write(0x511, 1, 0x55); // data writes are ignored
    expect(readItem(pio, FwCfgKey.NB_CPUS, 1)).toEqual([2]);
  });

  it('lists files sorted by name with selectors 0x20 + position', () => {
    const { pio, fw } = machine();
    fw.addFile('etc/e820', new Uint8Array(40));
    fw.addFile('bootorder', text('/pci@i0cf8/ide@1,1/drive@0/disk@0\0'));
    fw.addFile('etc/boot-fail-wait', new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    const dir = dirEntries(readItem(pio, FwCfgKey.FILE_DIR, 4 + 3 * 64));
    expect(dir).toEqual([
      { size: 34, select: 0x20, name: 'bootorder' },
      { size: 4, select: 0x21, name: 'etc/boot-fail-wait' },
      { size: 40, select: 0x22, name: 'etc/e820' },
    ]);
    expect(fw.fileKey('etc/e820')).toBe(0x22);
    expect(String.fromCharCode(...readItem(pio, 0x20, 9))).toBe('/pci@i0cf');
    expect(fw.fileNames()).toEqual(['bootorder', 'etc/boot-fail-wait', 'etc/e820']);
  });

  it('refuses bad host configuration', () => {
    const { fw } = machine();
    fw.addFile('a', new Uint8Array(1));
    expect(() => fw.addFile('a', new Uint8Array(1))).toThrow();
    expect(() => fw.addFile('x'.repeat(56), new Uint8Array(1))).toThrow(RangeError);
    expect(() => fw.setBytes(0x20, new Uint8Array(1))).toThrow(RangeError);
    expect(() => fw.setBytes(FwCfgKey.FILE_DIR, new Uint8Array(1))).toThrow(RangeError);
  });

  it('counts malformed port accesses', () => {
    const { pio, fw } = machine();
    // As QEMU: a byte read at either port reads data, a word read is invalid.
    pio.write(0x510, 2, FwCfgKey.SIGNATURE);
    expect(pio.read(0x510, 1)).toBe(0x51);
    expect(pio.read(0x510, 2)).toBe(0);
    pio.write(0x510, 1, 0);
    expect(fw.guestErrors).toBe(1);
    pio.write(0x511, 1, 0x02); // a byte write at the selector is a (dropped) data write
    expect(pio.read(0x511, 1)).toBe(0x45);
  });
});

describe('FwCfg DMA interface', () => {
  it('reads "QEMU CFG" from the address register', () => {
    const { pio } = machine();
    const bytes = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => pio.read(0x514 + i, 1));
    expect(String.fromCharCode(...bytes)).toBe('QEMU CFG');
    expect(pio.read(0x514, 4)).toBe(0x554d4551);
    expect(machine(false).pio.read(0x514, 4)).toBe(0xffffffff);
  });

  it('selects and reads in one request, then continues from the offset', () => {
    const { pio, ram, fw } = machine();
    fw.addFile('etc/table', text('hello, firmware'));
    const key = fw.fileKey('etc/table')!;
    expect(dma(pio, ram, 0x100, (key << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 5, 0x1000)).toBe(0);
    expect(new TextDecoder().decode(ram.u8.subarray(0x1000, 0x1005))).toBe('hello');
    expect(dma(pio, ram, 0x100, FW_CFG_DMA_CTL_SKIP, 2, 0)).toBe(0);
    expect(dma(pio, ram, 0x100, FW_CFG_DMA_CTL_READ, 12, 0x2000)).toBe(0);
    expect(Array.from(ram.u8.subarray(0x2000, 0x200c))).toEqual([...text('firmware'), 0, 0, 0, 0]);
  });

  it('uses the high half when written first, then clears it', () => {
    const { pio, ram, fw } = machine();
    fw.setU32(FwCfgKey.KERNEL_SIZE, 0x11223344);
    pio.write(0x514, 4, 0x01000000); // BE 1 -> address 4 GiB + low: outside RAM
    const dv = new DataView(ram.u8.buffer);
    dv.setUint32(0x200, (FwCfgKey.KERNEL_SIZE << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, false);
    pio.write(0x518, 4, 0x00020000);
    expect(fw.guestErrors).toBe(1);
    expect(dv.getUint32(0x200, false)).not.toBe(0);
    // The latch is clear again: the same low write now works.
    dv.setUint32(0x204, 4, false);
    dv.setUint32(0x20c, 0x3000, false);
    pio.write(0x518, 4, 0x00020000);
    expect(dv.getUint32(0x200, false)).toBe(0);
    expect(dv.getUint32(0x3000, true)).toBe(0x11223344);
  });

  it('writes to writable files only, never past their end', () => {
    const { pio, ram, fw } = machine();
    const writes: Array<[number, number]> = [];
    fw.addFile('etc/vmgenid_addr', new Uint8Array(8), { writable: true, onWrite: (o, l) => writes.push([o, l]) });
    fw.addFile('etc/ro', new Uint8Array(8));
    const rw = fw.fileKey('etc/vmgenid_addr')!;
    const ro = fw.fileKey('etc/ro')!;
    ram.u8.set([1, 2, 3, 4, 5, 6, 7, 8, 9], 0x4000);
    expect(dma(pio, ram, 0x100, (rw << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 4, 0x4000)).toBe(0);
    expect(dma(pio, ram, 0x100, FW_CFG_DMA_CTL_WRITE, 4, 0x4004)).toBe(0);
    expect(Array.from(fw.file('etc/vmgenid_addr')!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(writes).toEqual([[0, 4], [4, 4]]);
    expect(dma(pio, ram, 0x100, (rw << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 9, 0x4000)).toBe(FW_CFG_DMA_CTL_ERROR);
    expect(dma(pio, ram, 0x100, (ro << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 1, 0x4000)).toBe(FW_CFG_DMA_CTL_ERROR);
    expect(Array.from(fw.file('etc/ro')!)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(writes.length).toBe(2);
  });

  it('zero-fills reads past the end and reports errors for bad buffers', () => {
    const { pio, ram, fw } = machine();
    fw.setU16(FwCfgKey.BOOT_MENU, 1);
    ram.u8.fill(0xaa, 0x5000, 0x5010);
    expect(dma(pio, ram, 0x100, (FwCfgKey.BOOT_MENU << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 8, 0x5000)).toBe(0);
    expect(Array.from(ram.u8.subarray(0x5000, 0x5009))).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0xaa]);
    expect(dma(pio, ram, 0x100, (FwCfgKey.BOOT_MENU << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 2, 0xffff)).toBe(FW_CFG_DMA_CTL_ERROR);
    // A request with no operation bits does nothing and succeeds.
    expect(dma(pio, ram, 0x100, 0, 100, 0x5000)).toBe(0);
  });
});

describe('FwCfg state', () => {
  it('round-trips cursor and writable files, and validates', () => {
    const { pio, ram, fw } = machine();
    fw.addFile('etc/w', new Uint8Array(4), { writable: true });
    fw.addFile('etc/r', text('abcdef'));
    ram.u8.set([9, 8, 7, 6], 0x4000);
    dma(pio, ram, 0x100, (fw.fileKey('etc/w')! << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 4, 0x4000);
    readItem(pio, fw.fileKey('etc/r')!, 2);
    pio.write(0x514, 4, 0x78563412);
    const saved = JSON.parse(JSON.stringify(fw.saveState())) as unknown;

    const other = machine();
    other.fw.addFile('etc/w', new Uint8Array(4), { writable: true });
    other.fw.addFile('etc/r', text('abcdef'));
    other.fw.loadState(saved);
    expect(other.fw.saveState()).toEqual(fw.saveState());
    expect(other.pio.read(0x511, 1)).toBe('c'.charCodeAt(0));
    expect(Array.from(other.fw.file('etc/w')!)).toEqual([9, 8, 7, 6]);

    const bad = machine();
    bad.fw.addFile('etc/r', text('abcdef'));
    expect(() => bad.fw.loadState(saved)).toThrow(/etc\/w/);
    expect(() => other.fw.loadState({ ...(saved as object), selector: 0x10000 })).toThrow();
    expect(() => other.fw.loadState({ ...(saved as object), files: { 'etc/w': 'zz' } })).toThrow();
    other.fw.reset();
    expect(other.pio.read(0x511, 1)).toBe(0);
  });

  it('never throws on random port and DMA traffic', () => {
    const op = fc.record({
      write: fc.boolean(),
      port: fc.integer({ min: 0x50f, max: 0x51c }),
      size: fc.constantFrom(1 as const, 2 as const, 4 as const),
      value: fc.integer({ min: 0, max: 0xffffffff }),
      desc: fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0x20000 }), fc.integer({ min: 0, max: 0x1ffff })),
    });
    fc.assert(fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const { pio, ram, fw } = machine();
      fw.addFile('etc/w', new Uint8Array(16), { writable: true });
      fw.addFile('etc/r', new Uint8Array(300).fill(7));
      for (const o of ops) {
        const dv = new DataView(ram.u8.buffer);
        dv.setUint32(0x80, o.desc[0], false);
        dv.setUint32(0x84, o.desc[1], false);
        dv.setUint32(0x88, 0, false);
        dv.setUint32(0x8c, o.desc[2], false);
        if (o.write) pio.write(o.port, o.size, o.port === 0x518 && o.size === 4 ? 0x80000000 : o.value);
        else pio.read(o.port, o.size);
      }
      const again = machine();
      again.fw.addFile('etc/w', new Uint8Array(16), { writable: true });
      again.fw.addFile('etc/r', new Uint8Array(300).fill(7));
      again.fw.loadState(JSON.parse(JSON.stringify(fw.saveState())));
      expect(again.fw.saveState()).toEqual(fw.saveState());
      expect(String.fromCharCode(...readItem(pio, 0, 4))).toBe('QEMU');
    }), { numRuns: 100 });
  });
});
