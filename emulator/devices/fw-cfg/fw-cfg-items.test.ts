import { describe, expect, it } from 'vitest';
import { FwCfg, FwCfgKey } from './fw-cfg.js';
import { addPcFwCfgItems, encodeBootOrder, encodeSystemStates, encodeU16LE, encodeU32LE } from './fw-cfg-items.js';

/** Reads an item through the port interface. */
function read(fw: FwCfg, key: number, n: number): Uint8Array {
  fw.ioPort.write(0, 2, key);
  return Uint8Array.from({ length: n }, () => fw.ioPort.read(1, 1));
}

describe('fw_cfg items', () => {
  it('encodes bootorder as QEMU does: newline-separated, NUL-terminated', () => {
    const b = encodeBootOrder(['/pci@i0cf8/ide@1,1/drive@0/disk@0', '/pci@i0cf8/ide@1,1/drive@1/disk@0']);
    expect(new TextDecoder().decode(b)).toBe('/pci@i0cf8/ide@1,1/drive@0/disk@0\n/pci@i0cf8/ide@1,1/drive@1/disk@0\0');
    expect(encodeBootOrder([]).length).toBe(0);
    expect(() => encodeBootOrder(['bad path'])).toThrow(RangeError);
  });

  it('encodes etc/system-states as QEMU 7.2 does', () => {
    expect(Array.from(encodeSystemStates({ s3: true, s4: true }))).toEqual([0x80, 0x00, 0x00, 0x81, 0x82, 0x80]);
    expect(Array.from(encodeSystemStates({ s3: false, s4: false }))).toEqual([0x80, 0, 0, 0, 0, 0x80]);
    expect(() => encodeSystemStates({ s3: false, s4: true, s4Value: 9 })).toThrow(RangeError);
  });

  it('encodes little-endian integers', () => {
    expect(Array.from(encodeU16LE(0x1234))).toEqual([0x34, 0x12]);
    expect(Array.from(encodeU32LE(-1))).toEqual([0xff, 0xff, 0xff, 0xff]);
  });

  it('adds the standard pc items with QEMU encodings', () => {
    const fw = new FwCfg();
    addPcFwCfgItems(fw, { ramSizeBytes: 6 * 2 ** 30, cpus: 2, maxCpus: 4, bootMenu: true, bootMenuWaitMs: 3000 });
    expect(Array.from(read(fw, FwCfgKey.RAM_SIZE, 8))).toEqual([0, 0, 0, 0x80, 1, 0, 0, 0]);
    expect(Array.from(read(fw, FwCfgKey.NB_CPUS, 2))).toEqual([2, 0]);
    expect(Array.from(read(fw, FwCfgKey.MAX_CPUS, 2))).toEqual([4, 0]);
    expect(Array.from(read(fw, FwCfgKey.BOOT_MENU, 2))).toEqual([1, 0]);
    expect(Array.from(read(fw, FwCfgKey.NOGRAPHIC, 2))).toEqual([0, 0]);
    expect(Array.from(read(fw, FwCfgKey.IRQ0_OVERRIDE, 4))).toEqual([1, 0, 0, 0]);
    expect(Array.from(read(fw, FwCfgKey.E820_TABLE, 4))).toEqual([0, 0, 0, 0]);
    expect(Array.from(read(fw, FwCfgKey.UUID, 16))).toEqual(new Array(16).fill(0));
    // NUMA: node count 0 followed by maxCpus zero entries; reads past the end give 0.
    expect(Array.from(read(fw, FwCfgKey.NUMA, 8))).toEqual(new Array(8).fill(0));
    expect(fw.fileNames()).toEqual(['etc/boot-fail-wait', 'etc/boot-menu-wait', 'etc/system-states']);
    expect(Array.from(fw.file('etc/system-states')!)).toEqual([0x80, 0, 0, 0, 0x82, 0x80]);
    expect(Array.from(fw.file('etc/boot-fail-wait')!)).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(Array.from(fw.file('etc/boot-menu-wait')!)).toEqual([0xb8, 0x0b]);
    expect(() => addPcFwCfgItems(new FwCfg(), { ramSizeBytes: 1, cpus: 0 })).toThrow(RangeError);
  });
});
